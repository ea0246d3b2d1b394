//! A CloudFormation template, JSON or YAML: imported or refused, never a panic or a blow-up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_engine::import::cloudformation::parse_template;
use tollgate_engine::registry::Registry;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        // The first byte picks the file name, so both readers are reached.
        let name = if data.first().is_some_and(|b| b % 2 == 0) {
            "template.yaml"
        } else {
            "template.json"
        };
        let _ = parse_template(std::path::Path::new(name), text, Registry::builtin());
    }
});
