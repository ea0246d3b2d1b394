//! Mirrored rules (fixtures/mirror): where the Rego and Cedar halves of one rule both fire on a
//! resource the run reports one finding naming both engines; where one half fires and the other,
//! judging the same resource, does not, the disagreement is a failing finding of its own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns unwrap too

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use tollgate_engine::check::{self, CheckSettings};
use tollgate_engine::eval::MIRROR_META_ID;
use tollgate_engine::finding::{EngineKind, Outcome};
use tollgate_engine::policy::Principal;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/mirror")
}

#[test]
fn one_finding_per_problem_and_disagreements_reported() {
    let settings = CheckSettings::new(
        vec![fixtures().join("stack")],
        fixtures().join("policies"),
        Principal::parse("ci:fixtures").unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
    );
    let report = check::run(&settings).unwrap();
    let got: Vec<(String, Option<String>, Vec<EngineKind>, Outcome)> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.policy.clone(),
                f.resource.clone(),
                f.engines.clone(),
                f.outcome,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "TG-MIR-001".to_owned(),
                Some("vpc-off".to_owned()),
                vec![EngineKind::Rego, EngineKind::Cedar],
                Outcome::Violation
            ),
            (
                "TG-MIR-001".to_owned(),
                Some("vpc-unset".to_owned()),
                vec![EngineKind::Rego],
                Outcome::Violation
            ),
            (
                MIRROR_META_ID.to_owned(),
                Some("vpc-unset".to_owned()),
                vec![EngineKind::Tollgate],
                Outcome::Error
            ),
        ],
        "{:#?}",
        report.findings
    );
    let merged = &report.findings[0];
    assert_eq!(merged.engine, EngineKind::Rego);
    assert_eq!(merged.message, "VPC `vpc-off` does not resolve DNS");
    let disagreement = &report.findings[2];
    assert!(disagreement.fails());
    assert!(
        disagreement
            .message
            .contains("TG-MIR-001: rego reports a violation here and cedar does not"),
        "{}",
        disagreement.message
    );
    assert_eq!(report.summary.failing, 3);
}
