//! The `unknown` outcome (fixtures/unknown): a rule's Rego `unknown` set and its Cedar
//! `@outcome("unknown")` forbid policy give `unknown` findings — failing like a violation of the
//! rule's enforcement, with the explanation — where the value the rule needs is only known at
//! apply; the same rule's violating and compliant stacks give violations and nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns unwrap too

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use tollgate_engine::check::{self, CheckSettings};
use tollgate_engine::finding::{EngineKind, Outcome, UNKNOWN_EXPLANATION};
use tollgate_engine::policy::testing::{self, TestOptions, TestOutcome};
use tollgate_engine::policy::{BundleOptions, PolicyBundle, Principal, RegoMode};
use tollgate_engine::registry::Registry;
use tollgate_engine::report::{Report, Verdict};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/unknown")
}

fn run(stack: &str, mode: RegoMode) -> Report {
    run_with(&fixtures().join("policies"), stack, mode)
}

fn run_with(policies: &Path, stack: &str, mode: RegoMode) -> Report {
    let mut settings = CheckSettings::new(
        vec![fixtures().join(stack)],
        policies.to_path_buf(),
        Principal::parse("ci:fixtures").unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
    );
    settings.bundle.rego_mode = mode;
    check::run(&settings).unwrap_or_else(|e| panic!("{stack}: {e}"))
}

fn outcomes(report: &Report) -> BTreeSet<(EngineKind, String, Outcome)> {
    report
        .findings
        .iter()
        .flat_map(|f| f.engines.iter().map(|e| (*e, f.policy.clone(), f.outcome)))
        .collect()
}

#[test]
fn a_value_known_only_at_apply_is_unknown_in_both_engines_and_fails() {
    for mode in [RegoMode::Interpreter, RegoMode::Vm] {
        let report = run("unknown", mode);
        assert_eq!(
            outcomes(&report),
            BTreeSet::from([
                (EngineKind::Rego, "TG-UNK-001".to_owned(), Outcome::Unknown),
                (EngineKind::Cedar, "TG-UNK-001".to_owned(), Outcome::Unknown),
            ]),
            "{mode:?}: {:#?}",
            report.findings
        );
        // Both halves fired: one finding naming both engines, with the Rego half's words.
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(f.engines, [EngineKind::Rego, EngineKind::Cedar]);
        assert!(f.fails(), "{f:?}");
        assert!(f.message.contains(UNKNOWN_EXPLANATION), "{}", f.message);
        assert_eq!(f.resource.as_deref(), Some("vpc"));
        assert!(
            f.message
                .starts_with("VPC `vpc` has a CIDR block only known at apply"),
            "{}",
            f.message
        );
        assert_eq!(report.summary.verdict, Verdict::Fail);
        assert_eq!(report.summary.failing, 1);
    }
}

/// The Cedar half alone: its unknown policy took the rule's metadata from its violation twin.
#[test]
fn the_cedar_unknown_policy_alone_gives_an_unknown_finding_with_its_twins_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let cedar = dir.path().join("cedar");
    std::fs::create_dir_all(&cedar).unwrap();
    std::fs::copy(
        fixtures().join("policies/cedar/vpc_cidr.cedar"),
        cedar.join("vpc_cidr.cedar"),
    )
    .unwrap();
    let report = run_with(dir.path(), "unknown", RegoMode::Interpreter);
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    let f = &report.findings[0];
    assert_eq!((f.engine, f.outcome), (EngineKind::Cedar, Outcome::Unknown));
    assert_eq!(f.title, "A VPC's CIDR block is not the whole internet");
    assert_eq!(f.severity.to_string(), "high");
    assert!(
        f.message
            .starts_with("VPC has a CIDR block only known at apply (not judgeable: "),
        "{}",
        f.message
    );
    assert!(f.fails());
}

#[test]
fn the_same_rule_still_gives_violations_and_passes_its_compliant_twin() {
    for mode in [RegoMode::Interpreter, RegoMode::Vm] {
        let report = run("violating", mode);
        assert_eq!(
            outcomes(&report),
            BTreeSet::from([
                (
                    EngineKind::Rego,
                    "TG-UNK-001".to_owned(),
                    Outcome::Violation
                ),
                (
                    EngineKind::Cedar,
                    "TG-UNK-001".to_owned(),
                    Outcome::Violation
                ),
            ]),
            "{mode:?}"
        );
        let report = run("compliant", mode);
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        assert_eq!(report.summary.verdict, Verdict::Pass);
    }
}

#[test]
fn policy_tests_of_both_halves_pass() {
    let run = testing::run_tests(
        &fixtures().join("policies"),
        Registry::builtin(),
        &TestOptions::default(),
    )
    .unwrap();
    assert_eq!(run.tests.len(), 3, "{:?}", run.tests);
    for t in &run.tests {
        assert_eq!(t.outcome, TestOutcome::Pass, "{t:?}");
    }
}

fn load_cedar(text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("cedar")).unwrap();
    std::fs::write(dir.path().join("cedar/x.cedar"), text).unwrap();
    PolicyBundle::load(dir.path(), Registry::builtin(), &BundleOptions::default())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

const META: &str = "@title(\"t\")\n@family(\"network\")\n@severity(\"high\")\n@enforcement(\"soft-mandatory\")\n@remediation(\"r\")\n";

#[test]
fn malformed_unknown_policies_are_refused_with_their_place() {
    let forbid = "forbid (principal, action, resource is Tollgate::aws_vpc);\n";
    // An outcome that is neither `violation` nor `unknown`.
    let e = load_cedar(&format!("@id(\"A\")\n@outcome(\"maybe\")\n{META}{forbid}")).unwrap_err();
    assert!(
        e.contains("x.cedar:1:1") && e.contains("@outcome(\"maybe\")"),
        "{e}"
    );
    // A permit cannot be unknown.
    let e =
        load_cedar("@id(\"p\")\n@outcome(\"unknown\")\npermit (principal, action, resource);\n")
            .unwrap_err();
    assert!(e.contains("only a forbid policy"), "{e}");
    // An unknown policy without metadata needs a violation twin.
    let e = load_cedar(&format!("@id(\"A\")\n@outcome(\"unknown\")\n{forbid}")).unwrap_err();
    assert!(e.contains("has no @title"), "{e}");
    // One that disagrees with its twin.
    let other = META.replace("high", "low");
    let e = load_cedar(&format!(
        "@id(\"A\")\n{META}{forbid}\n@id(\"A\")\n@outcome(\"unknown\")\n{other}{forbid}"
    ))
    .unwrap_err();
    assert!(
        e.contains("other metadata than its violation policy"),
        "{e}"
    );
    // The reserved suffix.
    let e = load_cedar(&format!("@id(\"A:unknown\")\n{META}{forbid}")).unwrap_err();
    assert!(e.contains("ends with `:unknown`"), "{e}");
    // A lone unknown policy with metadata of its own is a rule of its own.
    load_cedar(&format!(
        "@id(\"A\")\n@outcome(\"unknown\")\n{META}{forbid}"
    ))
    .unwrap();
}

#[test]
fn a_rego_unknown_set_needs_a_deny_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rego")).unwrap();
    std::fs::write(
        dir.path().join("rego/x.rego"),
        "package x\n\nmetadata := {\"id\": \"X\", \"title\": \"t\", \"family\": \"f\", \"severity\": \"low\", \"enforcement\": \"advisory\", \"remediation\": \"r\"}\n\nunknown contains \"m\" if { true }\n",
    )
    .unwrap();
    let e = PolicyBundle::load(dir.path(), Registry::builtin(), &BundleOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("declares `unknown` but no `deny`"), "{e}");
}
