//! cargo fuzz target `templates`: see `fuzz/harness.rs`.
#![no_main]

#[path = "../harness.rs"]
#[allow(dead_code)] // each target uses one of the harness functions
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::templates(data));
