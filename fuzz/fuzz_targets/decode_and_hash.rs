//! Arbitrary bytes through sniffing, limited decoding, PDQ and digests: must never panic,
//! hang or allocate past the limits.
#![no_main]

use hashline_hash::{HashOptions, Hasher, Limits, Mode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Small limits keep each input cheap; the first byte picks the mode, dihedral and border
    // trimming.
    let flags = data.first().copied().unwrap_or(0);
    let options = HashOptions {
        mode: if flags & 1 == 0 { Mode::Exact } else { Mode::Fast },
        dihedral: flags & 2 != 0,
        trim_borders: flags & 4 != 0,
        limits: Limits { max_input_bytes: 1 << 20, max_pixels: 4_000_000, max_side: 8192 },
    };
    let mut hasher = Hasher::new(options);
    let _ = hasher.hash(data);
});
