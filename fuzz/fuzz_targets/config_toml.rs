//! Fuzz target: see `hearth_fuzz::config_toml`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hearth_fuzz::config_toml::run(data));
