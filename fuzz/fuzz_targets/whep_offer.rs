//! Fuzz target: see `hearth_fuzz::whep_offer`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hearth_fuzz::whep_offer::run(data));
