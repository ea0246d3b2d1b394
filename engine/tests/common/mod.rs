//! Helpers shared by the importer tests: run the real `check` pipeline and compare findings.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use tollgate_engine::check::{self, CheckSettings};
use tollgate_engine::import::InputFormat;
use tollgate_engine::policy::{BundleOptions, Principal};
use tollgate_engine::report::Report;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `tollgate check` on `paths` with the default bundle, as a CI identity, on a fixed date.
pub fn check(paths: &[PathBuf]) -> Report {
    let settings = CheckSettings {
        paths: paths.to_vec(),
        input_format: InputFormat::Auto,
        policies: root().join("policies"),
        waivers: None,
        principal: Principal::parse("ci:plans").unwrap(),
        today: NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
        bundle: BundleOptions::default(),
        overrides: vec![],
        changed: None,
        envelope: Default::default(),
    };
    check::run(&settings).unwrap_or_else(|e| panic!("{e}"))
}

/// `(resource, policy, engine)` of every finding.
pub fn findings(report: &Report) -> BTreeSet<(String, String, String)> {
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.resource.clone().unwrap_or_default(),
                f.policy.clone(),
                f.engine.to_string(),
            )
        })
        .collect()
}

pub fn set(items: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}
