//! What the main process reads about a video: `ffprobe`'s JSON description (checked against the
//! limits before any decoding) and the vPDQ text forms (reference hash files, pytx signal
//! strings). Never panics; whatever parses survives a round trip through the writer.
#![no_main]

use hashline_hash::vpdq::{parse_reference, parse_signal, to_signal, write_reference};
use hashline_video::{Probe, VideoSettings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let settings = VideoSettings::default();
    if let Ok(p) = Probe::from_ffprobe_json(data, &settings) {
        assert!(p.width > 0 && p.height > 0 && p.frame_rate > 0.0);
        assert!(u64::from(p.width) * u64::from(p.height) <= settings.limits.max_frame_pixels);
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(frames) = parse_reference(&text) {
        let again = parse_reference(&write_reference(&frames)).expect("written frames parse");
        assert_eq!(again.len(), frames.len());
    }
    if let Ok(frames) = parse_signal(&text) {
        let again = parse_signal(&to_signal(&frames)).expect("written signal parses");
        assert_eq!(again.len(), frames.len());
    }
    let _ = hashline_hash::is_video(data);
});
