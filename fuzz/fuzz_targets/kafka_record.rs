//! What a platform puts on `hashline.uploads` (headers) and what `hashline reporter
//! --from-kafka` reads from `hashline.matches` (a match event with a report): outside input.
//! Neither parser may panic; a match event that parses serialises and parses back equal.
#![no_main]

use hashline_pipeline::{MatchEvent, Upload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Headers: split the input into (name, value) pairs at 0xff bytes, names as lossy text.
    let parts: Vec<&[u8]> = data.split(|b| *b == 0xff).collect();
    let names: Vec<String> = parts.iter().step_by(2).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
    let headers: Vec<(&str, Option<&[u8]>)> =
        names.iter().zip(parts.iter().skip(1).step_by(2)).map(|(n, v)| (n.as_str(), Some(*v))).collect();
    let value_len = data.first().map_or(0, |b| usize::from(*b));
    if let Ok(u) = Upload::from_headers(headers, value_len) {
        assert!(!u.id.is_empty() && u.id.len() <= 128);
    }
    // Match events.
    if let Ok(e) = serde_json::from_slice::<MatchEvent>(data) {
        let again: MatchEvent = serde_json::from_slice(&serde_json::to_vec(&e).unwrap()).unwrap();
        assert_eq!(again, e);
    }
});
