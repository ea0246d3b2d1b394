//! Terraform plans: modules, unknown values, deletes, replacements, split resources, and the
//! same findings as the equivalent stack document.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns unwrap too

mod common;

use common::{check, findings, root, set};

use tollgate_engine::import::UNKNOWN;
use tollgate_engine::load;
use tollgate_engine::model::Change;
use tollgate_engine::registry::Registry;

#[test]
fn a_plan_is_read_into_the_model() {
    let estate = load::load_estate(
        &[root().join("fixtures/terraform/storage.plan.json")],
        Registry::builtin(),
    )
    .unwrap();
    assert_eq!(estate.stacks.len(), 1);
    let s = &estate.stacks[0];
    assert_eq!(s.id, "plan-storage");
    assert_eq!(s.environment, "prod");
    assert_eq!(s.region, "eu-west-1", "from the aws provider block");
    assert_eq!(s.budget.as_ref().unwrap().monthly_limit_usd, 500);
    let ids: Vec<&str> = s.resources.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            // `exports` and `module.events.this` name two resources each, so they keep their addresses.
            "audit",
            "aws_kms_key.exports",
            "aws_s3_bucket.exports",
            "legacy",
            "module.events.aws_kms_key.this",
            "module.events.aws_s3_bucket.this",
            "workers",
        ]
    );
    let r = |id: &str| s.resources.iter().find(|r| r.id == id).unwrap();
    // Split resources folded into their bucket, through configuration references (unknown ids).
    let events = r("module.events.aws_s3_bucket.this");
    assert_eq!(
        events.properties["server_side_encryption"]["sse_algorithm"],
        "aws:kms".into()
    );
    assert_eq!(
        events.properties["server_side_encryption"]["kms_key_id"],
        UNKNOWN.into()
    );
    assert_eq!(
        events.properties["public_access_block"]["restrict_public_buckets"],
        true.into()
    );
    assert_eq!(events.properties["versioning"]["enabled"], true.into());
    assert_eq!(events.tags["stack"], "plan-storage");
    // ... and through known values.
    let exports = r("aws_s3_bucket.exports");
    assert_eq!(
        exports.properties["server_side_encryption"]["sse_algorithm"],
        "AES256".into()
    );
    assert_eq!(exports.properties["versioning"]["enabled"], false.into());
    // Security group rules from both split resource types.
    let workers = r("workers");
    let ingress = workers.properties["ingress"].as_array().unwrap();
    assert_eq!(ingress.len(), 2);
    assert_eq!(ingress[0]["from_port"], 22i64.into());
    assert_eq!(ingress[1]["cidr_blocks"][0], "0.0.0.0/0".into());
    // Actions, and unknowns that are not read as false.
    assert_eq!(r("aws_kms_key.exports").change, Change::Replace);
    assert_eq!(
        r("aws_kms_key.exports").properties["enable_key_rotation"],
        UNKNOWN.into()
    );
    assert_eq!(r("legacy").change, Change::Delete);
    assert_eq!(r("audit").change, Change::NoOp);
    assert_eq!(s.unmodelled, ["random_id.suffix (random_id)"]);
}

#[test]
fn a_plan_gets_exactly_the_expected_findings() {
    let report = check(&[root().join("fixtures/terraform/storage.plan.json")]);
    let want = set(&[
        // SSE-S3 in prod, and versioning suspended.
        ("aws_s3_bucket.exports", "TG-ENC-001", "rego"),
        ("aws_s3_bucket.exports", "TG-ENC-001", "cedar"),
        ("aws_s3_bucket.exports", "TG-BAK-002", "rego"),
        ("aws_s3_bucket.exports", "TG-BAK-002", "cedar"),
        // Rotation unknown until apply: not "false", but not "true" either — fails closed.
        ("aws_kms_key.exports", "TG-ENC-007", "rego"),
        ("aws_kms_key.exports", "TG-ENC-007", "cedar"),
        // The replacement deletes a prod key, and the delete removes a prod bucket: the CI
        // identity may not delete in prod.
        ("aws_kms_key.exports", "TG-AUTHZ-001", "cedar"),
        ("legacy", "TG-AUTHZ-001", "cedar"),
        // SSH and HTTPS from anywhere on a group that is not the edge.
        ("workers", "TG-NET-001", "rego"),
        ("workers", "TG-NET-001", "cedar"),
        ("workers", "TG-NET-002", "rego"),
        ("workers", "TG-NET-002", "cedar"),
        // A type Tollgate does not model, from another provider: an advisory coverage gap.
        ("random_id.suffix", "TG-COV-001", "tollgate"),
    ]);
    assert_eq!(findings(&report), want);
    let gap = report
        .findings
        .iter()
        .find(|f| f.policy == "TG-COV-001")
        .unwrap();
    assert!(!gap.fails(), "non-AWS gaps are advisory");
    assert_eq!(
        report
            .not_evaluated
            .iter()
            .filter(|n| n.contains("random_id"))
            .count(),
        1
    );
    let f = report
        .findings
        .iter()
        .find(|f| f.policy == "TG-NET-002")
        .unwrap();
    assert!(f.file.ends_with("storage.plan.json"));
    assert!(
        f.line.unwrap() > 100,
        "the line of the group's entry in the plan, got {:?}",
        f.line
    );
}

#[test]
fn unsupported_format_versions_and_unknown_actions_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(root().join("fixtures/terraform/storage.plan.json")).unwrap();
    let cases = [
        (
            text.replacen(
                "\"format_version\": \"1.2\"",
                "\"format_version\": \"2.0\"",
                1,
            ),
            "unsupported Terraform plan format_version `2.0`",
        ),
        (
            text.replacen("\"no-op\"", "\"explode\"", 1),
            "unknown plan actions [\"explode\"]",
        ),
    ];
    for (i, (broken, want)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("p{i}.json"));
        std::fs::write(&file, broken).unwrap();
        let err = load::load_estate(&[file], Registry::builtin()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(want), "{text}");
        assert!(text.contains(&format!("p{i}.json")), "{text}");
    }
}

/// Every single-stack violating fixture of the policy corpus, as the equivalent Terraform plan
/// (written by `fixtures/terraform/from_stack.py`: block lists, JSON-string policies, unknown
/// references, split S3 settings and security-group rules), gives the same findings.
#[test]
fn plans_and_their_stack_documents_give_the_same_findings() {
    let mut compared = 0;
    let mut differences = Vec::new();
    for entry in std::fs::read_dir(root().join("fixtures/terraform/equivalent")).unwrap() {
        let plan = entry.unwrap().path();
        let id = plan
            .file_name()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".plan.json")
            .to_string();
        let doc_dir = root().join("fixtures/policies").join(&id).join("violating");
        let from_doc = findings(&check(&[doc_dir]));
        let from_plan = findings(&check(std::slice::from_ref(&plan)));
        assert!(
            !from_doc.is_empty(),
            "{id}: the violating fixture has findings"
        );
        if from_doc != from_plan {
            differences.push(format!(
                "{id}: only from the document {:?}; only from the plan {:?}",
                from_doc.difference(&from_plan).collect::<Vec<_>>(),
                from_plan.difference(&from_doc).collect::<Vec<_>>()
            ));
        }
        compared += 1;
    }
    assert!(compared >= 30, "compared {compared} plans");
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// A plan that does not name its environment is fine when its stack document is checked with
/// it: the document's envelope (environment, budget, repository) is used.
#[test]
fn a_plan_checked_with_its_stack_document_takes_the_documents_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(root().join("fixtures/terraform/storage.plan.json")).unwrap();
    let text = text
        .replacen("\"environment\": {", "\"environment_unused\": {", 1)
        .replace("\"environment\": \"prod\",", "");
    std::fs::write(dir.path().join("plan.json"), text).unwrap();
    // Alone, the plan is judged the strict way: an unknown environment is prod, and says so.
    let alone = load::load_estate(&[dir.path().join("plan.json")], Registry::builtin()).unwrap();
    let env = alone.stacks[0].envelope.get("environment").unwrap();
    assert_eq!(alone.stacks[0].environment, "prod");
    assert!(
        env.defaulted && env.from.contains("judged as prod"),
        "{env:?}"
    );
    let doc = r#"{"stack": "plan-storage", "repository": "aws-eu-west-1-prod-plan-storage-main",
        "environment": "prod", "region": "eu-west-1", "account": "prod", "owner": "data-platform",
        "budget": {"monthly_limit_usd": 900, "alert_thresholds_pct": [80]}, "resources": []}"#;
    std::fs::write(dir.path().join("stack.json"), doc).unwrap();
    let estate = load::load_estate(&[dir.path().to_path_buf()], Registry::builtin()).unwrap();
    assert_eq!(estate.stacks.len(), 1);
    let s = &estate.stacks[0];
    assert_eq!(s.environment, "prod");
    assert_eq!(
        s.budget.as_ref().unwrap().monthly_limit_usd,
        900,
        "the document's budget"
    );
    assert_eq!(s.resources.len(), 7, "the plan's resources");
    assert!(s.source.file.ends_with("plan.json"));
    let env = s.envelope.get("environment").unwrap();
    assert!(
        !env.defaulted && env.from.starts_with("stack document"),
        "{env:?}"
    );
}
