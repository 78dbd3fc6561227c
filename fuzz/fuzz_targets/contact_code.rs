//! Fuzz target: see `hearth_fuzz::contact_code`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hearth_fuzz::contact_code::run(data));
