//! A Terraform plan (`terraform show -json`): imported or refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_engine::import::terraform::parse_plan;
use tollgate_engine::registry::Registry;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_plan(std::path::Path::new("plan.json"), text, Registry::builtin());
    }
});
