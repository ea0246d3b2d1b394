//! Secrets never echo (issue 10 class 7): one canary of each kind the detector knows
//! (`tollgate_engine::secrets::canaries`) is seeded into inputs — a repository name that a
//! finding's message quotes, tag values that `explain` shows, a line next to a schema error that
//! `validate` quotes in its snippet — and every output is searched for it: each report format on
//! stdout and as an `--output` file, `explain` (text and JSON), `validate` (human and JSON), the
//! error lines and the log lines (`TOLLGATE_LOG`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns unwrap too

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::json;
use tollgate_engine::secrets::{canaries, canary_needle};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tollgate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("TOLLGATE_LOG", "debug")
        .output()
        .expect("run tollgate")
}

/// One stack per canary: its repository is the canary (TG-ENV-001 quotes it), and so is its key's
/// `owner` tag (explain shows the tags the tagging rules read).
fn seed(dir: &Path) {
    std::fs::create_dir_all(dir.join("stacks")).unwrap();
    for (i, (_, canary)) in canaries().iter().enumerate() {
        let id = format!("canary-{i}");
        let doc = json!({
            "stack": id,
            "repository": canary,
            "environment": "dev",
            "region": "eu-west-1",
            "account": "dev",
            "owner": "security",
            "budget": {"monthly_limit_usd": 100, "alert_thresholds_pct": [80, 100]},
            "resources": [{
                "id": "key",
                "type": "aws_kms_key",
                "properties": {"description": canary, "enable_key_rotation": true},
                "tags": {"owner": canary, "environment": "dev", "cost-center": canary, "stack": id}
            }]
        });
        std::fs::write(
            dir.join(format!("stacks/{id}.json")),
            serde_json::to_vec_pretty(&doc).unwrap(),
        )
        .unwrap();
    }
}

fn assert_clean(what: &str, text: &str) {
    for (kind, canary) in canaries() {
        let needle = canary_needle(kind, &canary);
        assert!(
            !text.contains(&needle),
            "{what} echoes the {kind} canary:\n{text}"
        );
    }
}

fn all(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn no_output_echoes_a_seeded_secret() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let policies = root().join("policies");
    let policies = policies.to_str().unwrap();

    // Every report format, on stdout and as files.
    for format in ["table", "json", "sarif", "junit", "markdown"] {
        let file = format!("report.{format}");
        let o = tollgate(
            dir.path(),
            &[
                "check",
                "stacks",
                "--policies",
                policies,
                "--no-waivers",
                "--format",
                format,
                "--output",
                &format!("{format}={file}"),
            ],
        );
        let out = all(&o);
        // The canaries' repositories are findings: the run fails and says why.
        assert_eq!(o.status.code(), Some(1), "{format}: {out}");
        assert!(out.contains("TG-ENV-001"), "{format}: {out}");
        assert!(out.contains("[REDACTED:"), "{format}: {out}");
        assert_clean(&format!("check --format {format}"), &out);
        let written = std::fs::read_to_string(dir.path().join(&file)).unwrap();
        assert_clean(&format!("check --output {format}"), &written);
    }

    // explain, text and JSON: the tags' values are among what the rules read.
    for format in ["text", "json"] {
        for i in 0..canaries().len() {
            let stack = format!("canary-{i}");
            let o = tollgate(
                dir.path(),
                &[
                    "explain",
                    "--stack",
                    &stack,
                    "--resource",
                    "key",
                    "--policies",
                    policies,
                    "--format",
                    format,
                    "stacks",
                ],
            );
            let out = all(&o);
            assert_eq!(o.status.code(), Some(0), "explain {format}: {out}");
            assert_clean(&format!("explain {stack} --format {format}"), &out);
        }
    }

    // validate: a schema error on the line after each canary, so the snippet quotes it.
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    for (i, (_, canary)) in canaries().iter().enumerate() {
        let text = format!(
            "{{\n  \"stack\": \"broken-{i}\",\n  \"repository\": {},\n  \"environment\": \"dev\",\n  \"region\": \"eu-west-1\",\n  \"account\": \"dev\",\n  \"owner\": \"security\",\n  \"resources\": [{{\"id\": \"key\", \"type\": \"aws_kms_key\",\n    \"properties\": {{\"description\": {},\n      \"enable_key_rotaton\": true}}}}]\n}}\n",
            serde_json::to_string(canary).unwrap(),
            serde_json::to_string(canary).unwrap(),
        );
        std::fs::write(broken.join(format!("broken-{i}.json")), text).unwrap();
    }
    for format in ["human", "json"] {
        let o = tollgate(
            dir.path(),
            &[
                "validate", policies, "--stacks", "broken", "--format", format,
            ],
        );
        let out = all(&o);
        assert_eq!(o.status.code(), Some(2), "validate {format}: {out}");
        assert!(
            out.contains("enable_key_rotaton"),
            "validate {format}: {out}"
        );
        assert_clean(&format!("validate --format {format}"), &out);
    }

    // check on the broken files: the error lines.
    let o = tollgate(
        dir.path(),
        &["check", "broken", "--policies", policies, "--no-waivers"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    assert_clean("check's error lines", &all(&o));
}
