//! CloudFormation templates, JSON and YAML: short forms, intrinsic functions, split resources,
//! unknown values, the envelope, bad input, and the same findings as the equivalent stack
//! document.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns unwrap too

mod common;

use common::{check, findings, root, set};

use std::collections::BTreeSet;
use std::path::PathBuf;

use tollgate_engine::import::{InputFormat, SENSITIVE, UNKNOWN};
use tollgate_engine::load::{self, LoadErrorKind};
use tollgate_engine::model::{Estate, Origin, Resource};
use tollgate_engine::registry::Registry;

fn fixture(name: &str) -> PathBuf {
    root().join("fixtures/cloudformation").join(name)
}

fn load(paths: &[PathBuf]) -> Estate {
    load::load_estate(paths, Registry::builtin()).unwrap_or_else(|e| panic!("{e}"))
}

fn resource<'a>(estate: &'a Estate, id: &str) -> &'a Resource {
    estate.stacks[0]
        .resources
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no resource {id}"))
}

#[test]
fn a_json_template_is_read_into_the_model() {
    let estate = load(&[fixture("storage.template.json")]);
    assert_eq!(estate.stacks.len(), 1);
    let s = &estate.stacks[0];
    // The envelope from Metadata.Tollgate.
    assert_eq!(s.id, "cfn-storage");
    assert_eq!(s.environment, "prod");
    assert_eq!(s.region, "eu-west-1");
    assert_eq!(s.owner, "data-platform");
    assert_eq!(s.repository, "aws-eu-west-1-prod-cfn-storage-main");
    assert_eq!(s.budget.as_ref().unwrap().alert_thresholds_pct, [80, 100]);
    assert_eq!(s.origin, Origin::CloudFormation);
    let ids: Vec<&str> = s.resources.iter().map(|r| r.id.as_str()).collect();
    // The bucket policy and the separate ingress rule are folded away; the SSM parameter is
    // modelled (aws_ssm_parameter).
    assert_eq!(
        ids,
        [
            "ArchiveKey",
            "Events",
            "EventsKey",
            "EventsParameter",
            "Exports",
            "Workers"
        ]
    );
    assert!(s.unmodelled.is_empty(), "{:?}", s.unmodelled);

    let events = resource(&estate, "Events");
    assert_eq!(events.type_name, "aws_s3_bucket");
    // Fn::Join of a literal and a parameter's default.
    assert_eq!(events.properties["bucket"], "wer1-prod-events".into());
    // Fn::GetAtt to another resource: a same-stack reference and a dependency.
    let sse = &events.properties["server_side_encryption"];
    assert_eq!(sse["kms_key_id"], "${EventsKey}".into());
    assert_eq!(sse["sse_algorithm"], "aws:kms".into());
    assert_eq!(sse["bucket_key_enabled"], true.into());
    assert_eq!(events.depends_on, ["EventsKey"]);
    assert_eq!(events.references.len(), 1);
    assert_eq!(events.properties["versioning"]["enabled"], true.into());
    // A Number parameter's default, and a port-like string read as the integer it is.
    let rule = &events.properties["lifecycle_rule"][0];
    assert_eq!(rule["expiration_days"], 30i64.into());
    assert_eq!(rule["transition"][0]["days"], 7i64.into());
    // Tags: values from parameter defaults.
    assert_eq!(events.tags["environment"], "prod");
    assert_eq!(events.tags["cost-center"], "cc-data");
    // The line of the resource in the template.
    assert_eq!(events.position.line, 38);

    let exports = resource(&estate, "Exports");
    // Fn::Sub with a parameter.
    assert_eq!(exports.properties["bucket"], "wer1-prod-exports".into());
    assert_eq!(exports.properties["versioning"]["enabled"], false.into());
    // The BucketPolicy folded into its bucket; Fn::Sub naming a resource is unknown.
    let statement = &exports.properties["policy"]["Statement"][0];
    assert_eq!(statement["Effect"], "Deny".into());
    assert_eq!(statement["Resource"][0], UNKNOWN.into());

    // A parameter without a default: unknown, not false.
    let archive = resource(&estate, "ArchiveKey");
    assert_eq!(archive.properties["enable_key_rotation"], UNKNOWN.into());

    // Inline ingress plus the folded SecurityGroupIngress (string ports read as integers);
    // Fn::ImportValue is unknown.
    let workers = resource(&estate, "Workers");
    let ingress = workers.properties["ingress"].as_array().unwrap();
    assert_eq!(ingress.len(), 2);
    assert_eq!(ingress[0]["from_port"], 22i64.into());
    assert_eq!(ingress[1]["from_port"], 443i64.into());
    assert_eq!(ingress[1]["cidr_blocks"][0], "0.0.0.0/0".into());
    assert_eq!(workers.properties["vpc_id"], UNKNOWN.into());
    assert!(workers.depends_on.is_empty());
}

#[test]
fn a_json_template_gets_exactly_the_expected_findings() {
    let report = check(&[fixture("storage.template.json")]);
    let want = set(&[
        // SSE-S3 in prod, and versioning suspended.
        ("Exports", "TG-ENC-001", "rego"),
        ("Exports", "TG-ENC-001", "cedar"),
        ("Exports", "TG-BAK-002", "rego"),
        ("Exports", "TG-BAK-002", "cedar"),
        // Rotation decided at deploy time (a parameter without a default): fails closed.
        ("ArchiveKey", "TG-ENC-007", "rego"),
        ("ArchiveKey", "TG-ENC-007", "cedar"),
        // SSH inline and HTTPS through the separate ingress resource, both from anywhere.
        ("Workers", "TG-NET-001", "rego"),
        ("Workers", "TG-NET-001", "cedar"),
        ("Workers", "TG-NET-002", "rego"),
        ("Workers", "TG-NET-002", "cedar"),
        // The SSM parameter is modelled now, and carries no tags.
        ("EventsParameter", "TG-TAG-001", "rego"),
        ("EventsParameter", "TG-TAG-001", "cedar"),
    ]);
    assert_eq!(findings(&report), want);
    assert!(
        !report
            .not_evaluated
            .iter()
            .any(|n| n.contains("EventsParameter")),
        "{:?}",
        report.not_evaluated
    );
    let f = report
        .findings
        .iter()
        .find(|f| f.policy == "TG-NET-002")
        .unwrap();
    assert!(f.file.ends_with("storage.template.json"), "{}", f.file);
    assert_eq!(f.line, Some(138), "the line of `Workers` in the template");
}

#[test]
fn a_yaml_template_with_short_forms_is_read_into_the_model() {
    let estate = load(&[fixture("database.yaml")]);
    let s = &estate.stacks[0];
    assert_eq!(s.id, "cfn-database");
    assert_eq!(s.region, "eu-west-1");
    assert_eq!(s.account, "prod", "the environment when not given");
    assert!(s.unmodelled.is_empty(), "{:?}", s.unmodelled);
    assert_eq!(
        resource(&estate, "CpuAlarm").type_name,
        "aws_cloudwatch_metric_alarm"
    );

    let key = resource(&estate, "DbKey");
    // !Sub with a parameter default.
    assert_eq!(
        key.properties["description"],
        "prod orders database key".into()
    );
    assert_eq!(key.position.line, 38, "the line of the logical id");

    let orders = resource(&estate, "Orders");
    assert_eq!(orders.type_name, "aws_rds_cluster");
    assert_eq!(
        orders.properties["cluster_identifier"],
        "wer1-prod-orders".into()
    );
    // !GetAtt X.Attr and !Ref X: references.
    assert_eq!(orders.properties["kms_key_id"], "${DbKey}".into());
    assert_eq!(
        orders.properties["db_subnet_group_name"],
        "${DbSubnetGroup}".into()
    );
    assert_eq!(
        orders.properties["vpc_security_group_ids"][0],
        "${DbSg}".into()
    );
    assert_eq!(orders.depends_on, ["DbKey", "DbSg", "DbSubnetGroup"]);
    // !FindInMap and !If over the parameters' defaults are evaluated.
    assert_eq!(orders.properties["backup_retention_period"], 14i64.into());
    assert_eq!(orders.properties["deletion_protection"], true.into());
    // A quoted version stays text.
    assert_eq!(orders.properties["engine_version"], "15.4".into());

    // A DB instance in a cluster; its class from a parameter default.
    let writer = resource(&estate, "OrdersWriter");
    assert_eq!(writer.type_name, "aws_rds_cluster_instance");
    assert_eq!(writer.properties["instance_class"], "db.r6g.large".into());
    assert_eq!(writer.properties["cluster_identifier"], "${Orders}".into());

    // A CommaDelimitedList default is a list.
    let subnets = resource(&estate, "DbSubnetGroup");
    assert_eq!(subnets.properties["subnet_ids"][1], "subnet-0b2".into());

    // Three SecurityGroupIngress resources folded in: from another stack's group (unknown),
    // SSH with a numeric protocol, and the group itself (`self`, every protocol and port).
    let sg = resource(&estate, "DbSg");
    assert_eq!(sg.properties["name"], "wer1-prod-orders-db".into());
    let ingress = sg.properties["ingress"].as_array().unwrap();
    assert_eq!(ingress.len(), 3);
    assert_eq!(ingress[0]["security_groups"][0], UNKNOWN.into());
    assert_eq!(ingress[1]["protocol"], "tcp".into());
    assert_eq!(ingress[1]["cidr_blocks"][0], "10.0.0.0/16".into());
    assert_eq!(ingress[2]["self"], true.into());
    assert_eq!(ingress[2]["to_port"], 65535i64.into());
    assert!(
        sg.depends_on.is_empty(),
        "a group's own rules are no dependency"
    );

    // The bucket policy folded into its bucket.
    let audit = resource(&estate, "AuditLogs");
    assert_eq!(
        audit.properties["policy"]["Statement"][0]["Principal"]["Service"],
        "logging.s3.amazonaws.com".into()
    );
    assert_eq!(
        audit.properties["server_side_encryption"]["kms_key_id"],
        "${DbKey}".into()
    );

    // Inline IAM policies as documents.
    let exporter = resource(&estate, "Exporter");
    assert_eq!(
        exporter.properties["inline_policy"][0]["name"],
        "everything".into()
    );
    assert_eq!(
        exporter.properties["inline_policy"][0]["policy"]["Statement"][0]["Action"],
        "*".into()
    );
}

#[test]
fn a_yaml_template_gets_exactly_the_expected_findings() {
    let report = check(&[fixture("database.yaml")]);
    let want = set(&[
        // (Backup retention from !FindInMap over the defaults is 14 days: judged, and enough.)
        // A publicly accessible database instance.
        ("OrdersWriter", "TG-NET-003", "rego"),
        ("OrdersWriter", "TG-NET-003", "cedar"),
        // An alarm (modelled: nothing to judge but its tags, which it lacks).
        ("CpuAlarm", "TG-TAG-001", "rego"),
        ("CpuAlarm", "TG-TAG-001", "cedar"),
        // SSH from the VPC range (a folded SecurityGroupIngress).
        ("DbSg", "TG-NET-002", "rego"),
        ("DbSg", "TG-NET-002", "cedar"),
        // An inline policy allowing everything.
        ("Exporter", "TG-IAM-001", "rego"),
        ("Exporter", "TG-IAM-001", "cedar"),
        // A log group with no KMS key and no tags.
        ("DbLogs", "TG-ENC-008", "rego"),
        ("DbLogs", "TG-TAG-001", "rego"),
        ("DbLogs", "TG-TAG-001", "cedar"),
    ]);
    assert_eq!(findings(&report), want);
    let f = report
        .findings
        .iter()
        .find(|f| f.policy == "TG-NET-003")
        .unwrap();
    assert!(f.file.ends_with("database.yaml"), "{}", f.file);
    assert_eq!(f.line, Some(69), "the line of `OrdersWriter:`");
}

/// Templates written to match violating fixtures of the policy corpus give the same findings as
/// those stack documents. Logical ids are letters and digits, so ids are compared without `-`.
#[test]
fn templates_and_their_stack_documents_give_the_same_findings() {
    let mut compared = 0;
    for entry in std::fs::read_dir(fixture("equivalent")).unwrap() {
        let template = entry.unwrap().path();
        let id = template.file_stem().unwrap().to_string_lossy().to_string();
        let doc_dir = root().join("fixtures/policies").join(&id).join("violating");
        let normalise = |set: BTreeSet<(String, String, String)>| -> BTreeSet<_> {
            set.into_iter()
                .map(|(r, p, e)| (r.replace(['-', '_'], ""), p, e))
                .collect()
        };
        let from_doc = normalise(findings(&check(&[doc_dir])));
        let from_template = normalise(findings(&check(std::slice::from_ref(&template))));
        assert!(
            !from_doc.is_empty(),
            "{id}: the violating fixture has findings"
        );
        assert!(
            from_doc.iter().any(|(_, p, _)| *p == id),
            "{id}: the fixture violates its policy"
        );
        assert_eq!(from_doc, from_template, "{}", template.display());
        compared += 1;
    }
    assert!(compared >= 2, "compared {compared} templates");
}

/// Bad input: exit 2 material, never a panic — each names the file, a line and (for intrinsic
/// functions) the JSON path.
#[test]
fn broken_templates_are_bad_input_with_file_line_and_path() {
    struct Case {
        file: &'static str,
        kind: LoadErrorKind,
        message: &'static str,
        line: usize,
        path: Option<&'static str>,
    }
    let cases = [
        Case {
            file: "ref-not-a-string.json",
            kind: LoadErrorKind::Shape,
            message: "Ref takes the name of a parameter, resource or pseudo parameter (a string), got a number",
            line: 8,
            path: Some("$.Resources.Key.Properties.Description.Ref"),
        },
        Case {
            file: "getatt-without-attribute.json",
            kind: LoadErrorKind::Shape,
            message: "Fn::GetAtt takes [LogicalId, Attribute] or \"LogicalId.Attribute\", got \"Key\" (no attribute)",
            line: 13,
            path: Some(
                "$.Resources.Logs.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID.Fn::GetAtt",
            ),
        },
        Case {
            file: "function-beside-other-keys.json",
            kind: LoadErrorKind::Shape,
            message: "`Ref` is an intrinsic function and must be the only key of its object (found `Comment` beside it)",
            line: 9,
            path: Some("$.Resources.Alias.Properties.TargetKeyId"),
        },
        Case {
            file: "sub-not-a-string.yaml",
            kind: LoadErrorKind::Shape,
            message: "Fn::Sub takes a string or [String, {Name: Value, …}], got a mapping",
            line: 6,
            path: Some("$.Resources.Logs.Properties.LogGroupName.Fn::Sub"),
        },
        Case {
            file: "ref-to-nothing.yaml",
            kind: LoadErrorKind::MissingReference,
            message: "Ref to `OrdersKey`, which is not a parameter, resource or pseudo parameter of this template",
            line: 9,
            path: Some("$.Resources.Queue.Properties.KmsMasterKeyId.Ref"),
        },
        Case {
            file: "sub-names-nothing.yaml",
            kind: LoadErrorKind::MissingReference,
            message: "Fn::Sub names `${Stage}`",
            line: 6,
            path: Some("$.Resources.Topic.Properties.TopicName.Fn::Sub"),
        },
        Case {
            file: "duplicate-key.json",
            kind: LoadErrorKind::Syntax,
            message: "duplicate key `StorageEncrypted` in one object",
            line: 9,
            path: Some("$.Resources.Db.Properties"),
        },
        Case {
            file: "duplicate-key.yaml",
            kind: LoadErrorKind::Syntax,
            message: "duplicate key `StorageEncrypted` in one mapping",
            line: 8,
            path: Some("$.Resources.Db.Properties"),
        },
        Case {
            file: "syntax-error.yaml",
            kind: LoadErrorKind::Syntax,
            message: "YAML: ",
            line: 7,
            path: None,
        },
        Case {
            file: "unknown-tag.yaml",
            kind: LoadErrorKind::Syntax,
            message: "unknown YAML tag `!Reff`",
            line: 6,
            path: None,
        },
        Case {
            file: "wrong-property-type.yaml",
            kind: LoadErrorKind::Schema,
            message: "AWS::KMS::Key `Key` (as aws_kms_key): enable_key_rotation: expected a boolean, got a string",
            line: 3,
            path: Some("$.Resources.Key.Properties"),
        },
        Case {
            file: "depends-on-nothing.json",
            kind: LoadErrorKind::MissingReference,
            message: "DependsOn names `Topic`, which is not a resource of this template",
            line: 6,
            path: Some("$.Resources.Queue.DependsOn[0]"),
        },
        Case {
            file: "not-a-template.yaml",
            kind: LoadErrorKind::Shape,
            message: "not a CloudFormation template: it has no `Resources` section",
            line: 1,
            path: Some("$"),
        },
    ];
    for c in cases {
        let file = fixture("bad").join(c.file);
        let err =
            load::load_estate(std::slice::from_ref(&file), Registry::builtin()).expect_err(c.file);
        let text = err.to_string();
        assert_eq!(err.0.len(), 1, "{text}");
        let e = &err.0[0];
        assert_eq!(e.kind, c.kind, "{text}");
        assert!(e.message.contains(c.message), "{}: {text}", c.file);
        assert_eq!(e.position.map(|p| p.line), Some(c.line), "{text}");
        if let Some(path) = c.path {
            assert_eq!(e.path.as_deref(), Some(path), "{text}");
        }
        assert!(
            text.starts_with(&format!("{}:{}:", file.display(), c.line)),
            "the message names the file and the line: {text}"
        );
    }
}

#[test]
fn a_template_without_environment_or_region_is_completed_by_its_stack_document() {
    // Alone, it is judged the strict way (issue 9: no Tollgate-specific metadata required): an
    // unknown environment is prod, the region stays unknown, and the envelope says so.
    let alone = fixture("bad/no-environment.yaml");
    let estate = load::load_estate(std::slice::from_ref(&alone), Registry::builtin()).unwrap();
    let s = &estate.stacks[0];
    assert_eq!(s.id, "no-environment");
    assert_eq!(s.environment, "prod");
    assert_eq!(s.region, "");
    let env = s.envelope.get("environment").unwrap();
    assert!(env.defaulted, "{env:?}");
    assert!(env.from.contains("judged as prod"), "{env:?}");
    assert!(s.envelope.get("region").unwrap().defaulted);

    // With the stack document of the same id, the document gives the envelope and the template
    // the resources.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&alone, dir.path().join("orders.yaml")).unwrap();
    std::fs::write(
        dir.path().join("orders.json"),
        r#"{"stack": "orders", "repository": "orders-main", "environment": "prod",
            "region": "eu-west-1", "account": "prod", "owner": "data-platform",
            "budget": {"monthly_limit_usd": 100, "alert_thresholds_pct": [80]},
            "resources": [{"id": "old", "type": "aws_sqs_queue", "properties": {"name": "old"}}]}"#,
    )
    .unwrap();
    let estate = load(&[dir.path().to_path_buf()]);
    assert_eq!(estate.stacks.len(), 1);
    let s = &estate.stacks[0];
    assert_eq!((s.id.as_str(), s.environment.as_str()), ("orders", "prod"));
    assert_eq!(s.repository, "orders-main");
    assert_eq!(s.origin, Origin::CloudFormation);
    let ids: Vec<&str> = s.resources.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["Queue"]);
    assert!(s.source.file.ends_with("orders.yaml"));
}

#[test]
fn directories_pick_up_yaml_templates_and_leave_other_yaml_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("database.yaml"), dir.path().join("database.yml")).unwrap();
    std::fs::copy(
        fixture("bad/not-a-template.yaml"),
        dir.path().join("configmap.yaml"),
    )
    .unwrap();
    std::fs::copy(
        fixture("storage.template.json"),
        dir.path().join("storage.template"),
    )
    .unwrap();
    let files = load::expand_paths(&[dir.path().to_path_buf()]).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, ["database.yml", "storage.template"]);
    let estate = load(&[dir.path().to_path_buf()]);
    let ids: Vec<&str> = estate.stacks.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["cfn-database", "cfn-storage"]);
}

#[test]
fn detection_and_explicit_format() {
    let dir = tempfile::tempdir().unwrap();
    // JSON without AWSTemplateFormatVersion: detected by its `AWS::` types.
    let text = r#"{
  "Metadata": {"Tollgate": {"stack": "tiny", "environment": "dev", "region": "eu-west-1"}},
  "Parameters": {"Secret": {"Type": "String", "NoEcho": true, "Default": "hunter2"}},
  "Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q", "KmsMasterKeyId": {"Ref": "Secret"}, "DelaySeconds": {"Ref": "AWS::NoValue"}}}}
}"#;
    let file = dir.path().join("tiny.json");
    std::fs::write(&file, text).unwrap();
    let estate = load(std::slice::from_ref(&file));
    let q = &estate.stacks[0].resources[0];
    // NoEcho parameters are never read.
    assert_eq!(q.properties["kms_master_key_id"], SENSITIVE.into());
    // AWS::NoValue removes the property.
    assert_eq!(q.properties["delay_seconds"], regorus::Value::Undefined);
    // The same file read with the format given.
    let estate =
        load::load_estate_as(&[file], Registry::builtin(), InputFormat::CloudFormation).unwrap();
    assert_eq!(estate.stacks[0].id, "tiny");
}

/// The other mapped types, each read into the registry's attributes (the schema is checked on
/// every template read), with the findings a policy gives them.
#[test]
fn every_mapped_type_is_read_into_registry_attributes() {
    let estate = load(&[fixture("platform.yaml")]);
    let s = &estate.stacks[0];
    assert_eq!(s.depends_on, ["networking"]);
    // The runner's second EBS volume is not read: a coverage gap on the instance, which is
    // still modelled and judged on its root volume.
    assert_eq!(
        s.unmodelled
            .iter()
            .map(|u| (u.address.as_str(), u.attribute.as_deref()))
            .collect::<Vec<_>>(),
        [("Runner", Some("BlockDeviceMappings"))]
    );
    let types: BTreeSet<&str> = s.resources.iter().map(|r| r.type_name.as_str()).collect();
    assert_eq!(types.len(), 22, "{types:?}");
    let r = |id: &str| resource(&estate, id);
    // EKS: private endpoint, envelope encryption, log types from Logging.ClusterLogging.
    let cluster = &r("Cluster").properties;
    assert_eq!(
        cluster["vpc_config"]["endpoint_public_access"],
        false.into()
    );
    assert_eq!(cluster["vpc_config"]["subnet_ids"][0], "subnet-1".into());
    assert_eq!(
        cluster["encryption_config"]["provider"]["key_arn"],
        "${LogsKey}".into()
    );
    assert_eq!(
        cluster["enabled_cluster_log_types"][2],
        "authenticator".into()
    );
    // EC2: the root volume (not the first mapping), the primary interface, IMDSv2.
    let runner = &r("Runner").properties;
    assert_eq!(runner["root_block_device"]["encrypted"], true.into());
    assert_eq!(runner["root_block_device"]["volume_size"], 30i64.into());
    assert_eq!(runner["associate_public_ip_address"], false.into());
    assert_eq!(runner["subnet_id"], "${PublicSubnet}".into());
    assert_eq!(runner["metadata_options"]["http_tokens"], "required".into());
    // Launch templates: tags from TagSpecifications.
    let template = r("NodeTemplate");
    assert_eq!(
        template.properties["network_interfaces"][0]["device_index"],
        0i64.into()
    );
    assert_eq!(template.tags["stack"], "cfn-platform");
    // OpenSearch: log publishing options, a mapping by log type, become a list.
    let search = &r("Search").properties;
    assert_eq!(
        search["log_publishing_options"][0]["log_type"],
        "AUDIT_LOGS".into()
    );
    assert_eq!(search["encrypt_at_rest"]["enabled"], true.into());
    assert_eq!(
        search["domain_endpoint_options"]["enforce_https"],
        true.into()
    );
    // ElastiCache: log destinations.
    let cache = &r("Cache").properties;
    assert_eq!(
        cache["log_delivery_configuration"][0]["destination"],
        "${AppLogs}".into()
    );
    assert_eq!(cache["transit_encryption_enabled"], true.into());
    // IAM: a policy document written as a JSON string, a numeric string read as a number, and
    // an AWS::IAM::Policy folded into its role.
    let node_role = &r("NodeRole").properties;
    assert_eq!(
        node_role["assume_role_policy"]["Statement"][0]["Principal"]["Service"],
        "ec2.amazonaws.com".into()
    );
    assert_eq!(node_role["max_session_duration"], 3600i64.into());
    assert_eq!(node_role["inline_policy"][0]["name"], "read-logs".into());
    // Queue and topic policies folded into their queue and topic.
    assert_eq!(
        r("Jobs").properties["policy"]["Statement"][0]["Action"],
        "sqs:SendMessage".into()
    );
    assert_eq!(
        r("Events").properties["policy"]["Statement"][0]["Principal"]["AWS"],
        UNKNOWN.into()
    );
    // Flow logs name their VPC; !Select / !Cidr / !GetAZs are unknown.
    assert_eq!(r("FlowLogs").properties["vpc_id"], "${Vpc}".into());
    assert_eq!(r("PublicSubnet").properties["cidr_block"], UNKNOWN.into());
    assert_eq!(r("Vpc").properties["enable_dns_hostnames"], true.into());
    // Tags written as a mapping (EKS node groups); Lambda variables as strings.
    assert_eq!(r("Nodes").tags["owner"], "platform");
    assert_eq!(
        r("Worker").properties["environment"]["variables"]["RETRIES"],
        "3".into()
    );
    assert_eq!(r("NodeProfile").properties["role"], "${NodeRole}".into());

    let report = check(&[fixture("platform.yaml")]);
    // CloudFormation cannot tag instance profiles or managed policies; the tagging rule says so.
    // The template names no repository, so TG-ENV-001 cannot check its environment: a finding.
    let want = set(&[
        ("", "TG-ENV-001", "rego"),
        ("NodeProfile", "TG-TAG-001", "rego"),
        ("NodeProfile", "TG-TAG-001", "cedar"),
        ("ReadOnly", "TG-TAG-001", "rego"),
        ("ReadOnly", "TG-TAG-001", "cedar"),
        // The runner's second volume is not read: a coverage gap until mapped or waived.
        ("Runner", "TG-COV-003", "tollgate"),
    ]);
    assert_eq!(findings(&report), want);
}

/// Damaged templates — cut at every character, or with bytes replaced — are errors or stacks,
/// never a panic.
#[test]
fn damaged_templates_never_panic() {
    use tollgate_engine::import::cloudformation::parse_template;
    for name in ["database.yaml", "storage.template.json"] {
        let file = fixture(name);
        let text = std::fs::read_to_string(&file).unwrap();
        for (cut, _) in text.char_indices() {
            let _ = parse_template(&file, &text[..cut], Registry::builtin());
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    #[test]
    fn templates_with_replaced_bytes_never_panic(
        edits in proptest::collection::vec((0usize..8192, proptest::sample::select(
            &[b'{', b'}', b'[', b']', b':', b'-', b'!', b'&', b'*', b'"', b'\n', b' ', b'$', b'x'][..]
        )), 1..6),
        yaml in proptest::bool::ANY,
    ) {
        use tollgate_engine::import::cloudformation::parse_template;
        let file = fixture(if yaml { "database.yaml" } else { "storage.template.json" });
        let mut bytes = std::fs::read(&file).unwrap();
        for (at, b) in edits {
            let at = at % bytes.len();
            bytes[at] = b;
        }
        if let Ok(text) = String::from_utf8(bytes) {
            let _ = parse_template(&file, &text, Registry::builtin());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Templates as AWS writes them (fixtures/cloudformation/as-aws-writes/): each reproduces the
// shape of a class of public templates the importer refused or misread.
// ---------------------------------------------------------------------------------------------

/// A template read alone, before the envelope is completed (environment and region may be empty).
fn parse(name: &str) -> tollgate_engine::model::Stack {
    let file = fixture("as-aws-writes").join(name);
    let text = std::fs::read_to_string(&file).unwrap();
    tollgate_engine::import::cloudformation::parse_template(&file, &text, Registry::builtin())
        .unwrap_or_else(|e| {
            panic!(
                "{}",
                e.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
}

/// What the stack lists as not evaluated, as the reports show it.
fn notes(s: &tollgate_engine::model::Stack) -> Vec<String> {
    s.unmodelled.iter().map(|u| u.to_string()).collect()
}

fn parse_err(path: &std::path::Path) -> Vec<tollgate_engine::load::LoadError> {
    let text = std::fs::read_to_string(path).unwrap();
    tollgate_engine::import::cloudformation::parse_template(path, &text, Registry::builtin())
        .expect_err("refused")
}

fn get<'a>(s: &'a tollgate_engine::model::Stack, id: &str) -> &'a Resource {
    s.resources.iter().find(|r| r.id == id).unwrap_or_else(|| {
        panic!(
            "no resource {id}: {:?}",
            s.resources.iter().map(|r| &r.id).collect::<Vec<_>>()
        )
    })
}

#[test]
fn sam_templates_are_judged_as_the_resources_sam_generates() {
    let s = parse("sam-globals.yaml");
    // The environment from the `Environment` parameter's default; the stack id from the file.
    assert_eq!(s.environment, "staging");
    assert_eq!(s.id, "sam-globals");
    let f = get(&s, "OrdersFunction");
    assert_eq!(f.type_name, "aws_lambda_function");
    // Globals merged under the function's own values: scalars from Globals, mappings merged.
    assert_eq!(f.properties["runtime"], "python3.12".into());
    assert_eq!(f.properties["timeout"], 10i64.into());
    assert_eq!(f.properties["memory_size"], 512i64.into());
    assert_eq!(f.properties["tracing_config"]["mode"], "Active".into());
    assert_eq!(
        f.properties["environment"]["variables"]["STAGE"],
        "staging".into()
    );
    // A Ref to the table: a reference when its type is modelled, else unknown.
    let table = &f.properties["environment"]["variables"]["TABLE"];
    assert!(
        *table == "${OrdersTable}".into() || *table == UNKNOWN.into(),
        "{table}"
    );
    assert_eq!(f.properties["s3_bucket"], "artifacts-bucket".into());
    assert_eq!(f.tags["team"], "orders");
    // SAM's execution role, with the policy document from `Policies`.
    assert_eq!(f.properties["role"], "${OrdersFunctionRole}".into());
    let role = get(&s, "OrdersFunctionRole");
    assert_eq!(role.type_name, "aws_iam_role");
    let text = serde_json::to_string(&role.properties).unwrap();
    assert!(text.contains("lambda.amazonaws.com"), "{text}");
    assert!(
        text.contains(r#""Action":"*""#),
        "the inline document is judged: {text}"
    );
    // IgnoreGlobals: no tracing from Globals; its own role, so no generated one.
    let legacy = get(&s, "LegacyFunction");
    assert_eq!(
        legacy.properties["tracing_config"],
        regorus::Value::Undefined
    );
    assert_eq!(legacy.properties["runtime"], "nodejs20.x".into());
    assert!(!s.resources.iter().any(|r| r.id == "LegacyFunctionRole"));
    // What SAM generates and Tollgate does not model is said, not dropped.
    let unmodelled = notes(&s).join("\n");
    assert!(
        unmodelled.contains("OrdersFunction (AWS::Serverless::Function: the event sources"),
        "{unmodelled}"
    );
    assert!(unmodelled.contains("OrdersFunctionRole (AWS::IAM::Role: SAM policy template DynamoDBCrudPolicy not evaluated)"), "{unmodelled}");
    // The API and its stage, and the table, under the names SAM gives them (modelled when the
    // registry has their types, else listed as such).
    for (id, cfn) in [
        ("OrdersApi", "AWS::ApiGateway::RestApi"),
        ("OrdersApiStage", "AWS::ApiGateway::Stage"),
        ("OrdersTable", "AWS::DynamoDB::Table"),
    ] {
        let modelled = s.resources.iter().any(|r| r.id == id);
        let listed = notes(&s)
            .iter()
            .any(|u| u.starts_with(&format!("{id} ({cfn}")));
        assert!(modelled ^ listed, "{id}: {unmodelled}");
    }
}

#[test]
fn language_extensions_loops_are_expanded() {
    let s = parse("language-extensions.yaml");
    let orders = get(&s, "ordersQueue");
    assert_eq!(orders.type_name, "aws_sqs_queue");
    assert_eq!(orders.properties["name"], "orders-queue".into());
    // Fn::FindInMap: found for orders, the DefaultValue for payments.
    assert_eq!(orders.properties["message_retention_seconds"], 14i64.into());
    let payments = get(&s, "paymentsQueue");
    assert_eq!(
        payments.properties["message_retention_seconds"],
        4i64.into()
    );
    assert_eq!(payments.tags["topic"], "payments");
    assert_eq!(payments.tags["topics"], "3");
    let registry = get(&s, "Registry");
    assert_eq!(
        registry.properties["display_name"],
        r#"{"queues":["orders","payments"]}"#.into()
    );
    // A loop over a parameter with no default cannot be expanded: it is said.
    assert!(
        notes(&s).iter().any(|u| u.starts_with(
            "Resources.Fn::ForEach::PerOwner (Fn::ForEach: over a collection known only at deploy"
        )),
        "{:?}",
        s.unmodelled
    );
}

#[test]
fn intrinsics_over_literals_and_defaults_are_evaluated_and_the_rest_is_unknown() {
    let s = parse("intrinsics.yaml");
    let web = get(&s, "Web");
    assert_eq!(web.properties["description"], "web-prod".into());
    let ingress = &web.properties["ingress"];
    let cidr = |i: usize| ingress[i]["cidr_blocks"][0].clone();
    // Fn::Select over Fn::Split of a default.
    assert_eq!(cidr(0), "10.1.0.0/16".into());
    // Fn::If decided by a condition on a default.
    assert_eq!(cidr(1), "10.9.0.0/16".into());
    // A parameter without a default is unknown, and so is a condition on it — unless both
    // branches agree.
    assert_eq!(cidr(2), UNKNOWN.into());
    assert_eq!(cidr(3), "10.0.0.0/8".into());
    assert_eq!(web.tags["retention"], "30");
    assert_eq!(web.tags["zone"], UNKNOWN);
    assert_eq!(web.tags["secret"], SENSITIVE);
    // `AWS::Region` is unknown unless the template says its region.
    assert_eq!(web.tags["name"], UNKNOWN);
    // A resource whose condition is false with the defaults is not deployed with them: listed.
    assert!(!s.resources.iter().any(|r| r.id == "DevOnly"));
    assert!(
        notes(&s).contains(&"DevOnly (AWS::SQS::Queue: its condition `IsDev` is false with the parameters' defaults)".to_owned()),
        "{:?}",
        s.unmodelled
    );
    let always = get(&s, "Always");
    assert_eq!(always.properties["name"], "always-queue".into());
}

#[test]
fn custom_resources_may_carry_a_version_and_getazs_may_be_bare() {
    let s = parse("custom-resource-version.json");
    assert_eq!(s.unmodelled, ["AmiLookup (Custom::AmiLookup)"]);
    assert_eq!(get(&s, "Queue").properties["name"], "q-a".into());
    // Bare `!GetAZs` in YAML is null: the current region.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("azs.yaml");
    std::fs::write(
        &file,
        "Resources:\n  Net:\n    Type: AWS::EC2::Subnet\n    Properties:\n      VpcId: vpc-1\n      CidrBlock: 10.0.0.0/24\n      AvailabilityZone: !Select [0, !GetAZs ]\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let s =
        tollgate_engine::import::cloudformation::parse_template(&file, &text, Registry::builtin())
            .unwrap();
    assert_eq!(s.resources.len(), 1);
}

#[test]
fn yaml_merge_keys_are_expanded_and_quoted_ones_are_keys() {
    let s = parse("merge-keys.yaml");
    let orders = get(&s, "Orders");
    assert_eq!(orders.properties["message_retention_seconds"], 60i64.into());
    // The mapping's own key wins over the merged one.
    assert_eq!(
        orders.properties["visibility_timeout_seconds"],
        90i64.into()
    );
    let err = parse_err(&fixture("bad/merge-key-scalar.yaml"));
    assert!(
        err[0].message.contains(
            "a YAML merge key (`<<`) takes a mapping or a list of mappings, got a string"
        ),
        "{}",
        err[0]
    );
    assert_eq!(err[0].position.map(|p| p.line), Some(6));
}

#[test]
fn preprocessor_inputs_are_refused_saying_what_they_are() {
    for (file, says, line) in [
        (
            "bad/rain-module.yaml",
            "`!Rain::Module` is a Rain directive",
            4,
        ),
        (
            "bad/rain-module.json",
            "`Rain::Module` is a Rain directive",
            5,
        ),
        ("bad/macro.yaml", "`Transform: Count` names a macro", 2),
        (
            "bad/include.yaml",
            "Fn::Transform runs the macro `AWS::Include`",
            6,
        ),
        (
            "bad/registry-module.yaml",
            "`My::S3::Bucket::MODULE` is a CloudFormation module",
            5,
        ),
    ] {
        let path = fixture(file);
        let err = load::load_estate(std::slice::from_ref(&path), Registry::builtin()).unwrap_err();
        let text = err.to_string();
        assert_eq!(err.0.len(), 1, "{text}");
        assert!(text.contains(says), "{file}: {text}");
        assert!(
            text.contains("not CloudFormation") || text.contains("cannot judge"),
            "{text}"
        );
        assert_eq!(err.0[0].position.map(|p| p.line), Some(line), "{text}");
    }
    let err = parse_err(&fixture("bad/condition-cycle.yaml"));
    assert!(err[0].message.contains("depends on itself"), "{}", err[0]);
}

#[test]
fn a_small_template_cannot_expand_past_the_alias_byte_bound() {
    use tollgate_engine::import::cloudformation::MAX_ALIAS_BYTES;
    // Few nodes, many bytes: a 60 KB string copied by a ladder of aliases (24 GB expanded).
    let mut text = format!(
        "AWSTemplateFormatVersion: \"2010-09-09\"\nMetadata:\n  s0: &s0 \"{}\"\n",
        "x".repeat(60_000)
    );
    for i in 1..8 {
        let p = i - 1;
        text.push_str(&format!(
            "  s{i}: &s{i} [*s{p}, *s{p}, *s{p}, *s{p}, *s{p}, *s{p}, *s{p}, *s{p}, *s{p}, *s{p}]\n"
        ));
    }
    text.push_str("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n");
    assert!(text.len() < 70_000);
    let file = PathBuf::from("bomb.yaml");
    let err =
        tollgate_engine::import::cloudformation::parse_template(&file, &text, Registry::builtin())
            .unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].kind, LoadErrorKind::Syntax);
    assert!(
        err[0]
            .message
            .contains(&format!("more than {} MiB", MAX_ALIAS_BYTES >> 20)),
        "{}",
        err[0]
    );
    // Within the bound, aliases are copies like any YAML tool makes.
    let ok = "AWSTemplateFormatVersion: \"2010-09-09\"\nMetadata:\n  n: &n orders\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: *n\n";
    let s = tollgate_engine::import::cloudformation::parse_template(&file, ok, Registry::builtin())
        .unwrap();
    assert_eq!(s.resources[0].properties["name"], "orders".into());
}

#[test]
fn deploy_time_tags_and_loops_are_said_not_refused() {
    let s = parse("deploy-time-shapes.yaml");
    let topic = get(&s, "Topic");
    // `! "orders"` is the string; the tag an unknown condition chooses is not known.
    assert_eq!(topic.properties["name"], "orders".into());
    assert_eq!(topic.tags.len(), 1, "{:?}", topic.tags);
    assert_eq!(topic.tags["team"], "orders");
    assert!(
        notes(&s).iter().any(|u| u.starts_with(
            "Resources.Fn::ForEach::Queues (Fn::ForEach: over a collection known only at deploy"
        )),
        "{:?}",
        s.unmodelled
    );
}

#[test]
fn policies_attached_by_arn_and_a_users_inline_policies_are_judged() {
    // AWS::IAM::Role / ::User ManagedPolicyArns and ::User Policies were TG-COV-003 gaps (65
    // roles in aws-cloudformation-templates attach policies by ARN): now the IAM rules read them.
    let report = check(&[fixture("iam/admin-by-arn.yaml")]);
    let admin: BTreeSet<(String, String)> = findings(&report)
        .into_iter()
        .filter(|(_, policy, _)| policy == "TG-IAM-001")
        .map(|(resource, _, engine)| (resource, engine))
        .collect();
    let want: BTreeSet<(String, String)> = ["WorkerRole", "Deployer", "Operator"]
        .iter()
        .flat_map(|r| {
            [
                (r.to_string(), "rego".to_owned()),
                (r.to_string(), "cedar".to_owned()),
            ]
        })
        .collect();
    assert_eq!(admin, want, "{:?}", report.findings);
    assert!(
        !report.findings.iter().any(|f| f.policy == "TG-COV-003"),
        "{:?}",
        report.findings
    );
}
