//! A Rego module loaded as a bundle's only rule, with Tollgate's bounds on; if it loads, its
//! rules are evaluated once on an empty resource (the bounded builtins and the timer apply).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_engine::policy::rego::{RegoBundle, RegoMode, data_from_sources};
use tollgate_engine::policy::Source;
use tollgate_engine::registry::Registry;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = data_from_sources(&[]) else {
        return;
    };
    let source = Source {
        path: "fuzz.rego".into(),
        text: text.to_owned(),
    };
    let dir = std::path::Path::new("rego");
    if let Ok(bundle) =
        RegoBundle::from_sources(dir, &[source], config, Registry::builtin(), RegoMode::Interpreter)
    {
        bundle.start_run();
        for i in 0..bundle.rules().len() {
            let _ = bundle.eval(i, regorus::Value::new_object());
        }
    }
});
