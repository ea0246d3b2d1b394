//! A waivers file, checked against a soft-mandatory and a hard-mandatory policy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_engine::finding::{EngineKind, Enforcement, PolicyMeta, Severity};
use tollgate_engine::waiver::check_waivers;

fn meta(id: &str, enforcement: Enforcement) -> PolicyMeta {
    PolicyMeta {
        id: id.into(),
        title: "t".into(),
        family: "tagging".into(),
        severity: Severity::Low,
        enforcement,
        remediation: "r".into(),
        description: String::new(),
        engine: EngineKind::Rego,
        file: "p.rego".into(),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let soft = meta("TG-TAG-001", Enforcement::SoftMandatory);
        let hard = meta("TG-ENC-001", Enforcement::HardMandatory);
        let _ = check_waivers(std::path::Path::new("waivers.json"), text, &[&soft, &hard]);
    }
});
