//! `tollgate schema`: the committed copies under `policies/schema/` stay in sync with the type
//! registry, and the stack-document JSON Schema agrees with the loader — it accepts every shipped
//! stack and every document of the policy fixture corpus the loader accepts, and rejects what the
//! loader rejects for the reasons a schema can see.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tollgate_engine::load::parse_stack;
use tollgate_engine::registry::Registry;

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

#[test]
fn committed_schemas_match_the_registry_byte_for_byte() {
    for (flag, file) in [
        ("--cedar", "tollgate.cedarschema"),
        ("--cedar-json", "tollgate.cedarschema.json"),
        ("--json-schema", "stack.schema.json"),
    ] {
        let o = tollgate(&["schema", flag]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let path = root().join("policies/schema").join(file);
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == o.stdout,
            "policies/schema/{file} is out of date with the type registry: run `tollgate schema --write` \
             (or `cargo run -- schema --write`) and commit the result"
        );
    }
}

#[test]
fn output_file_is_written_whole_and_equals_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stack.schema.json");
    let o = tollgate(&["schema", "--json-schema", "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    assert_eq!(
        std::fs::read(&out).unwrap(),
        tollgate(&["schema", "--json-schema"]).stdout
    );
    // Nothing but the file is left behind (no temporary files).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    let o = tollgate(&["schema", "-o", "/nonexistent-dir/x.cedarschema"]);
    assert_eq!(o.status.code(), Some(2));
    let o = tollgate(&["schema", "--cedar", "--json-schema"]);
    assert_eq!(o.status.code(), Some(2), "one schema at a time");
}

#[test]
fn write_refreshes_all_copies_in_a_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let o = tollgate(&[
        "schema",
        "--write",
        "--policies",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    for f in [
        "tollgate.cedarschema",
        "tollgate.cedarschema.json",
        "stack.schema.json",
    ] {
        assert_eq!(
            std::fs::read(dir.path().join("schema").join(f)).unwrap(),
            std::fs::read(root().join("policies/schema").join(f)).unwrap(),
            "{f}"
        );
    }
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("policies/schema/stack.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft202012::new(&schema).unwrap()
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

#[test]
fn schema_accepts_every_document_the_loader_accepts() {
    let v = validator();
    let mut files = Vec::new();
    json_files(&root().join("stacks"), &mut files);
    let shipped = files.len();
    assert_eq!(shipped, 23);
    json_files(&root().join("fixtures/policies"), &mut files);
    let mut checked = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // Only stack documents the loader accepts on their own (fixtures also hold expectations).
        if parse_stack(&f, &text, Registry::builtin()).is_err() {
            continue;
        }
        let doc: Value = serde_json::from_str(&text).unwrap();
        let errs = errors(&v, &doc);
        assert!(errs.is_empty(), "{}: {errs:#?}", f.display());
        checked += 1;
    }
    assert!(checked > shipped + 30, "only {checked} documents checked");
}

#[test]
fn schema_rejects_what_the_loader_rejects() {
    let v = validator();
    let doc = |resources: &str| {
        format!(
            r#"{{"stack": "s", "repository": "r", "environment": "prod", "region": "eu-west-1",
"account": "prod", "owner": "o", "resources": [{resources}]}}"#
        )
    };
    let cases: Vec<(&str, String)> = vec![
        ("unknown type", doc(r#"{"id": "b", "type": "aws_s3_buckett", "properties": {"bucket": "x"}}"#)),
        ("unknown property", doc(r#"{"id": "b", "type": "aws_s3_bucket", "properties": {"bucket": "x", "versionning": {"enabled": true}}}"#)),
        ("wrong property type", doc(r#"{"id": "b", "type": "aws_s3_bucket", "properties": {"bucket": "x", "versioning": {"enabled": "yes"}}}"#)),
        ("missing required property", doc(r#"{"id": "c", "type": "aws_rds_cluster", "properties": {"engine": "aurora-postgresql"}}"#)),
        ("fractional integer", doc(r#"{"id": "c", "type": "aws_rds_cluster", "properties": {"cluster_identifier": "c", "engine": "e", "backup_retention_period": 1.5}}"#)),
        ("unknown resource field", doc(r#"{"id": "b", "type": "aws_s3_bucket", "properties": {"bucket": "x"}, "tagz": {}}"#)),
        ("resource id not an identifier", doc(r#"{"id": "-b", "type": "aws_s3_bucket", "properties": {"bucket": "x"}}"#)),
        ("non-string tag value", doc(r#"{"id": "b", "type": "aws_s3_bucket", "properties": {"bucket": "x"}, "tags": {"owner": 1}}"#)),
        ("unknown envelope field", r#"{"stack": "s", "repository": "r", "environment": "prod", "region": "eu-west-1", "account": "prod", "owner": "o", "resources": [], "colour": "red"}"#.to_owned()),
        ("missing envelope field", r#"{"stack": "s", "repository": "r", "environment": "prod", "region": "eu-west-1", "account": "prod", "resources": []}"#.to_owned()),
        ("managed elsewhere without a reason", r#"{"stack": "s", "repository": "r", "environment": "prod", "region": "eu-west-1", "account": "prod", "owner": "o", "managed_elsewhere": {"aws_s3_bucket": " "}, "resources": []}"#.to_owned()),
        ("budget without a limit", r#"{"stack": "s", "repository": "r", "environment": "prod", "region": "eu-west-1", "account": "prod", "owner": "o", "budget": {"alert_thresholds_pct": [80]}, "resources": []}"#.to_owned()),
    ];
    // A type that takes no tags, given tags.
    let untaggable = Registry::builtin()
        .types()
        .find(|t| !t.taggable)
        .expect("some type takes no tags");
    // Its required properties given as null ("not set"), which both accept.
    let required: serde_json::Map<String, Value> = untaggable
        .required
        .iter()
        .map(|r| (r.clone(), Value::Null))
        .collect();
    let untagged = serde_json::json!({"id": "x", "type": untaggable.name, "properties": required});
    let mut cases = cases;
    let mut tagged = untagged.clone();
    tagged["tags"] = serde_json::json!({"owner": "o"});
    cases.push(("tags on an untaggable type", doc(&tagged.to_string())));
    // Without the tags, both accept it: the case fails for the tags alone.
    let ok = doc(&untagged.to_string());
    assert!(parse_stack(Path::new("ok.json"), &ok, Registry::builtin()).is_ok());
    assert!(errors(&v, &serde_json::from_str(&ok).unwrap()).is_empty());
    for bad in [
        "unknown-type.json",
        "unknown-field.json",
        "wrong-property-type.json",
    ] {
        let text = std::fs::read_to_string(root().join("fixtures/bad").join(bad)).unwrap();
        cases.push((bad, text));
    }
    for (what, text) in cases {
        assert!(
            parse_stack(Path::new("case.json"), &text, Registry::builtin()).is_err(),
            "{what}: the loader accepts it"
        );
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert!(
            !errors(&v, &doc).is_empty(),
            "{what}: the schema accepts it"
        );
    }
}
