//! The video frame decoder as its own program (hashline itself runs it as
//! `hashline __video-decoder`; this binary serves tests and setups that want it apart).

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    std::process::exit(hashline_decoder::main_with(&args));
}
