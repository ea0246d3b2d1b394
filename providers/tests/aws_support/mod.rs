//! Shared by the S3, IAM, Organizations, Budgets and Config round-trip tests: documents built
//! like the stack loader builds them, and a field-by-field comparison of desired and live.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use serde_json::Value;
use tollgate_providers::{Desired, Live};

/// A resource as the apply path hands it to a provider.
pub fn desired(stack: &str, id: &str, type_name: &str, properties: Value, tags: Value) -> Desired {
    let tags: BTreeMap<String, String> = serde_json::from_value(tags).expect("tags are strings");
    Desired {
        stack: stack.to_owned(),
        id: id.to_owned(),
        type_name: type_name.to_owned(),
        properties,
        tags,
    }
}

/// Asserts that every field the desired document sets has the same value in the live one
/// (objects field by field, lists element by element and of the same length), skipping
/// `skip` top-level properties (write-only ones).
pub fn assert_matches(desired: &Value, live: &Value, skip: &[&str]) {
    let d = desired
        .as_object()
        .expect("desired properties are an object");
    for (k, v) in d {
        if skip.contains(&k.as_str()) {
            assert!(live.get(k).is_none(), "write-only `{k}` was read back");
            continue;
        }
        let l = live
            .get(k)
            .unwrap_or_else(|| panic!("live document lacks `{k}`: {live:#}"));
        subset(v, l, k);
    }
}

fn subset(d: &Value, l: &Value, path: &str) {
    match (d, l) {
        (Value::Object(d), Value::Object(_)) => {
            for (k, v) in d {
                let lv = l
                    .get(k)
                    .unwrap_or_else(|| panic!("live lacks `{path}.{k}`: {l:#}"));
                subset(v, lv, &format!("{path}.{k}"));
            }
        }
        (Value::Array(d), Value::Array(l)) => {
            assert_eq!(d.len(), l.len(), "`{path}` lengths differ: {d:?} vs {l:?}");
            for (i, (dv, lv)) in d.iter().zip(l).enumerate() {
                subset(dv, lv, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(d, l, "`{path}` differs"),
    }
}

/// Asserts the live tags are exactly the desired ones (the owner tag stripped).
pub fn assert_tags(desired: &Desired, live: &Live) {
    assert_eq!(live.tags, desired.tags, "tags differ");
}

/// A runtime for one test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// moto's `GetBucketVersioning` answers `<GetBucketVersioningResponse>` where S3 answers
/// `<VersioningConfiguration>`, and the Rust SDK rejects the root element. This test-only
/// interceptor turns that one rejected answer into the output S3 would have given, so the
/// provider (which speaks S3's real protocol) can be tested against moto. Product code has no
/// such workaround.
#[derive(Debug)]
pub struct MotoVersioningFix;

impl aws_smithy_runtime_api::client::interceptors::Intercept for MotoVersioningFix {
    fn name(&self) -> &'static str {
        "MotoVersioningFix"
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextMut<'_>,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        use aws_smithy_runtime_api::client::orchestrator::Metadata;
        if cfg.load::<Metadata>().map(Metadata::name) != Some("GetBucketVersioning") {
            return Ok(());
        }
        let Some(body) = context
            .response()
            .filter(|r| r.status().as_u16() == 200)
            .and_then(|r| r.body().bytes())
            .map(|b| String::from_utf8_lossy(b).into_owned())
        else {
            return Ok(());
        };
        if !body.contains("<GetBucketVersioningResponse") {
            return Ok(());
        }
        let status = body
            .split_once("<Status>")
            .and_then(|(_, rest)| rest.split_once("</Status>"))
            .map(|(s, _)| aws_sdk_s3::types::BucketVersioningStatus::from(s));
        let out =
            aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput::builder()
                .set_status(status)
                .build();
        if let Some(slot) = context.output_or_error_mut() {
            *slot = Ok(aws_smithy_runtime_api::client::interceptors::context::Output::erase(out));
        }
        Ok(())
    }
}

/// An S3 client for moto, with [`MotoVersioningFix`].
pub fn moto_s3(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .interceptor(MotoVersioningFix)
            .build(),
    )
}
