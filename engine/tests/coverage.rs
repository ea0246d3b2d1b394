//! The registry's `coverage` against the default bundle: a family a type says judges it has a
//! type-specific rule of that family for the type, and every type a type-specific rule judges
//! names that rule's family. (Checked here, not at load: users bring their own bundles.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::NaiveDate;
use tollgate_engine::check::{self, CheckSettings};
use tollgate_engine::finding::{Enforcement, Finding, Scope};
use tollgate_engine::policy::{BundleOptions, PolicyBundle, Principal};
use tollgate_engine::registry::{Coverage, Registry};
use tollgate_engine::report::{Report, Verdict};

fn bundle() -> PolicyBundle {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    PolicyBundle::load(&dir, Registry::builtin(), &BundleOptions::default()).unwrap()
}

/// Type → the families of the type-specific rules (Rego `resource_types`, Cedar `resource is`)
/// that judge it in the default bundle.
fn judged_by(bundle: &PolicyBundle) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for rule in bundle.rego.rules() {
        if rule.scope != Scope::Resource {
            continue;
        }
        for t in rule.resource_types.iter().flatten() {
            out.entry(t.clone())
                .or_default()
                .insert(rule.meta.family.clone());
        }
    }
    for meta in bundle.cedar.metas() {
        if let Some(t) = bundle.cedar.scope_type(&meta.id)
            && t != "Stack"
        {
            out.entry(t.to_owned())
                .or_default()
                .insert(meta.family.clone());
        }
    }
    out
}

#[test]
fn every_family_a_type_names_has_a_rule_for_it_in_the_default_bundle() {
    let bundle = bundle();
    let judged = judged_by(&bundle);
    let mut problems = Vec::new();
    for t in Registry::builtin().types() {
        let have = judged.get(&t.name).cloned().unwrap_or_default();
        match &t.coverage {
            Coverage::Families(families) => {
                for f in families {
                    if !have.contains(f) {
                        problems.push(format!(
                            "{}: coverage names `{f}`, but no {f} rule of the default bundle lists it in resource_types",
                            t.name
                        ));
                    }
                }
                for f in &have {
                    if !families.contains(f) {
                        problems.push(format!(
                            "{}: a {f} rule judges it, but its coverage does not name `{f}`",
                            t.name
                        ));
                    }
                }
            }
            Coverage::NothingToJudge(_) if !have.is_empty() => problems.push(format!(
                "{}: coverage says nothing_to_judge, but {have:?} rules judge it",
                t.name
            )),
            Coverage::NothingToJudge(_) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_type_says_how_it_is_covered() {
    // Parsing demands the field; here: the reasons are sentences, not placeholders.
    for t in Registry::builtin().types() {
        if let Coverage::NothingToJudge(reason) = &t.coverage {
            assert!(
                reason.split_whitespace().count() >= 4,
                "{}: `{reason}` does not say why",
                t.name
            );
        }
    }
}

fn run(paths: &[std::path::PathBuf], policies: &Path, waivers: Option<&Path>) -> Report {
    let mut settings = CheckSettings::new(
        paths.to_vec(),
        policies.to_path_buf(),
        Principal::parse("ci:coverage").unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
    );
    settings.waivers = waivers.map(Path::to_path_buf);
    check::run(&settings).unwrap_or_else(|e| panic!("{e}"))
}

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn an_unmodelled_aws_resource_fails_and_another_providers_is_advisory() {
    let dir = root().join("fixtures/policies/TG-COV-001/violating");
    let report = run(&[dir], &root().join("policies"), None);
    let by_resource = |id: &str| {
        report
            .findings
            .iter()
            .find(|f| f.policy == "TG-COV-001" && f.resource.as_deref() == Some(id))
            .unwrap_or_else(|| panic!("no TG-COV-001 on {id}: {:?}", report.findings))
    };
    let alarm = by_resource("Users");
    assert_eq!(alarm.enforcement, Enforcement::SoftMandatory);
    assert!(alarm.fails());
    assert_eq!(
        alarm.resource_type.as_deref(),
        Some("AWS::Cognito::UserPool")
    );
    assert!(
        alarm.message.contains("does not model"),
        "{}",
        alarm.message
    );
    assert!(alarm.line.is_some_and(|l| l > 1));
    let seed = by_resource("Seed");
    assert_eq!(seed.enforcement, Enforcement::Advisory);
    assert!(!seed.fails());
    assert_eq!(report.summary.verdict, Verdict::Fail);
    // Still listed as not evaluated, as before.
    assert!(
        report
            .not_evaluated
            .iter()
            .any(|n| n == "fixture/Users (AWS::Cognito::UserPool)"),
        "{:?}",
        report.not_evaluated
    );
}

#[test]
fn a_waiver_with_a_reason_accepts_a_gap() {
    let tmp = tempfile::tempdir().unwrap();
    let waivers = tmp.path().join("waivers.json");
    std::fs::write(
        &waivers,
        r#"{"waivers": [{"id": "W-COV", "policy": "TG-COV-001", "resources": ["fixture/Users"],
            "reason": "the user pool is judged by the identity team's own review; accepted until modelled",
            "approved_by": "security", "expires": "2027-01-31"}]}"#,
    )
    .unwrap();
    let dir = root().join("fixtures/policies/TG-COV-001/violating");
    let report = run(&[dir], &root().join("policies"), Some(&waivers));
    let alarm = report
        .findings
        .iter()
        .find(|f| f.resource.as_deref() == Some("Users"))
        .unwrap();
    assert!(alarm.waived);
    assert_eq!(report.summary.verdict, Verdict::Pass);
}

#[test]
fn a_setting_the_importer_cannot_map_fails_on_its_resource() {
    let dir = root().join("fixtures/policies/TG-COV-003/violating");
    let report = run(&[dir], &root().join("policies"), None);
    let f = report
        .findings
        .iter()
        .find(|f| f.policy == "TG-COV-003")
        .unwrap();
    assert_eq!(f.resource.as_deref(), Some("Worker"));
    assert!(f.message.contains("BlockDeviceMappings"), "{}", f.message);
    assert!(f.fails());
    // The role itself is modelled and judged: it is not "not evaluated".
    assert!(
        report.not_evaluated.is_empty(),
        "{:?}",
        report.not_evaluated
    );
}

#[test]
fn a_bundle_without_rules_for_a_covered_type_leaves_a_finding() {
    // The default bundle without its KMS rotation rule (both languages): the key in the
    // compliant fixture is now judged by no encryption rule.
    let tmp = tempfile::tempdir().unwrap();
    let policies = tmp.path().join("policies");
    copy_dir(&root().join("policies"), &policies);
    for f in [
        "rego/encryption/kms_rotation.rego",
        "rego/encryption/kms_rotation_test.rego",
    ] {
        std::fs::remove_file(policies.join(f)).unwrap();
    }
    let cedar = policies.join("cedar/encryption.cedar");
    let text = std::fs::read_to_string(&cedar).unwrap();
    let start = text.find("@id(\"TG-ENC-007\")").unwrap();
    let end = text[start..].find("};").map(|i| start + i + 2).unwrap();
    std::fs::write(&cedar, format!("{}{}", &text[..start], &text[end..])).unwrap();

    let dir = root().join("fixtures/policies/TG-ENC-007/compliant");
    let report = run(&[dir], &policies, None);
    let gaps: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.policy == "TG-COV-002")
        .collect();
    assert_eq!(gaps.len(), 1, "{:?}", report.findings);
    assert!(
        gaps[0].message.contains("encryption"),
        "{}",
        gaps[0].message
    );
    assert_eq!(gaps[0].enforcement, Enforcement::SoftMandatory);
    assert_eq!(report.summary.verdict, Verdict::Fail);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
