//! Terraform plans as Terraform and its users write them (issue 9 items 1–3, issue 10 classes 2
//! and 3, issue 11 item 7): every format version, UTF-16, states, planned values only, split
//! resources linked through modules, conditionals, locals and indices, computed attributes,
//! deletes of split settings, and the edges of the plan reader. Each fixture under
//! fixtures/terraform/shapes/ is ours, written to reproduce a shape found in public plans.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns unwrap too

mod common;

use std::path::PathBuf;

use common::{check, root};
use regorus::Value;
use tollgate_engine::import::UNKNOWN;
use tollgate_engine::load::{self, LoadErrorKind};
use tollgate_engine::model::{Change, Stack};
use tollgate_engine::registry::Registry;

fn shape(name: &str) -> PathBuf {
    root().join("fixtures/terraform/shapes").join(name)
}

fn load_one(name: &str) -> Stack {
    let mut estate = load::load_estate(&[shape(name)], Registry::builtin())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(estate.stacks.len(), 1);
    estate.stacks.remove(0)
}

fn resource<'a>(s: &'a Stack, id: &str) -> &'a tollgate_engine::model::Resource {
    s.resources.iter().find(|r| r.id == id).unwrap_or_else(|| {
        panic!(
            "no resource {id} in {:?}",
            s.resources.iter().map(|r| &r.id).collect::<Vec<_>>()
        )
    })
}

fn load_text(text: &str) -> Result<Stack, load::LoadErrors> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    std::fs::write(&file, text).unwrap();
    load::load_estate(&[file], Registry::builtin()).map(|mut e| e.stacks.remove(0))
}

#[test]
fn format_0_1_plans_read_the_same_fields_and_inline_bucket_settings() {
    let s = load_one("format-0.1.plan.json");
    let b = resource(&s, "logs");
    assert_eq!(b.change, Change::Create);
    assert_eq!(b.properties["versioning"]["enabled"], Value::from(true));
    assert_eq!(
        b.properties["server_side_encryption"]["sse_algorithm"],
        Value::from("AES256"),
        "inline server_side_encryption_configuration is read like the split resource"
    );
    // Region through the provider's `var.aws_region`.
    assert_eq!(s.region, "us-east-2");
    assert!(
        s.envelope
            .get("region")
            .unwrap()
            .from
            .contains("variable `aws_region`")
    );
}

#[test]
fn utf16_plans_with_a_byte_order_mark_are_decoded() {
    let a = load_one("format-0.1.plan.json");
    let b = load_one("utf16.plan.json");
    assert_eq!(
        format!("{:?}", a.resources[0].properties),
        format!("{:?}", b.resources[0].properties)
    );
    // A stack document is ours: UTF-16 is refused, and says so.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stack.json");
    let doc = r#"{"stack": "s", "repository": "r", "environment": "dev", "region": "eu-west-1", "account": "dev", "owner": "o", "resources": []}"#;
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(doc.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(&file, bytes).unwrap();
    let err = load::load_estate(&[file], Registry::builtin()).unwrap_err();
    assert!(err.to_string().contains("UTF-16"), "{err}");
    // Broken UTF-16 names UTF-16 and the byte.
    let file = dir.path().join("broken.plan.json");
    std::fs::write(&file, [0xFF, 0xFE, b'{', 0, 0x00, 0xD8, b'}']).unwrap();
    let err = load::load_estate(&[file], Registry::builtin()).unwrap_err();
    assert!(err.to_string().contains("UTF-16"), "{err}");
}

#[test]
fn a_state_is_judged_from_its_values() {
    let s = load_one("state.json");
    let ids: Vec<&str> = s.resources.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        ["module.data.this", "web"],
        "child modules read, data sources not"
    );
    let web = resource(&s, "web");
    assert_eq!(web.change, Change::NoOp, "a state is what exists");
    assert_eq!(web.properties["ingress"][0]["from_port"], Value::from(3389));
    let report = check(&[shape("state.json")]);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.resource.as_deref() == Some("web") && f.fails()),
        "RDP open to the world in a state fails: {:?}",
        report.findings
    );
}

#[test]
fn a_plan_with_only_planned_values_is_judged_from_them() {
    let s = load_one("planned-only.plan.json");
    assert_eq!(s.resources.len(), 1);
    assert_eq!(s.resources[0].change, Change::Create);
    let report = check(&[shape("planned-only.plan.json")]);
    assert_eq!(report.summary.resources, 1, "never 0 resources");
    assert!(
        report.findings.iter().any(|f| f.fails()),
        "SSH from the world fails: {:?}",
        report.findings
    );
}

#[test]
fn split_resources_are_linked_the_way_terraform_links_them() {
    let s = load_one("links.plan.json");
    let pab = |id: &str| resource(&s, id).properties["public_access_block"].clone();
    // A conditional over the bucket policy and the bucket (terraform-aws-modules/s3-bucket).
    assert_eq!(
        pab("module.logs.this[0]")["block_public_policy"],
        Value::from(true)
    );
    assert!(matches!(
        resource(&s, "module.logs.this[0]").properties["policy"],
        Value::Object(_)
    ));
    // A module output.
    assert_eq!(
        resource(&s, "module.store.this[0]").properties["versioning"]["enabled"],
        Value::from(true)
    );
    // for_each: each block its own bucket.
    assert_eq!(
        pab(r#"each["a"]"#)["block_public_policy"],
        Value::from(true)
    );
    assert_eq!(
        pab(r#"each["b"]"#)["block_public_policy"],
        Value::from(false)
    );
    // A local value: the one bucket created in its module.
    assert_eq!(
        resource(&s, "module.archive.this").properties["server_side_encryption"]["kms_key_id"],
        Value::from("alias/archive")
    );
    // A module input.
    let web = resource(&s, "web");
    assert_eq!(web.properties["ingress"][0]["from_port"], Value::from(443));
    assert_eq!(
        web.properties["egress"],
        Value::Undefined,
        "computed and not configured: absent, not unknown"
    );
    // Outside the plan: listed, not refused.
    assert_eq!(s.unmodelled.len(), 1, "{:?}", s.unmodelled);
    assert!(
        s.unmodelled[0].to_string().starts_with("aws_security_group_rule.shared (aws_security_group_rule: the aws_security_group it configures is not in this plan)"),
        "{:?}",
        s.unmodelled
    );
    let report = check(&[shape("links.plan.json")]);
    assert!(
        report
            .not_evaluated
            .iter()
            .any(|n| n.contains("aws_security_group_rule.shared")),
        "{:?}",
        report.not_evaluated
    );
}

#[test]
fn computed_attributes_the_configuration_never_sets_are_absent_not_unknown() {
    let s = load_one("computed.plan.json");
    let app = resource(&s, "app");
    assert_eq!(app.properties["inline_policy"], Value::Undefined);
    assert!(matches!(
        app.properties["assume_role_policy"],
        Value::Object(_)
    ));
    let ci = resource(&s, "ci");
    assert_eq!(
        ci.properties["assume_role_policy"],
        Value::from(UNKNOWN),
        "set by the configuration from a value known only at apply: unknown"
    );
    assert_eq!(ci.properties["inline_policy"], Value::Undefined);
    let report = check(&[shape("computed.plan.json")]);
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.resource.as_deref() == Some("app") && f.fails()),
        "the new role with a computed inline_policy passes: {:?}",
        report.findings
    );
}

#[test]
fn deleting_a_split_resource_folds_the_setting_away() {
    let s = load_one("split-deletes.plan.json");
    let events = resource(&s, "events");
    assert_eq!(events.change, Change::Update);
    assert_eq!(events.properties["public_access_block"], Value::Undefined);
    assert_eq!(
        events.properties["server_side_encryption"],
        Value::Undefined,
        "the inline copy from the state does not survive the delete"
    );
    let web = resource(&s, "web");
    assert_eq!(
        web.properties["ingress"],
        Value::from(Vec::<Value>::new()),
        "the deleted rule leaves the group's list"
    );
    let report = check(&[shape("split-deletes.plan.json")]);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.resource.as_deref() == Some("events") && f.fails()),
        "a bucket losing its public access block fails: {:?}",
        report.findings
    );
}

#[test]
fn two_split_resources_setting_one_setting_are_an_input_error() {
    let err =
        load::load_estate(&[shape("split-twice.plan.json")], Registry::builtin()).unwrap_err();
    assert_eq!(err.0.len(), 1, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("both configure the public_access_block of aws_s3_bucket.events"),
        "{text}"
    );
    assert!(text.contains("split-twice.plan.json:"), "{text}");
}

const BASE: &str = r#"{"format_version": "1.2", "variables": {"environment": {"value": "dev"}},
"resource_changes": [
 {"address": "aws_sqs_queue.q", "mode": "managed", "type": "aws_sqs_queue", "name": "q",
  "change": {"actions": ["create"], "before": null, "after": {"name": "q", "tags": {"owner": "o"}}, "after_unknown": {}}}
]}"#;

#[test]
fn plan_reader_edges_are_judged_or_refused_with_their_place() {
    assert!(load_text(BASE).is_ok());
    let cases = [
        (
            BASE.replace(r#"["create"]"#, r#"["read"]"#),
            "plan action `read` on the managed resource aws_sqs_queue.q",
            "$.resource_changes[0].change.actions",
        ),
        (
            BASE.replace(r#""address": "aws_sqs_queue.q""#, r#""address": """#),
            "empty address",
            "$.resource_changes[0].address",
        ),
        (
            BASE.replace(r#"{"owner": "o"}"#, r#"{"owner": "o", "owner": "p"}"#),
            "duplicate tag `owner`",
            "$.resource_changes[0].change.after",
        ),
        (
            BASE.replace(r#"{"owner": "o"}"#, r#"{"owner": null, "owner": "p"}"#),
            "duplicate tag `owner`",
            "$.resource_changes[0].change.after",
        ),
        (
            BASE.replace(
                r#""name": "q", "tags""#,
                r#""name": null, "name": "q", "tags""#,
            ),
            "duplicate key `name`",
            "$.resource_changes[0].change.after",
        ),
    ];
    for (text, want, path) in cases {
        let err = load_text(&text).unwrap_err();
        let e = &err.0[0];
        assert!(e.message.contains(want), "{want}: {err}");
        assert!(
            e.path.as_deref().unwrap_or("").starts_with(path),
            "{want}: {err}"
        );
        assert!(e.position.is_some(), "{want}: {err}");
    }
    // Two entries with one address.
    let entry = &BASE[BASE.find(r#" {"address""#).unwrap()..BASE.rfind(']').unwrap()];
    let twice = BASE.replacen(entry, &format!("{},\n{}", entry.trim_end(), entry), 1);
    let err = load_text(&twice).unwrap_err();
    assert_eq!(err.0[0].kind, LoadErrorKind::DuplicateId, "{err}");
    assert!(
        err.to_string()
            .contains("two entries for one resource address `aws_sqs_queue.q`")
    );
    assert!(
        err.to_string().contains("$.resource_changes[1].address"),
        "{err}"
    );
    // `forget` is listed as not evaluated, never dropped.
    let s = load_text(&BASE.replace(r#"["create"]"#, r#"["forget"]"#)).unwrap();
    assert!(s.resources.is_empty());
    assert_eq!(
        s.unmodelled,
        ["aws_sqs_queue.q (aws_sqs_queue: forgotten by Terraform, left in the cloud)"]
    );
    // A state file without values, a file without anything to read: refused saying so.
    let err = load_text(r#"{"format_version": "1.0", "terraform_version": "1.5.0"}"#).unwrap_err();
    assert!(
        err.to_string().contains("not a Terraform plan or state"),
        "{err}"
    );
}

#[test]
fn the_envelope_comes_from_the_plan_or_the_strict_default_and_says_where() {
    let s = load_text(BASE).unwrap();
    assert_eq!(s.environment, "dev");
    assert_eq!(
        s.envelope.get("environment").unwrap().from,
        "plan variable `environment`"
    );
    let s = load_text(&BASE.replace("\"environment\"", "\"unrelated\"")).unwrap();
    assert_eq!(s.environment, "prod");
    assert!(s.envelope.get("environment").unwrap().defaulted);
    assert_eq!(s.account, "prod");
    assert_eq!(s.id, "plan", "the file's name");
    let report = check(&[shape("computed.plan.json"), shape("state.json")]);
    let note = report.envelope_note.clone().unwrap();
    assert!(
        note.contains("environment of state: judged as prod"),
        "{note}"
    );
    assert!(
        !note.contains("environment of computed"),
        "computed says its environment: {note}"
    );
    let json = serde_json::to_value(&report).unwrap();
    let state = json["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stack"] == "state")
        .unwrap();
    assert_eq!(state["envelope"]["environment"]["value"], "prod");
    assert!(
        state["envelope"]["environment"]["from"]
            .as_str()
            .unwrap()
            .contains("strict default")
    );
}

#[test]
fn flags_and_tollgate_toml_give_the_envelope_in_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    std::fs::create_dir_all(repo.join("envs/staging")).unwrap();
    let plan = repo.join("envs/staging/tfplan.json");
    std::fs::write(&plan, BASE.replace("\"environment\"", "\"unrelated\"")).unwrap();
    std::fs::write(
        repo.join("tollgate.toml"),
        r#"
[[envelope]]
paths = ["envs/staging/**"]
stack = "orders"
environment = "staging"

[[envelope]]
owner = "team-orders"
region = "eu-west-1"
"#,
    )
    .unwrap();
    let options = |given: tollgate_engine::envelope::Given| load::LoadOptions {
        format: tollgate_engine::import::InputFormat::Auto,
        envelope: given,
    };
    let estate = load::load_estate_with(
        std::slice::from_ref(&plan),
        Registry::builtin(),
        &options(Default::default()),
    )
    .unwrap();
    let s = &estate.stacks[0];
    assert_eq!(
        (
            s.id.as_str(),
            s.environment.as_str(),
            s.owner.as_str(),
            s.region.as_str()
        ),
        ("orders", "staging", "team-orders", "eu-west-1")
    );
    assert!(
        s.envelope
            .get("environment")
            .unwrap()
            .from
            .ends_with("tollgate.toml")
    );
    // Flags beat the file.
    let estate = load::load_estate_with(
        std::slice::from_ref(&plan),
        Registry::builtin(),
        &options(tollgate_engine::envelope::Given {
            environment: Some("dev".into()),
            ..Default::default()
        }),
    )
    .unwrap();
    let s = &estate.stacks[0];
    assert_eq!(s.environment, "dev");
    assert_eq!(
        s.envelope.get("environment").unwrap().from,
        "flag --environment"
    );
    // A bad file is an error naming it and the key.
    std::fs::write(
        repo.join("tollgate.toml"),
        "[[envelope]]\nenviroment = \"dev\"\n",
    )
    .unwrap();
    let err = load::load_estate(std::slice::from_ref(&plan), Registry::builtin()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("tollgate.toml"), "{text}");
    assert!(text.contains("enviroment"), "{text}");
    std::fs::write(repo.join("tollgate.toml"), "[[envelope]\n").unwrap();
    let err = load::load_estate(std::slice::from_ref(&plan), Registry::builtin()).unwrap_err();
    assert!(err.to_string().contains("tollgate.toml:1:"), "{err}");
    // The JSON spelling.
    std::fs::remove_file(repo.join("tollgate.toml")).unwrap();
    std::fs::write(
        repo.join("tollgate.json"),
        r#"{"envelope": [{"paths": ["envs/**"], "environment": "qa"}]}"#,
    )
    .unwrap();
    let estate = load::load_estate(std::slice::from_ref(&plan), Registry::builtin()).unwrap();
    assert_eq!(estate.stacks[0].environment, "qa");
}

#[test]
fn the_providers_older_alb_names_are_judged_as_the_lb_types() {
    // aws_alb_listener / aws_alb_target_group are the AWS provider's aliases of aws_lb_*: in
    // public plans (terraform-compliance's) they were left unjudged.
    let s = load_one("alb-aliases.plan.json");
    assert_eq!(
        resource(&s, "aws_alb_listener.http").type_name,
        "aws_lb_listener"
    );
    assert_eq!(
        resource(&s, "aws_alb_target_group.web").type_name,
        "aws_lb_target_group"
    );
    let report = check(&[shape("alb-aliases.plan.json")]);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.resource.as_deref() == Some("aws_alb_listener.http")
                && f.policy == "TG-ENC-013"
                && f.fails()),
        "the HTTP listener that forwards is caught: {:?}",
        report.findings
    );
}

#[test]
fn the_providers_string_flags_are_read_as_the_flags_they_mean() {
    // The AWS provider types aws_launch_template's ebs.encrypted, delete_on_termination and
    // associate_public_ip_address as strings ("true", "false", "" for unset): a real plan has
    // them so, and was refused as "expected a boolean, got a string".
    let s = load_one("launch-template-strings.plan.json");
    let lt = resource(&s, "web");
    let maps = &lt.properties["block_device_mappings"];
    assert_eq!(maps[0]["ebs"]["encrypted"], Value::from(true));
    assert_eq!(maps[1]["ebs"]["encrypted"], Value::from(false));
    assert_eq!(
        maps[0]["ebs"]["delete_on_termination"],
        Value::Undefined,
        "\"\" is unset"
    );
    assert_eq!(
        lt.properties["network_interfaces"][0]["associate_public_ip_address"],
        Value::from(false)
    );
    let report = check(&[shape("launch-template-strings.plan.json")]);
    let failing: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.resource.as_deref() == Some("web") && f.fails())
        .map(|f| f.policy.as_str())
        .collect();
    assert!(failing.contains(&"TG-ENC-005"), "{failing:?}");
    // Cedar's half of TG-ENC-005 tests only instances and volumes: its silence on a launch
    // template is not a disagreement.
    assert!(
        !report.findings.iter().any(|f| f.policy == "TG-MIRROR-001"),
        "{:?}",
        report.findings
    );
}

#[test]
fn inline_policies_with_a_data_service_wildcard_fail_in_both_engines() {
    // From Checkov's test plans: aws_iam_role_policy / aws_iam_user_policy with s3:* on * passed
    // TG-IAM-003, whose resource types left the inline policies out.
    let report = check(&[shape("inline-sensitive-wildcards.plan.json")]);
    let got: std::collections::BTreeSet<(String, String)> = common::findings(&report)
        .into_iter()
        .filter(|(_, policy, _)| policy == "TG-IAM-003")
        .map(|(resource, _, engine)| (resource, engine))
        .collect();
    let want: std::collections::BTreeSet<(String, String)> = ["app", "ops"]
        .iter()
        .flat_map(|r| {
            [
                (r.to_string(), "rego".to_owned()),
                (r.to_string(), "cedar".to_owned()),
            ]
        })
        .collect();
    assert_eq!(got, want, "{:?}", report.findings);
}

#[test]
fn an_environment_tollgate_does_not_recognise_is_prod_in_both_engines() {
    // From Checkov's test plans (environment "corp"): Cedar's half of TG-ENC-011 compared the
    // environment's spelling with "prod" while Rego judged it as prod, so the halves disagreed
    // (a TG-MIRROR-001 error) instead of both failing the repository.
    let report = check(&[shape("unrecognised-environment.plan.json")]);
    let engines: Vec<String> = common::findings(&report)
        .into_iter()
        .filter(|(r, policy, _)| r == "repository" && policy == "TG-ENC-011")
        .map(|(_, _, engine)| engine)
        .collect();
    assert_eq!(engines, ["cedar", "rego"], "{:?}", report.findings);
    assert!(
        !report.findings.iter().any(|f| f.policy == "TG-MIRROR-001"),
        "{:?}",
        report.findings
    );
}
