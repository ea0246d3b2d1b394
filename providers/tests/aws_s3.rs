//! `aws_s3_bucket` against moto's server: create → read back equals desired → update → read →
//! delete → gone; find after create; the errors a provider reports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aws_support;

use aws_support::{assert_matches, assert_tags, desired};
use serde_json::json;
use tollgate_providers::aws::AwsClients;
use tollgate_providers::aws::s3::S3BucketProvider;
use tollgate_providers::{Provider, ProviderError};
use tollgate_testkit::Moto;

const KEY_ARN: &str = "arn:aws:kms:eu-west-1:123456789012:key/0b7c6a4e-1f7d-4c3e-9b65-3c1f1b2f7e11";

/// The `config-bucket` resource of stacks/governance.json, `${config-key}` resolved by hand.
fn config_bucket(name: &str) -> serde_json::Value {
    json!({
        "bucket": name,
        "server_side_encryption": {"sse_algorithm": "aws:kms", "kms_key_id": KEY_ARN, "bucket_key_enabled": true},
        "public_access_block": {"block_public_acls": true, "block_public_policy": true,
                                "ignore_public_acls": true, "restrict_public_buckets": true},
        "versioning": {"enabled": true},
        "lifecycle_rule": [{"id": "transition-and-expire", "enabled": true, "prefix": "AWSLogs/",
            "transition": [{"days": 90, "storage_class": "GLACIER_IR"}],
            "expiration_days": 2555, "noncurrent_version_expiration_days": 90,
            "abort_incomplete_multipart_upload_days": 7}],
        "object_ownership": "BucketOwnerEnforced",
        "policy": {"Version": "2012-10-17", "Statement": [
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}},
             "Resource": [format!("arn:aws:s3:::{name}"), format!("arn:aws:s3:::{name}/*")]},
            {"Sid": "DenyUnencryptedUploads", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": format!("arn:aws:s3:::{name}/*"),
             "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}}}]}
    })
}

fn tags() -> serde_json::Value {
    json!({"owner": "security", "environment": "prod", "cost-center": "cc-security", "stack": "governance"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_round_trip() {
    let moto = Moto::start();
    let clients = AwsClients::from_sdk(moto.sdk_config());
    let p = S3BucketProvider::new(aws_support::moto_s3(&clients.sdk));
    let d = desired(
        "governance",
        "config-bucket",
        "aws_s3_bucket",
        config_bucket("wer1-root-aws-config"),
        tags(),
    );

    assert_eq!(
        p.find(&d).await.unwrap(),
        None,
        "nothing to find before create"
    );
    let h = p.create(&d).await.unwrap();
    assert_eq!(
        h.reference, "wer1-root-aws-config",
        "references resolve to the bucket name"
    );
    assert_eq!(h.attributes["arn"], "arn:aws:s3:::wer1-root-aws-config");

    let live = p
        .read("aws_s3_bucket", &h)
        .await
        .unwrap()
        .expect("bucket exists");
    assert_matches(&d.properties, &live.properties, &[]);
    assert_tags(&d, &live);
    assert_eq!(
        p.find(&d).await.unwrap(),
        Some(h.clone()),
        "find adopts our own bucket"
    );

    // Update: shorter retention, versioning suspended, no policy, one more tag.
    let mut props = d.properties.clone();
    props["lifecycle_rule"][0]["expiration_days"] = json!(400);
    props["lifecycle_rule"][0]["transition"] =
        json!([{"days": 30, "storage_class": "STANDARD_IA"}]);
    props["versioning"] = json!({"enabled": false});
    props.as_object_mut().unwrap().remove("policy");
    let mut t = tags();
    t["data-class"] = json!("internal");
    let d2 = desired("governance", "config-bucket", "aws_s3_bucket", props, t);
    let changed: Vec<String> = ["lifecycle_rule", "versioning", "policy", "tags"]
        .map(String::from)
        .to_vec();
    p.update(&d2, &h, &changed).await.unwrap();
    let live = p
        .read("aws_s3_bucket", &h)
        .await
        .unwrap()
        .expect("bucket exists");
    assert_matches(&d2.properties, &live.properties, &[]);
    assert!(
        live.properties.get("policy").is_none(),
        "the dropped policy is deleted"
    );
    assert_eq!(live.properties["lifecycle_rule"][0]["expiration_days"], 400);
    assert_tags(&d2, &live);

    p.delete("aws_s3_bucket", &h).await.unwrap();
    assert_eq!(p.read("aws_s3_bucket", &h).await.unwrap(), None);
    p.delete("aws_s3_bucket", &h)
        .await
        .expect("deleting a deleted bucket succeeds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_without_encryption_or_block_reads_them_as_absent() {
    let moto = Moto::start();
    let p = S3BucketProvider::new(aws_support::moto_s3(&moto.sdk_config()));
    let d = desired(
        "storage",
        "plain",
        "aws_s3_bucket",
        json!({"bucket": "wer1-plain"}),
        json!({}),
    );
    let h = p.create(&d).await.unwrap();
    let live = p.read("aws_s3_bucket", &h).await.unwrap().unwrap();
    // moto answers 404 before a put (MOTO.md): no section is invented.
    assert!(live.properties.get("server_side_encryption").is_none());
    assert!(live.properties.get("public_access_block").is_none());
    assert_eq!(live.properties["versioning"], json!({"enabled": false}));
    assert!(
        live.tags.is_empty(),
        "only the owner tag was written, and it is stripped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_errors_name_the_call_and_the_owner() {
    let moto = Moto::start();
    let p = S3BucketProvider::new(aws_support::moto_s3(&moto.sdk_config()));
    let d = desired(
        "storage",
        "logs",
        "aws_s3_bucket",
        json!({"bucket": "wer1-logs"}),
        tags(),
    );
    p.create(&d).await.unwrap();

    // A second create of the same name: the service's refusal, with the call named.
    let err = p.create(&d).await.unwrap_err();
    match &err {
        ProviderError::Api {
            operation, status, ..
        } => {
            assert_eq!(*operation, "CreateBucket");
            assert_eq!(*status, Some(409), "{err}");
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    assert!(err.to_string().starts_with("s3 CreateBucket: "), "{err}");

    // Another resource claiming the same bucket name is refused by find.
    let other = desired(
        "storage",
        "other-logs",
        "aws_s3_bucket",
        json!({"bucket": "wer1-logs"}),
        tags(),
    );
    let err = p.find(&other).await.unwrap_err();
    assert!(matches!(err, ProviderError::Invalid { .. }), "{err:?}");
    assert!(
        err.to_string().contains("belongs to `storage/logs`"),
        "{err}"
    );

    // A bad document names the property.
    let bad = desired(
        "storage",
        "bad",
        "aws_s3_bucket",
        json!({"bucket": "wer1-bad", "lifecycle_rule": [{"id": "x", "expiration_days": "soon"}]}),
        json!({}),
    );
    let err = p.create(&bad).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("lifecycle_rule[0].expiration_days"),
        "{err}"
    );
}
