//! Policy documents written as JSON strings (fixtures/documents): in a stack document, a
//! Terraform plan and a CloudFormation template, every `policy_document` property given as a
//! string is parsed at load and judged exactly like the object form; a string that is not JSON
//! is an input error naming the file, the line and the JSON path.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns unwrap too

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use regorus::Value;
use tollgate_engine::check::{self, CheckSettings};
use tollgate_engine::load;
use tollgate_engine::policy::Principal;
use tollgate_engine::registry::Registry;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixtures() -> PathBuf {
    root().join("fixtures/documents")
}

type Summary = BTreeSet<(String, String, Option<String>, String)>;

fn findings(dir: &Path) -> Summary {
    let settings = CheckSettings::new(
        vec![dir.to_path_buf()],
        root().join("policies"),
        Principal::parse("ci:fixtures").unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
    );
    let report = check::run(&settings).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.engine.to_string(),
                f.policy.clone(),
                f.resource.clone(),
                f.outcome.to_string(),
            )
        })
        .collect()
}

fn expect(items: &[(&str, &str)]) -> Summary {
    items
        .iter()
        .map(|(policy, resource)| {
            (
                "rego".to_owned(),
                policy.to_string(),
                Some(resource.to_string()),
                "violation".to_owned(),
            )
        })
        .collect()
}

#[test]
fn strings_are_judged_like_objects_in_every_format() {
    let cases: [(&str, Summary); 3] = [
        (
            "stack",
            expect(&[
                ("TG-IAM-001", "deploy-policy"),
                ("TG-IAM-001", "worker-role"),
                ("TG-IAM-001", "full-access"),
                ("TG-IAM-002", "worker-role"),
            ]),
        ),
        (
            "plan",
            expect(&[
                ("TG-IAM-001", "deploy-policy"),
                ("TG-IAM-001", "worker-role"),
                ("TG-IAM-001", "full-access"),
                ("TG-IAM-002", "worker-role"),
            ]),
        ),
        (
            "cloudformation",
            expect(&[
                ("TG-IAM-001", "deploypolicy"),
                ("TG-IAM-001", "workerrole"),
                ("TG-IAM-002", "workerrole"),
            ]),
        ),
    ];
    for (format, want) in cases {
        let got = findings(&fixtures().join(format).join("violating"));
        assert_eq!(got, want, "{format} violating");
        let got = findings(&fixtures().join(format).join("compliant"));
        assert!(got.is_empty(), "{format} compliant: {got:?}");
    }
}

/// The stack document with every policy string replaced by its object: the same findings.
#[test]
fn the_object_form_gives_the_same_findings() {
    for side in ["violating", "compliant"] {
        let text = std::fs::read_to_string(fixtures().join(format!("stack/{side}/documents.json")))
            .unwrap();
        let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        fn objects(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::String(s) if s.starts_with('{') => {
                    *v = serde_json::from_str(s).unwrap();
                }
                serde_json::Value::Array(items) => items.iter_mut().for_each(objects),
                serde_json::Value::Object(m) => m.values_mut().for_each(objects),
                _ => {}
            }
        }
        for r in doc["resources"].as_array_mut().unwrap() {
            objects(&mut r["properties"]);
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("documents.json"),
            serde_json::to_string_pretty(&doc).unwrap(),
        )
        .unwrap();
        assert_eq!(
            findings(dir.path()),
            findings(&fixtures().join(format!("stack/{side}"))),
            "{side}"
        );
    }
}

#[test]
fn every_format_loads_documents_as_objects() {
    for (format, role) in [
        ("stack", "worker-role"),
        ("plan", "worker-role"),
        ("cloudformation", "workerrole"),
    ] {
        let estate = load::load_estate(
            &[fixtures().join(format).join("violating")],
            Registry::builtin(),
        )
        .unwrap();
        let stack = &estate.stacks[0];
        let r = stack.resources.iter().find(|r| r.id == role).unwrap();
        let trust = &r.properties["assume_role_policy"];
        assert!(matches!(trust, Value::Object(_)), "{format}: {trust:?}");
        assert_eq!(
            r.properties["inline_policy"][0]["policy"]["Statement"][0]["Action"],
            Value::from("*"),
            "{format}"
        );
        let key = stack
            .resources
            .iter()
            .find(|r| r.type_name == "aws_kms_key")
            .unwrap();
        assert_eq!(
            key.properties["policy"]["Statement"][0]["Sid"],
            Value::from("Root"),
            "{format}"
        );
    }
}

/// Writes `text` with `needle` replaced as `name` in a fresh folder and loads it.
fn load_broken(fixture: &str, name: &str, needle: &str, with: &str) -> String {
    let text = std::fs::read_to_string(fixtures().join(fixture)).unwrap();
    assert!(text.contains(needle), "{fixture} lacks {needle}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(name);
    std::fs::write(&file, text.replacen(needle, with, 1)).unwrap();
    let errors = load::load_estate(std::slice::from_ref(&file), Registry::builtin()).unwrap_err();
    assert_eq!(errors.0.len(), 1, "{errors}");
    let e = &errors.0[0];
    assert_eq!(e.file, file);
    assert!(e.position.is_some(), "{e}");
    e.to_string()
}

#[test]
fn a_string_that_is_not_json_is_an_input_error_with_its_place() {
    let e = load_broken(
        "stack/violating/documents.json",
        "documents.json",
        r#""policy": "{\"Version\""#,
        r#""policy": "{Version\""#,
    );
    assert!(
        e.contains("$.resources[0].properties.policy")
            && e.contains("aws_iam_policy `deploy-policy`")
            && e.contains("must be valid JSON"),
        "{e}"
    );

    let e = load_broken(
        "plan/violating/documents.plan.json",
        "documents.plan.json",
        r#""assume_role_policy": "{"#,
        r#""assume_role_policy": "not json{"#,
    );
    assert!(
        e.contains(".change.after.assume_role_policy") && e.contains("must be valid JSON"),
        "{e}"
    );

    let e = load_broken(
        "cloudformation/violating/documents.template.json",
        "documents.template.json",
        r#""PolicyDocument": "{\"Version\""#,
        r#""PolicyDocument": "{Version\""#,
    );
    assert!(
        e.contains("$.Resources.deploypolicy.Properties.policy")
            && e.contains("must be valid JSON"),
        "{e}"
    );
}
