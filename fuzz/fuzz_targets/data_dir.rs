//! Fuzz target: see `hearth_fuzz::data_dir`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hearth_fuzz::data_dir::run(data));
