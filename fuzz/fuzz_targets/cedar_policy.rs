//! A Cedar file loaded as a bundle's only file, with the nesting guards on: parsed and validated
//! or refused, never a stack overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_engine::policy::{CedarBundle, Source};
use tollgate_engine::registry::Registry;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let source = Source {
            path: "fuzz.cedar".into(),
            text: text.to_owned(),
        };
        let _ = CedarBundle::from_sources(
            std::path::Path::new("cedar"),
            &[source],
            Registry::builtin(),
        );
    }
});
