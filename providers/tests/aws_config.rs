//! AWS Config against moto's server: recorder, delivery channel and managed rules — create →
//! read back equals desired → update → read → delete → gone; find after create; errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aws_support;

use aws_support::{assert_matches, assert_tags, desired};
use serde_json::json;
use tollgate_providers::aws::AwsClients;
use tollgate_providers::aws::config::ConfigProvider;
use tollgate_providers::{Provider, ProviderError};
use tollgate_testkit::Moto;

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/wer1-root-aws-config";
const KEY_ARN: &str = "arn:aws:kms:eu-west-1:123456789012:key/0b7c6a4e-1f7d-4c3e-9b65-3c1f1b2f7e11";
const TOPIC_ARN: &str = "arn:aws:sns:eu-west-1:123456789012:wer1-config";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorder_channel_and_rule_round_trip() {
    let moto = Moto::start();
    let clients = AwsClients::from_sdk(moto.sdk_config());
    clients
        .s3
        .create_bucket()
        .bucket("wer1-root-aws-config")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let p = ConfigProvider::new(clients.config.clone());

    // `config-recorder` of stacks/governance.json, `${config-role}` resolved, without its
    // `recording_mode`: moto's server drops it (PutConfigurationRecorder ignores it and
    // DescribeConfigurationRecorders never returns it), so it cannot be read back here.
    let rec = desired(
        "governance",
        "config-recorder",
        "aws_config_configuration_recorder",
        json!({
        "name": "wer1-root", "role_arn": ROLE_ARN,
        "recording_group": {"all_supported": true, "include_global_resource_types": true}}),
        json!({}),
    );
    assert_eq!(p.find(&rec).await.unwrap(), None);
    let rh = p.create(&rec).await.unwrap();
    let live = p
        .read("aws_config_configuration_recorder", &rh)
        .await
        .unwrap()
        .unwrap();
    assert_matches(&rec.properties, &live.properties, &[]);
    assert_eq!(p.find(&rec).await.unwrap(), Some(rh.clone()));
    let mut rec2 = rec.clone();
    rec2.properties["recording_group"]["include_global_resource_types"] = json!(false);
    p.update(&rec2, &rh, &["recording_group".to_owned()])
        .await
        .unwrap();
    let live = p
        .read("aws_config_configuration_recorder", &rh)
        .await
        .unwrap()
        .unwrap();
    assert_matches(&rec2.properties, &live.properties, &[]);

    // `config-delivery`, references resolved to the bucket name, key and topic ARNs.
    let ch = desired(
        "governance",
        "config-delivery",
        "aws_config_delivery_channel",
        json!({
        "name": "wer1-root", "s3_bucket_name": "wer1-root-aws-config", "s3_key_prefix": "AWSLogs",
        "s3_kms_key_arn": KEY_ARN, "sns_topic_arn": TOPIC_ARN,
        "snapshot_delivery_properties": {"delivery_frequency": "TwentyFour_Hours"}}),
        json!({}),
    );
    let chh = p.create(&ch).await.unwrap();
    let live = p
        .read("aws_config_delivery_channel", &chh)
        .await
        .unwrap()
        .unwrap();
    assert_matches(&ch.properties, &live.properties, &[]);
    assert_eq!(p.find(&ch).await.unwrap(), Some(chh.clone()));
    let mut ch2 = ch.clone();
    ch2.properties["snapshot_delivery_properties"]["delivery_frequency"] = json!("Six_Hours");
    ch2.properties["s3_key_prefix"] = json!("config");
    p.update(
        &ch2,
        &chh,
        &[
            "snapshot_delivery_properties".to_owned(),
            "s3_key_prefix".to_owned(),
        ],
    )
    .await
    .unwrap();
    let live = p
        .read("aws_config_delivery_channel", &chh)
        .await
        .unwrap()
        .unwrap();
    assert_matches(&ch2.properties, &live.properties, &[]);

    // `rule-vpc-flow-logs-enabled` (input parameters) with the governance tags.
    let tags = json!({"owner": "security", "environment": "prod", "cost-center": "cc-security", "stack": "governance"});
    let rule = desired(
        "governance",
        "rule-vpc-flow-logs-enabled",
        "aws_config_config_rule",
        json!({
        "name": "wer1-vpc-flow-logs-enabled", "description": "VPCs have flow logs",
        "source": {"owner": "AWS", "source_identifier": "VPC_FLOW_LOGS_ENABLED"},
        "input_parameters": {"trafficType": "ALL"}}),
        tags,
    );
    let ruh = p.create(&rule).await.unwrap();
    let live = p
        .read("aws_config_config_rule", &ruh)
        .await
        .unwrap()
        .unwrap();
    assert_matches(&rule.properties, &live.properties, &[]);
    assert_tags(&rule, &live);
    assert_eq!(
        p.find(&rule).await.unwrap().map(|h| h.provider_id),
        Some(ruh.provider_id.clone())
    );
    let mut rule2 = rule.clone();
    rule2.properties["description"] = json!("Every VPC logs all traffic");
    rule2.properties["scope"] = json!({"compliance_resource_types": ["AWS::EC2::VPC"]});
    rule2.tags.insert("reviewed".into(), "2026-11".into());
    rule2.tags.remove("cost-center");
    p.update(
        &rule2,
        &ruh,
        &[
            "description".to_owned(),
            "scope".to_owned(),
            "tags".to_owned(),
        ],
    )
    .await
    .unwrap();
    let live = p
        .read("aws_config_config_rule", &ruh)
        .await
        .unwrap()
        .unwrap();
    assert_matches(&rule2.properties, &live.properties, &[]);
    assert_tags(&rule2, &live);

    // Deletes, in reverse order; second deletes succeed.
    for (t, h) in [
        ("aws_config_config_rule", &ruh),
        ("aws_config_delivery_channel", &chh),
        ("aws_config_configuration_recorder", &rh),
    ] {
        p.delete(t, h).await.unwrap();
        assert_eq!(p.read(t, h).await.unwrap(), None, "{t} is gone");
        p.delete(t, h).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_without_recorder_and_custom_rules_are_refused() {
    let moto = Moto::start();
    let p = ConfigProvider::new(AwsClients::from_sdk(moto.sdk_config()).config);
    let ch = desired(
        "governance",
        "config-delivery",
        "aws_config_delivery_channel",
        json!({"name": "wer1-root", "s3_bucket_name": "wer1-root-aws-config"}),
        json!({}),
    );
    let err = p.create(&ch).await.unwrap_err();
    match &err {
        ProviderError::Api {
            operation, code, ..
        } => {
            assert_eq!(*operation, "PutDeliveryChannel");
            assert_eq!(
                code.as_deref(),
                Some("NoAvailableConfigurationRecorderException"),
                "{err}"
            );
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    let custom = desired(
        "governance",
        "custom",
        "aws_config_config_rule",
        json!({
        "name": "wer1-custom", "source": {"owner": "CUSTOM_LAMBDA", "source_identifier": "arn:aws:lambda:eu-west-1:1:function:x"}}),
        json!({}),
    );
    let err = p.create(&custom).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Invalid { .. })
            && err.to_string().contains("only AWS-managed rules"),
        "{err}"
    );
}
