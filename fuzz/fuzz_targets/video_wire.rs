//! What the main process reads from the video frame decoder (a child process running FFmpeg on
//! hostile input, so itself untrusted): the wire stream. Never panics, never allocates a frame
//! over the pixel limit, and whatever it accepts is in order.
#![no_main]

use hashline_video::wire::{Reader, Record};
use libfuzzer_sys::fuzz_target;

/// A small pixel limit: a frame the fuzzer can fill.
const MAX_PIXELS: u64 = 64 * 64;

fuzz_target!(|data: &[u8]| {
    let mut reader = Reader::new(data, MAX_PIXELS);
    let mut size = None;
    let mut last = None;
    while let Ok(Some(record)) = reader.next_record() {
        match record {
            Record::Info(i) => {
                assert!(u64::from(i.width) * u64::from(i.height) <= MAX_PIXELS && i.width > 0);
                size = Some(3 * i.width as usize * i.height as usize);
            }
            Record::Frame { number, rgb } => {
                assert_eq!(Some(rgb.len()), size, "a frame only after the facts, of their size");
                assert!(last.is_none_or(|l| number > l), "frame numbers grow");
                last = Some(number);
            }
            Record::Restart => last = None,
            Record::End(_) | Record::Fail { .. } => {}
        }
    }
});
