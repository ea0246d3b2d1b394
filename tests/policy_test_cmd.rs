//! End-to-end tests of `tollgate test`: exit codes 0/1/2, the JSON and JUnit shapes, `--run`,
//! `--coverage`, and load errors naming file:line:col. Each test writes a tiny bundle to a
//! temporary folder and runs the real binary on it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns unwrap too

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const RULE: &str = r#"package tollgate.demo.versioning

metadata := {
	"id": "TG-DEMO-001",
	"title": "Buckets keep versions",
	"family": "backup",
	"severity": "medium",
	"enforcement": "soft-mandatory",
	"remediation": "Enable versioning.",
	"resource_types": ["aws_s3_bucket"],
}

deny contains msg if {
	not input.resource.properties.versioning.enabled
	msg := "bucket does not keep versions"
}
"#;

const PASSING_TESTS: &str = r#"package tollgate.demo.versioning_test

test_unversioned_denied if {
	count(data.tollgate.demo.versioning.deny) == 1 with input as {"resource": {"properties": {}}}
}

test_versioned_allowed if {
	count(data.tollgate.demo.versioning.deny) == 0 with input as {"resource": {"properties": {"versioning": {"enabled": true}}}}
}
"#;

const CEDAR: &str = r#"@id("permit-ci")
permit (principal is Tollgate::CiIdentity, action, resource);
"#;

const CEDAR_CASES: &str = r#"{
  "stack": {
    "stack": "demo", "repository": "demo-main", "environment": "prod", "region": "eu-west-1",
    "account": "prod", "owner": "platform", "depends_on": [],
    "resources": [
      {"id": "b", "type": "aws_s3_bucket", "properties": {"bucket": "b"}, "tags": {}}
    ]
  },
  "cases": [
    {"name": "ci_may_create", "principal": "ci:github", "action": "create", "resource": "b",
     "decision": "allow", "determining": ["permit-ci"]},
    {"name": "team_may_not", "principal": "team:web", "action": "delete", "resource": null,
     "decision": "deny", "determining": []}
  ]
}
"#;

fn bundle(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn good_bundle() -> tempfile::TempDir {
    bundle(&[
        ("rego/versioning.rego", RULE),
        ("rego/versioning_test.rego", PASSING_TESTS),
        ("cedar/access.cedar", CEDAR),
        ("cedar/tests/access.cedartest.json", CEDAR_CASES),
    ])
}

fn tollgate(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .arg("test")
        .arg(dir)
        .args(extra)
        .output()
        .expect("run tollgate")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

#[test]
fn all_passing_exits_0_with_a_line_per_test() {
    let dir = good_bundle();
    let o = tollgate(dir.path(), &[]);
    assert_eq!(
        code(&o),
        0,
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    let out = stdout(&o);
    for name in [
        "tollgate.demo.versioning_test.test_unversioned_denied",
        "tollgate.demo.versioning_test.test_versioned_allowed",
        "access::ci_may_create",
        "access::team_may_not",
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with("PASS") && l.contains(name)),
            "{name} in {out}"
        );
    }
    assert!(
        out.contains("4 tests: 4 passed, 0 failed, 0 errors"),
        "{out}"
    );
}

#[test]
fn a_failing_test_exits_1_and_json_says_why() {
    let failing = format!(
        "{PASSING_TESTS}\ntest_wrong if {{\n\tcount(data.tollgate.demo.versioning.deny) == 0 with input as {{\"resource\": {{\"properties\": {{}}}}}}\n}}\n\ntest_boom if {{\n\t1 / 0 == 1\n}}\n"
    );
    let dir = bundle(&[
        ("rego/versioning.rego", RULE),
        ("rego/versioning_test.rego", &failing),
    ]);
    let o = tollgate(dir.path(), &["--format", "json"]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let v = json(&o);
    assert_eq!(v["summary"]["total"], 4);
    assert_eq!(v["summary"]["passed"], 2);
    assert_eq!(v["summary"]["failed"], 1);
    assert_eq!(v["summary"]["errors"], 1);
    let tests = v["tests"].as_array().unwrap();
    let wrong = tests
        .iter()
        .find(|t| t["name"] == "tollgate.demo.versioning_test.test_wrong")
        .unwrap();
    assert_eq!(wrong["outcome"], "fail");
    assert_eq!(wrong["engine"], "rego");
    assert!(
        wrong["file"]
            .as_str()
            .unwrap()
            .ends_with("versioning_test.rego")
    );
    assert_eq!(wrong["line"], 11);
    let boom = tests
        .iter()
        .find(|t| t["name"] == "tollgate.demo.versioning_test.test_boom")
        .unwrap();
    assert_eq!(boom["outcome"], "error");
    assert!(
        boom["message"].as_str().unwrap().contains("divide by zero"),
        "{boom}"
    );
    assert!(v.get("coverage").is_none());
}

#[test]
fn run_filters_and_junit_has_one_case_per_test() {
    let dir = good_bundle();
    let o = tollgate(
        dir.path(),
        &["--run", "versioned_allowed|::team", "--format", "junit"],
    );
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let xml = stdout(&o);
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<testsuites name="tollgate test" tests="2" failures="0" errors="0""#),
        "{xml}"
    );
    assert_eq!(
        xml.matches("<testsuite ").count(),
        2,
        "one suite per file: {xml}"
    );
    assert!(
        xml.contains(r#"name="tollgate.demo.versioning_test.test_versioned_allowed""#),
        "{xml}"
    );
    assert!(xml.contains(r#"name="access::team_may_not""#), "{xml}");
    assert!(!xml.contains("test_unversioned_denied"), "{xml}");
}

#[test]
fn junit_reports_a_failing_cedar_case() {
    let cases = CEDAR_CASES.replace(r#""decision": "allow""#, r#""decision": "deny""#);
    let dir = bundle(&[
        ("cedar/access.cedar", CEDAR),
        ("cedar/tests/access.cedartest.json", &cases),
    ]);
    let o = tollgate(dir.path(), &["--format", "junit"]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let xml = stdout(&o);
    assert!(xml.contains(r#"failures="1""#), "{xml}");
    assert!(
        xml.contains(
            r#"<failure message="expected deny, got allow (determining: permit-ci)" type="fail">"#
        ),
        "{xml}"
    );
}

#[test]
fn a_test_file_that_does_not_parse_exits_2_naming_file_line_col() {
    let dir = bundle(&[
        ("rego/versioning.rego", RULE),
        (
            "rego/broken_test.rego",
            "package broken_test\n\ntest_x if {\n\tcount([1) == 1\n}\n",
        ),
    ]);
    let o = tollgate(dir.path(), &[]);
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("broken_test.rego:4:"), "{err}");
    assert!(o.stdout.is_empty(), "nothing runs from a half-loaded set");

    let dir = bundle(&[
        ("cedar/access.cedar", CEDAR),
        (
            "cedar/tests/bad.cedartest.json",
            "{\n  \"cases\": [\n    {\"name\": \"x\",}\n  ]\n}\n",
        ),
    ]);
    let o = tollgate(dir.path(), &[]);
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.cedartest.json:3:"), "{err}");
}

#[test]
fn bad_usage_exits_2() {
    let dir = good_bundle();
    let o = tollgate(dir.path(), &["--run", "("]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--run"));
    let o = tollgate(&dir.path().join("missing"), &[]);
    assert_eq!(code(&o), 2);
}

#[test]
fn coverage_is_in_json_and_table() {
    let dir = good_bundle();
    let o = tollgate(dir.path(), &["--coverage", "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let v = json(&o);
    let rego = &v["coverage"]["rego"];
    let files = rego["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "test modules are not measured: {files:?}");
    assert!(
        files[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("versioning.rego")
    );
    assert_eq!(files[0]["covered"], files[0]["coverable"], "{rego}");
    assert_eq!(rego["percent"], 100.0);
    assert_eq!(v["coverage"]["cedar"]["policies"], 1);
    assert_eq!(
        v["coverage"]["cedar"]["never_exercised"],
        serde_json::json!([])
    );

    // Only the Cedar deny case: the permit is never determining, and Rego is not reached.
    let o = tollgate(dir.path(), &["--coverage", "--run", "team_may_not"]);
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(out.contains("Rego line coverage"), "{out}");
    assert!(out.contains("never exercised:\n    permit-ci"), "{out}");
    assert!(out.contains("3 deselected by --run"), "{out}");
}
