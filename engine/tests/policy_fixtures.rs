//! Every default policy has fixtures under `fixtures/policies/<POLICY-ID>/`: a `violating/`
//! estate, its `compliant/` twin, and `expected.json` — the exact findings the violating estate
//! must produce (engine, policy, resource, outcome). The compliant twin must produce none.
//! A policy may have more cases, each a subfolder `<POLICY-ID>/<case>/` laid out the same way
//! (e.g. `spellings/`: one violating resource per spelling of a bad value, in stack documents,
//! Terraform plans and CloudFormation templates, each with its compliant twin).
//! Where a policy exists in both Rego and Cedar, both engines must agree on every fixture: the
//! run folds the two halves' findings into one that names both engines, and `expected.json`
//! lists one entry per engine, so a finding counts for each engine it names.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns unwrap too

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use tollgate_engine::check::{self, CheckSettings};
use tollgate_engine::finding::Finding;
use tollgate_engine::policy::{BundleOptions, PolicyBundle, Principal, RegoMode};
use tollgate_engine::registry::Registry;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    engine: String,
    policy: String,
    resource: Option<String>,
    outcome: String,
    #[serde(default)]
    stack: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedFile {
    findings: Vec<Expected>,
}

fn summarise(findings: &[Finding], with_stack: bool) -> BTreeSet<Expected> {
    findings
        .iter()
        .flat_map(|f| {
            f.engines.iter().map(move |e| Expected {
                engine: e.to_string(),
                policy: f.policy.clone(),
                resource: f.resource.clone(),
                outcome: f.outcome.to_string(),
                stack: with_stack.then(|| f.stack.clone()),
            })
        })
        .collect()
}

fn run(dir: &Path, mode: RegoMode) -> Vec<Finding> {
    let mut settings = CheckSettings::new(
        vec![dir.to_path_buf()],
        root().join("policies"),
        Principal::parse("ci:fixtures").unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
    );
    settings.bundle.rego_mode = mode;
    match check::run(&settings) {
        Ok(report) => report.findings,
        Err(e) => panic!("{}: {e}", dir.display()),
    }
}

fn fixture_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures/policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Every case: each policy's folder, then its case subfolders (any folder with `expected.json`
/// beside `violating/` and `compliant/`), with the policy id each belongs to.
fn case_dirs() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for dir in fixture_dirs() {
        let id = dir.file_name().unwrap().to_string_lossy().to_string();
        let mut subs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir() && p.join("expected.json").is_file())
            .collect();
        subs.sort();
        out.push((id.clone(), dir));
        out.extend(subs.into_iter().map(|s| (id.clone(), s)));
    }
    out
}

fn bundle() -> PolicyBundle {
    PolicyBundle::load(
        &root().join("policies"),
        Registry::builtin(),
        &BundleOptions::default(),
    )
    .unwrap()
}

#[test]
fn every_policy_has_fixtures_that_give_exactly_the_expected_findings() {
    // TG-AUTHZ-001 (no permit) depends on the principal, not the document: tests/cli.rs covers it.
    // TG-COV-002 (no rule of the bundle judged a covered type) depends on the bundle: the default
    // bundle judges every covered type (engine/tests/coverage.rs checks both).
    let ids: BTreeSet<String> = bundle()
        .metas()
        .iter()
        .map(|m| m.id.clone())
        .filter(|id| id != "TG-AUTHZ-001" && id != "TG-COV-002")
        .collect();
    let dirs = fixture_dirs();
    let covered: BTreeSet<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    let missing: Vec<&String> = ids.difference(&covered).collect();
    assert!(missing.is_empty(), "policies without fixtures: {missing:?}");

    let mut failures = Vec::new();
    let mut cases = 0;
    for (id, dir) in &case_dirs() {
        cases += 1;
        let name = dir
            .strip_prefix(root().join("fixtures/policies"))
            .unwrap()
            .display()
            .to_string();
        let text = std::fs::read_to_string(dir.join("expected.json"))
            .unwrap_or_else(|e| panic!("{name}/expected.json: {e}"));
        let expected: ExpectedFile =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}/expected.json: {e}"));
        let with_stack = expected.findings.iter().any(|f| f.stack.is_some());
        let want: BTreeSet<Expected> = expected.findings.into_iter().collect();
        assert!(
            want.iter().any(|f| &f.policy == id),
            "{name}: expected.json must include at least one {id} finding"
        );
        for mode in [RegoMode::Vm, RegoMode::Interpreter] {
            let got = summarise(&run(&dir.join("violating"), mode), with_stack);
            if got != want {
                failures.push(format!(
                    "{name} violating ({mode:?}):\n  missing: {:?}\n  unexpected: {:?}",
                    want.difference(&got).collect::<Vec<_>>(),
                    got.difference(&want).collect::<Vec<_>>()
                ));
            }
            let got = run(&dir.join("compliant"), mode);
            if !got.is_empty() {
                failures.push(format!(
                    "{name} compliant ({mode:?}) has findings: {:?}",
                    summarise(&got, true)
                ));
            }
        }
    }
    assert!(cases > dirs.len(), "no case subfolders found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rego_and_cedar_agree_on_every_fixture_for_shared_policies() {
    let bundle = bundle();
    let rego: BTreeSet<String> = bundle
        .rego
        .rules()
        .iter()
        .map(|r| r.meta.id.clone())
        .collect();
    let cedar: BTreeSet<String> = bundle.cedar.metas().map(|m| m.id.clone()).collect();
    let shared: BTreeSet<&String> = rego.intersection(&cedar).collect();
    assert!(
        shared.len() >= 15,
        "expected the families to be mirrored, got {shared:?}"
    );
    for family in ["encryption", "tagging", "network", "budget"] {
        assert!(
            bundle
                .cedar
                .metas()
                .any(|m| m.family == family && rego.contains(&m.id)),
            "family {family} is not covered in both languages"
        );
    }
    let mut disagreements = Vec::new();
    let mut compared = 0;
    for (_, dir) in case_dirs() {
        for side in ["violating", "compliant"] {
            let findings = run(&dir.join(side), RegoMode::Vm);
            // Per shared policy and engine: the (stack, resource) pairs it flagged. A Cedar
            // mirror may cover fewer types than its Rego rule (Cedar cannot quantify over lists
            // of records, e.g. launch templates' network interfaces): compare on its types.
            type Flagged = BTreeSet<(String, Option<String>)>;
            let mut by: BTreeMap<(String, String), Flagged> = BTreeMap::new();
            let in_cedar_scope = |f: &&Finding| match bundle.cedar.scope_type(&f.policy) {
                Some("Stack") => f.resource.is_none(),
                Some(t) => f.resource_type.as_deref() == Some(t),
                None => true,
            };
            // The run itself reports a disagreement between mirrored halves.
            for f in findings
                .iter()
                .filter(|f| f.policy == tollgate_engine::eval::MIRROR_META_ID)
            {
                disagreements.push(format!("{} {side}: {}", dir.display(), f.message));
            }
            for f in findings
                .iter()
                .filter(|f| shared.contains(&f.policy))
                .filter(in_cedar_scope)
            {
                for e in &f.engines {
                    by.entry((f.policy.clone(), e.to_string()))
                        .or_default()
                        .insert((f.stack.clone(), f.resource.clone()));
                }
            }
            for id in &shared {
                let r = by
                    .get(&(id.to_string(), "rego".into()))
                    .cloned()
                    .unwrap_or_default();
                let c = by
                    .get(&(id.to_string(), "cedar".into()))
                    .cloned()
                    .unwrap_or_default();
                compared += usize::from(!r.is_empty());
                if r != c {
                    disagreements.push(format!(
                        "{} {side} {id}: rego {r:?} cedar {c:?}",
                        dir.display()
                    ));
                }
            }
        }
    }
    assert!(
        compared >= shared.len(),
        "too few fixtures exercise shared policies ({compared})"
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
