//! End-to-end tests of `tollgate explain`: a resource's rules (fired or passed, with the values
//! they read), Cedar's decision and determining policies, policy documentation, and bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns unwrap too

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tollgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run tollgate")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally, not by a signal")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

const ENC2_BAD: &str = "fixtures/policies/TG-ENC-002/violating";
const ENC2_GOOD: &str = "fixtures/policies/TG-ENC-002/compliant";

fn explain_db(dir: &str, extra: &[&str]) -> Output {
    let mut args = vec!["explain", "--stack", "fixture", "--resource", "db", dir];
    args.extend_from_slice(extra);
    tollgate(&args)
}

fn rule<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["rego"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no rule {id} in {v:#}"))
}

fn read<'a>(rule: &'a Value, path: &str) -> &'a Value {
    rule["reads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == path)
        .unwrap_or_else(|| panic!("{path} not read by {rule:#}"))
}

#[test]
fn a_violating_resource_shows_the_rule_fired_with_the_value_it_read() {
    let o = explain_db(ENC2_BAD, &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("FIRED   TG-ENC-002"), "{text}");
    assert!(
        text.contains("input.resource.properties.storage_encrypted = false"),
        "{text}"
    );
    assert!(text.contains("create: DENY"), "{text}");
    assert!(text.contains("TG-ENC-002 (forbid)"), "{text}");

    let v = json(&explain_db(ENC2_BAD, &["--format", "json"]));
    let r = rule(&v, "TG-ENC-002");
    assert_eq!(r["status"], "fired");
    assert!(
        r["messages"][0]
            .as_str()
            .unwrap()
            .contains("storage_encrypted false"),
        "{r:#}"
    );
    let storage = read(r, "input.resource.properties.storage_encrypted");
    assert_eq!(storage["value"], false);
    assert_eq!(storage["present"], true);
    assert_eq!(storage["via"], Value::Null, "read by the rule's own module");
    // Read through the library: said so.
    let env = read(r, "input.stack.environment");
    assert_eq!(env["value"], "prod");
    assert_eq!(env["via"], "data.tollgate.lib.is_prod");

    let create = &v["cedar"]["actions"][0];
    assert_eq!(create["action"], "create");
    assert_eq!(create["decision"], "deny");
    let ids: Vec<&str> = create["determining"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["TG-ENC-002"]);
    assert_eq!(
        create["determining"][0]["title"],
        "RDS and Aurora storage is encrypted, with KMS in prod"
    );
    assert_eq!(create["errors"], serde_json::json!([]));
    // The attributes Cedar saw for the resource.
    assert_eq!(v["cedar"]["attributes"]["storage_encrypted"], false);
}

#[test]
fn a_compliant_resource_shows_passed_and_the_permit_that_allowed_it() {
    let v = json(&explain_db(ENC2_GOOD, &["--format", "json"]));
    let r = rule(&v, "TG-ENC-002");
    assert_eq!(r["status"], "passed");
    assert_eq!(r["messages"], serde_json::json!([]));
    assert_eq!(
        read(r, "input.resource.properties.storage_encrypted")["value"],
        true
    );
    let create = &v["cedar"]["actions"][0];
    assert_eq!(create["decision"], "allow");
    let ids: Vec<&str> = create["determining"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["permit-ci-create-update"]);
    assert_eq!(create["determining"][0]["effect"], "permit");

    let text = stdout(&explain_db(ENC2_GOOD, &[]));
    assert!(text.contains("passed  TG-ENC-002"), "{text}");
    assert!(text.contains("create: ALLOW"), "{text}");
}

#[test]
fn a_principal_no_permit_allows_is_denied_with_no_determining_policy() {
    let o = explain_db(ENC2_GOOD, &["--principal", "team:finance"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("create: DENY"), "{text}");
    assert!(
        text.contains("no permit policy matched (TG-AUTHZ-001)"),
        "{text}"
    );
}

#[test]
fn reads_through_iteration_show_each_element() {
    let o = tollgate(&[
        "explain",
        "--stack",
        "networking",
        "--resource",
        "edge-sg",
        "--policy",
        "TG-NET-001",
        "--format",
        "json",
        "fixtures/policies/TG-NET-001/violating",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(
        v["rego"].as_array().unwrap().len(),
        1,
        "only the policy asked"
    );
    let r = rule(&v, "TG-NET-001");
    assert_eq!(r["status"], "fired");
    // The rule reads the rules through the library's helpers (`lib.ingress_rules`, which walk
    // them by variable keys), so the static reads name the list, with its value.
    let ingress = read(r, "input.resource.properties.ingress");
    assert!(ingress["value"].is_array(), "{ingress:#}");
    // Data the rule reads comes from the bundle's data folder.
    let edge = read(r, "data.config.network.edge_security_groups");
    assert!(edge["value"].is_array(), "{edge:#}");
}

#[test]
fn stack_level_findings_about_the_resource_are_included() {
    // Tollgate's own cost check points at the resource whose price is unknown.
    let o = tollgate(&[
        "explain",
        "--stack",
        "fixture",
        "--resource",
        "worker",
        "fixtures/policies/TG-COST-000/violating",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    let section = text
        .split("Stack- and estate-level findings about this resource:")
        .nth(1)
        .unwrap();
    assert!(
        section.contains("TG-COST-000 (tollgate, built-in) error"),
        "{text}"
    );

    // A stack-scope Rego rule that points at one resource.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("policies"), dir.path());
    std::fs::write(
        dir.path().join("rego/stack_points.rego"),
        r#"package custom.points
import rego.v1
metadata := {"id": "TG-X-001", "title": "Points at db", "family": "backup", "severity": "low",
	"enforcement": "advisory", "scope": "stack", "remediation": "None."}
deny contains {"msg": "db is special", "resource": r.id} if {
	some r in input.resources
	r.id == "db"
}
"#,
    )
    .unwrap();
    let o = explain_db(
        ENC2_GOOD,
        &[
            "--policies",
            dir.path().to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    let related = v["related"].as_array().unwrap();
    assert!(
        related.iter().any(|f| f["policy"] == "TG-X-001"
            && f["scope"] == "stack"
            && f["message"] == "db is special"),
        "{related:?}"
    );
}

#[test]
fn explain_policy_prints_its_documentation_example_and_fix() {
    let o = tollgate(&["explain", "TG-ENC-001"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    for want in [
        "TG-ENC-001  Prod S3 buckets are encrypted with a customer-managed KMS key",
        "family       encryption",
        "severity     high",
        "enforcement  hard-mandatory",
        "rego rule (policies/rego/encryption/s3_kms.rego)",
        "cedar forbid (policies/cedar/encryption.cedar)",
        "applies to   aws_s3_bucket",
        "What it checks",
        "a bucket's default encryption is SSE-KMS",
        "Why it matters",
        "CloudTrail records",
        "Failing example (fixtures/policies/TG-ENC-001/violating/stack.json, resource `logs`)",
        "\"sse_algorithm\": \"AES256\"",
        "Fix: the compliant twin (fixtures/policies/TG-ENC-001/compliant/stack.json)",
        "- properties.server_side_encryption.sse_algorithm: \"AES256\"",
        "+ properties.server_side_encryption.sse_algorithm: \"aws:kms\"",
        "+ properties.server_side_encryption.kms_key_id: \"${key}\"",
        "Remediation",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }

    let v = json(&tollgate(&["explain", "TG-ENC-001", "--format", "json"]));
    assert_eq!(v["id"], "TG-ENC-001");
    assert!(!v["rationale"].as_str().unwrap().is_empty());
    assert_eq!(v["example"]["violating"]["resource"], "logs");
}

#[test]
fn explain_policy_without_fixtures_says_so() {
    let o = tollgate(&["explain", "TG-ENC-001", "--fixtures", "no/such/dir"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("no fixtures for TG-ENC-001"), "{text}");
    // A permit policy is documented too.
    let o = tollgate(&["explain", "permit-ci-delete-nonprod"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("cedar permit"), "{}", stdout(&o));
}

#[test]
fn unknown_names_exit_2_naming_them() {
    let o = tollgate(&["explain", "TG-ENC-01"]);
    assert_eq!(code(&o), 2);
    assert!(o.stdout.is_empty());
    let e = stderr(&o);
    assert!(e.contains("policy `TG-ENC-01` not found"), "{e}");
    assert!(e.contains("did you mean `TG-ENC-001`?"), "{e}");

    let o = tollgate(&["explain", "--stack", "fixtur", "--resource", "db", ENC2_BAD]);
    assert_eq!(code(&o), 2);
    let e = stderr(&o);
    assert!(e.contains("stack `fixtur` not found"), "{e}");
    assert!(e.contains("did you mean `fixture`?"), "{e}");

    let o = tollgate(&[
        "explain",
        "--stack",
        "fixture",
        "--resource",
        "dbx",
        ENC2_BAD,
    ]);
    assert_eq!(code(&o), 2);
    let e = stderr(&o);
    assert!(
        e.contains("resource (in stack `fixture`) `dbx` not found"),
        "{e}"
    );
    assert!(e.contains("did you mean `db`?"), "{e}");

    let o = explain_db(ENC2_BAD, &["--policy", "TG-ENC-001"]);
    assert_eq!(code(&o), 2);
    let e = stderr(&o);
    assert!(
        e.contains("policy `TG-ENC-001` does not apply to fixture/db (aws_rds_cluster)"),
        "{e}"
    );

    let o = explain_db(ENC2_BAD, &["--policy", "TG-NOPE-1"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("policy `TG-NOPE-1` not found"));

    // Usage: no policy id and no resource.
    let o = tollgate(&["explain"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("--stack STACK --resource ID"),
        "{}",
        stderr(&o)
    );
    // A broken stack document is bad input with its place.
    let o = tollgate(&[
        "explain",
        "--stack",
        "x",
        "--resource",
        "y",
        "fixtures/bad/duplicate-key.json",
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("duplicate-key.json:"), "{}", stderr(&o));
}

/// The text rendering of one explanation, compared with a golden file. Set
/// `TOLLGATE_UPDATE_GOLDEN=1` to rewrite it after an intended change (and review the diff).
#[test]
fn text_rendering_matches_the_golden_file() {
    let o = explain_db(ENC2_BAD, &["--policy", "TG-ENC-002"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let got = stdout(&o);
    let golden = root().join("tests/golden/explain-TG-ENC-002-db.txt");
    if std::env::var_os("TOLLGATE_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(&golden, &got).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap_or_default();
    assert!(
        got == want,
        "explain output differs from {}:\n--- want\n{want}\n--- got\n{got}",
        golden.display()
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
