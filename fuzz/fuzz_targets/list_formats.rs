//! Every list importer on arbitrary input: never panics; every record it keeps has a valid
//! value for its type.
#![no_main]

use hashline_lists::formats::{parse, Format, ParseOptions};
use hashline_lists::model::normalize_value;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let format = [
        Format::PytxFile,
        Format::PytxCsv,
        Format::NcmecXml,
        Format::VicsJson,
        Format::Hex,
        Format::Hashline,
        Format::VpdqFiles,
    ][selector as usize % 7];
    let text = String::from_utf8_lossy(rest);
    let parsed = parse(format, "fuzz", &text, &ParseOptions::default());
    for e in &parsed.entries {
        assert_eq!(normalize_value(&e.signal, &e.value).as_deref(), Ok(e.value.as_str()));
    }
});
