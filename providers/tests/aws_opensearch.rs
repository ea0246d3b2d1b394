//! `aws_opensearch_domain` against moto's server (create, describe, UpdateDomainConfig, tags,
//! delete), plus the bounded wait for a domain that keeps processing against a local server
//! speaking the OpenSearch REST-JSON protocol. moto 5.2.1 has no UpgradeDomain: an engine version
//! change is reported as not supported by the emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ec2_kms_support;

use std::time::{Duration, Instant};

use ec2_kms_support::{assert_gone, assert_live, desired, network, update};
use serde_json::json;
use tollgate_providers::aws::AwsClients;
use tollgate_providers::aws::opensearch::{self, OpenSearchProvider};
use tollgate_providers::{Desired, Provider, ProviderError, ProviderSet};
use tollgate_testkit::{Moto, sdk_config_for};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TAGS: &[(&str, &str)] = &[
    ("owner", "data-platform"),
    ("environment", "prod"),
    ("cost-center", "cc-data"),
    ("stack", "search"),
];

/// `catalogue-search` of stacks/search.json, references replaced by real ids and ARNs.
fn catalogue(key_arn: &str, subnets: &[String], sg: &str) -> Desired {
    let logs = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/opensearch/wer1-prod-catalogue";
    desired(
        "catalogue-search",
        "aws_opensearch_domain",
        json!({
            "domain_name": "wer1-prod-catalogue",
            "engine_version": "OpenSearch_2.17",
            "cluster_config": {
                "instance_type": "r6g.large.search",
                "instance_count": 3,
                "dedicated_master_enabled": false,
                "zone_awareness_enabled": true,
                "zone_awareness_config": {"availability_zone_count": 3}
            },
            "ebs_options": {"ebs_enabled": true, "volume_size": 200, "volume_type": "gp3",
                            "iops": 3000, "throughput": 125},
            "encrypt_at_rest": {"enabled": true, "kms_key_id": key_arn},
            "node_to_node_encryption": {"enabled": true},
            "domain_endpoint_options": {"enforce_https": true,
                                        "tls_security_policy": "Policy-Min-TLS-1-2-2019-07"},
            "vpc_options": {"subnet_ids": subnets, "security_group_ids": [sg]},
            "advanced_security_options": {
                "enabled": true, "anonymous_auth_enabled": false,
                "internal_user_database_enabled": false,
                "master_user_options": {"master_user_arn": "arn:aws:iam::123456789012:role/platform-admin"}
            },
            "log_publishing_options": [
                {"log_type": "ES_APPLICATION_LOGS", "cloudwatch_log_group_arn": format!("{logs}/application"), "enabled": true},
                {"log_type": "INDEX_SLOW_LOGS", "cloudwatch_log_group_arn": format!("{logs}/index-slow"), "enabled": true}
            ],
            "snapshot_options": {"automated_snapshot_start_hour": 3},
            "software_update_options": {"auto_software_update_enabled": true},
            "access_policies": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": ["es:ESHttpGet", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete", "es:ESHttpHead"],
                    "Resource": "arn:aws:es:eu-west-1:123456789012:domain/wer1-prod-catalogue/*"
                }]
            }
        }),
        TAGS,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domain_round_trip_against_moto() {
    let moto = Moto::start();
    let clients = AwsClients::from_sdk(moto.sdk_config());
    let mut set = ProviderSet::new();
    opensearch::register(&mut set, &clients);
    assert!(set.get("aws_opensearch_domain").is_some());
    let p = OpenSearchProvider::new(clients.opensearch.clone())
        .with_wait(Duration::from_secs(10), Duration::from_millis(50));

    let net = network(
        &clients,
        50,
        &["eu-west-1c", "eu-west-1a", "eu-west-1b"],
        &["wer1-prod-search"],
    )
    .await;
    let (subnets, sg, key_arn) = (net.subnets, net.security_groups[0].clone(), net.key_arn);

    let mut d = catalogue(&key_arn, &subnets, &sg);
    assert_eq!(p.find(&d).await.unwrap(), None);
    let h = p.create(&d).await.expect("create domain");
    assert_eq!(h.provider_id, "wer1-prod-catalogue");
    assert_eq!(
        h.reference, "arn:aws:es:eu-west-1:123456789012:domain/wer1-prod-catalogue",
        "references resolve to the ARN"
    );
    let live = assert_live(&p, &d, &h).await;
    assert!(
        live.properties["advanced_security_options"]
            .get("master_user_options")
            .is_none(),
        "the service never reports the master user"
    );
    assert_eq!(live.tags, d.tags);
    assert_eq!(p.find(&d).await.unwrap(), Some(h.clone()));

    // Another resource claiming the name is refused.
    let mut other = d.clone();
    other.id = "other".into();
    let err = p.find(&other).await.unwrap_err();
    assert!(
        err.to_string().contains("belongs to `t/catalogue-search`"),
        "{err}"
    );

    // In-place changes through UpdateDomainConfig: more nodes, bigger volumes, the slow log
    // switched off, a new access policy; tags.
    d.properties["cluster_config"]["instance_count"] = json!(6);
    d.properties["ebs_options"]["volume_size"] = json!(300);
    d.properties["log_publishing_options"]
        .as_array_mut()
        .unwrap()
        .pop();
    d.properties["access_policies"]["Statement"][0]["Action"] = json!(["es:ESHttpGet"]);
    d.properties["domain_endpoint_options"]["tls_security_policy"] =
        json!("Policy-Min-TLS-1-2-PFS-2023-10");
    d.tags.remove("cost-center");
    d.tags.insert("tier".into(), "search".into());
    let h2 = update(&p, &d, &h).await;
    assert_eq!(h2, h);

    // An engine upgrade needs UpgradeDomain, which moto lacks: it does not route the path and
    // answers 404 with an HTML page and no error code, which is reported as not supported (never
    // as "not found").
    d.properties["engine_version"] = json!("OpenSearch_2.19");
    let err = p
        .update(&d, &h, &["engine_version".into()])
        .await
        .unwrap_err();
    match &err {
        ProviderError::NotSupported { operation, .. } => assert_eq!(*operation, "UpgradeDomain"),
        other => panic!("{other:?}"),
    }
    assert!(!err.is_not_found(), "{err:?}");
    d.properties["engine_version"] = json!("OpenSearch_2.17");
    // The name cannot change in place.
    let err = p.update(&d, &h, &["domain_name".into()]).await.unwrap_err();
    assert!(err.to_string().contains("must be replaced"), "{err}");

    assert_gone(&p, "aws_opensearch_domain", &h).await;
    assert_eq!(p.find(&d).await.unwrap(), None);
}

#[tokio::test]
async fn unsupported_properties_are_refused_by_name() {
    let clients = AwsClients::from_sdk(sdk_config_for("http://127.0.0.1:9"));
    let p = OpenSearchProvider::new(clients.opensearch.clone());
    let mut d = catalogue(
        "arn:aws:kms:eu-west-1:1:key/k",
        &["subnet-1".into()],
        "sg-1",
    );
    d.properties["cognito_options"] = json!({"enabled": false});
    let err = p.create(&d).await.unwrap_err();
    assert!(err.to_string().contains("`cognito_options`"), "{err}");
    let mut d = catalogue(
        "arn:aws:kms:eu-west-1:1:key/k",
        &["subnet-1".into()],
        "sg-1",
    );
    d.properties["cluster_config"]["cold_storage_options"] = json!({"enabled": false});
    let err = p.create(&d).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("`cluster_config.cold_storage_options`"),
        "{err}"
    );
}

/// A domain that never finishes processing: the wait after create gives up at its bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_processing_is_bounded() {
    let server = MockServer::start().await;
    let status = json!({"DomainStatus": {
        "DomainId": "123456789012/wer1-prod-catalogue",
        "DomainName": "wer1-prod-catalogue",
        "ARN": "arn:aws:es:eu-west-1:123456789012:domain/wer1-prod-catalogue",
        "Created": true, "Deleted": false, "Processing": true,
        "ClusterConfig": {"InstanceType": "r6g.large.search", "InstanceCount": 3}
    }});
    Mock::given(method("POST"))
        .and(path("/2021-01-01/opensearch/domain"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(status.to_string(), "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/2021-01-01/opensearch/domain/wer1-prod-catalogue"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(status.to_string(), "application/json"),
        )
        .expect(2..)
        .mount(&server)
        .await;
    let clients = AwsClients::from_sdk(sdk_config_for(&server.uri()));
    let p = OpenSearchProvider::new(clients.opensearch.clone())
        .with_wait(Duration::from_secs(1), Duration::from_millis(100));
    let d = catalogue(
        "arn:aws:kms:eu-west-1:1:key/k",
        &["subnet-1".into()],
        "sg-1",
    );
    let started = Instant::now();
    let err = p.create(&d).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("waiting for domain `wer1-prod-catalogue` to finish processing"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}
