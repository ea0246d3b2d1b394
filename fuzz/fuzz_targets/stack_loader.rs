//! A stack document: parsed and checked against the registry, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_engine::load::parse_stack;
use tollgate_engine::registry::Registry;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_stack(std::path::Path::new("fuzz.json"), text, Registry::builtin());
    }
});
