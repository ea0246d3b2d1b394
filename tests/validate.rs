//! End-to-end tests of `tollgate validate`: golden output (human and JSON) for a set of broken
//! inputs under `fixtures/validate/`, one run collecting every problem; the shipped bundle,
//! stacks and waivers validating clean; waiver expiry judged as of `--as-of`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tollgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("run tollgate")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const BROKEN: &[&str] = &[
    "validate",
    "fixtures/validate/bundle",
    "--stacks",
    "fixtures/validate/stacks",
    "--waivers",
    "fixtures/validate/waivers.json",
    "--as-of",
    "2026-11-26",
];

#[test]
fn broken_inputs_render_every_problem_with_its_snippet() {
    let o = tollgate(BROKEN);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = stdout(&o);
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "tollgate validate over fixtures/validate (NO_COLOR, width 100)",
    }, {
        insta::assert_snapshot!("validate_broken_human", text);
    });
}

#[test]
fn broken_inputs_as_json_list_every_problem_with_its_place() {
    let mut args = BROKEN.to_vec();
    args.extend(["--format", "json"]);
    let o = tollgate(&args);
    assert_eq!(o.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    let diagnostics = v["diagnostics"].as_array().unwrap();
    let mut codes: Vec<(&str, &str)> = diagnostics
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap(),
                d["file"].as_str().unwrap().rsplit('/').next().unwrap(),
            )
        })
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        [
            ("cedar::validation", "misspelt_attribute.cedar"),
            ("cedar::validation", "type_mismatch.cedar"),
            ("policy::duplicate-id", "duplicate_b.rego"),
            ("rego::compile", "unknown_function.rego"),
            ("rego::metadata", "missing_field.rego"),
            ("rego::parse", "syntax.rego"),
            ("stack::unknown-type", "unknown-type.json"),
            ("waiver::expired", "waivers.json"),
            ("waiver::unknown-policy", "waivers.json"),
        ]
    );
    for d in diagnostics {
        assert!(d["line"].as_u64().unwrap() >= 1, "{d}");
        assert!(d["column"].as_u64().unwrap() >= 1, "{d}");
        assert_eq!(d["level"], "error");
    }
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "tollgate validate --format json over fixtures/validate",
    }, {
        insta::assert_snapshot!("validate_broken_json", stdout(&o));
    });
}

#[test]
fn shipped_bundle_stacks_and_waivers_validate_clean() {
    let o = tollgate(&["validate", "--as-of", "2026-11-26", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["diagnostics"], serde_json::json!([]), "not even warnings");
    let checked = &v["checked"];
    assert!(checked["rego_rules"].as_u64().unwrap() >= 30, "{checked}");
    assert!(
        checked["cedar_policies"].as_u64().unwrap() >= 20,
        "{checked}"
    );
    assert_eq!(checked["stack_files"], 23);
    // W-0001 (the dev database), W-0002 (repositories outside the naming patterns), W-0003 and
    // W-0004 (the IAM wildcards).
    assert_eq!(checked["waivers"], 4);

    let o = tollgate(&["validate", "--as-of", "2026-11-26"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("valid: "), "{}", stdout(&o));
}

#[test]
fn waiver_expiry_is_judged_as_of_the_given_day() {
    // W-0001, W-0003 and W-0004 are valid through 2027-03-31 (W-0002 through 2027-06-30).
    let o = tollgate(&["validate", "--as-of", "2027-03-31", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let o = tollgate(&["validate", "--as-of", "2027-04-01", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["waiver::expired"; 3]);
}

#[test]
fn bad_usage_and_missing_bundle_exit_2() {
    let o = tollgate(&["validate", "--as-of", "tomorrow"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--as-of `tomorrow`"));
    let o = tollgate(&["validate", "no/such/bundle", "--no-stacks", "--no-waivers"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o).contains("policy bundle folder not found"),
        "{}",
        stdout(&o)
    );
}
