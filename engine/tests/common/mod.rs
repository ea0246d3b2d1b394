//! Helpers shared by the importer tests: run the real `check` pipeline and compare findings.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use tollgate_engine::check::{self, CheckSettings};
use tollgate_engine::policy::Principal;
use tollgate_engine::report::Report;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `tollgate check` on `paths` with the default bundle, as a CI identity, on a fixed date.
pub fn check(paths: &[PathBuf]) -> Report {
    let settings = CheckSettings::new(
        paths.to_vec(),
        root().join("policies"),
        Principal::parse("ci:plans").unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
    );
    check::run(&settings).unwrap_or_else(|e| panic!("{e}"))
}

/// `(resource, policy, engine)` of every finding.
/// `(resource, policy, engine)` for each engine a finding names (a mirrored rule's one finding
/// names both).
pub fn findings(report: &Report) -> BTreeSet<(String, String, String)> {
    report
        .findings
        .iter()
        .flat_map(|f| {
            f.engines.iter().map(|e| {
                (
                    f.resource.clone().unwrap_or_default(),
                    f.policy.clone(),
                    e.to_string(),
                )
            })
        })
        .collect()
}

pub fn set(items: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}
