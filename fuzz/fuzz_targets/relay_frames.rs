//! Fuzz target: see `hearth_fuzz::relay_frames`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hearth_fuzz::relay_frames::run(data));
