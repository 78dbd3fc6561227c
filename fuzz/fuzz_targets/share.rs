//! Fuzz target: see `hearth_fuzz::share`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hearth_fuzz::share::run(data));
