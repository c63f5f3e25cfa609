//! PDQ hex parsing: never panics, and whatever parses prints back to the same value.
#![no_main]

use hashline_hash::PdqHash;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(hash) = text.parse::<PdqHash>() {
            assert_eq!(hash.to_hex().parse::<PdqHash>(), Ok(hash));
        }
    }
});
