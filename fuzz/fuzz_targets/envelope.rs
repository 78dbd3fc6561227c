//! Fuzz target: see `hearth_fuzz::envelope`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hearth_fuzz::envelope::run(data));
