//! Fuzz target: see `hearth_fuzz::signal`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hearth_fuzz::signal::run(data));
