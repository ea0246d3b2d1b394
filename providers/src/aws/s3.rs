//! `aws_s3_bucket`: a bucket with its encryption, public access block, versioning, lifecycle
//! rules, object ownership, bucket policy and tags folded into one document, as the stack files
//! and the importers write it.
//!
//! Create makes the bucket and then puts each configuration the document has. Update puts the
//! sections named as changed, and removes a section that the document no longer has (a lifecycle
//! or policy dropped from the document is deleted; versioning can only be suspended). Read builds
//! the document back from the bucket's sub-resources; a configuration the bucket has never had
//! (GET answers 404 or `NoSuch…`) is left out of the document. Deleting a bucket that still holds
//! objects fails with S3's `BucketNotEmpty`: Tollgate never empties a bucket by itself.

use std::collections::BTreeMap;

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    BucketVersioningStatus, CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration,
    LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, Transition, TransitionStorageClass, VersioningConfiguration,
};
use serde_json::Value;

use super::doc::{
    Obj, build_error, changed, check_owner, field_bool, field_str, invalid, json_doc, opt_str,
    owner_of, parse_policy, without_owner,
};
use crate::provider::{Desired, Handle, Live, Provider, ProviderError, sdk_error};

const SERVICE: &str = "s3";
const TYPE: &str = "aws_s3_bucket";

/// The S3 bucket provider.
#[derive(Debug, Clone)]
pub struct S3BucketProvider {
    client: aws_sdk_s3::Client,
}

impl S3BucketProvider {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }

    fn handle(bucket: &str) -> Handle {
        let mut h = Handle::new(bucket);
        h.attributes
            .insert("arn".to_owned(), format!("arn:aws:s3:::{bucket}"));
        h
    }

    /// Whether the bucket exists (HeadBucket: 404 → false).
    async fn exists(&self, bucket: &str) -> Result<bool, ProviderError> {
        match self.client.head_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                let e = sdk_error(SERVICE, "HeadBucket", e);
                if e.is_not_found() { Ok(false) } else { Err(e) }
            }
        }
    }

    async fn tags(&self, bucket: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        match self.client.get_bucket_tagging().bucket(bucket).send().await {
            Ok(out) => Ok(out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect()),
            Err(e) => {
                let e = sdk_error(SERVICE, "GetBucketTagging", e);
                if e.is_not_found() {
                    Ok(BTreeMap::new())
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn put_tags(&self, desired: &Desired, bucket: &str) -> Result<(), ProviderError> {
        let mut tagging = Tagging::builder();
        for (k, v) in desired.tags_with_owner() {
            tagging = tagging.tag_set(
                Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| build_error(desired, e))?,
            );
        }
        self.client
            .put_bucket_tagging()
            .bucket(bucket)
            .tagging(tagging.build().map_err(|e| build_error(desired, e))?)
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "PutBucketTagging", e))?;
        Ok(())
    }

    /// Puts (or removes) one configuration section from the document.
    async fn apply_section(
        &self,
        desired: &Desired,
        bucket: &str,
        section: &str,
        creating: bool,
    ) -> Result<(), ProviderError> {
        let value = desired.prop(section).filter(|v| !v.is_null());
        let c = &self.client;
        match (section, value) {
            ("server_side_encryption", Some(v)) => {
                let alg = field_str(v, "sse_algorithm").ok_or_else(|| {
                    invalid(
                        desired,
                        "`server_side_encryption.sse_algorithm` is required",
                    )
                })?;
                let by_default = ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::from(alg))
                    .set_kms_master_key_id(field_str(v, "kms_key_id").map(str::to_owned))
                    .build()
                    .map_err(|e| build_error(desired, e))?;
                let rule = ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(by_default)
                    .set_bucket_key_enabled(field_bool(v, "bucket_key_enabled"))
                    .build();
                let config = ServerSideEncryptionConfiguration::builder()
                    .rules(rule)
                    .build()
                    .map_err(|e| build_error(desired, e))?;
                c.put_bucket_encryption()
                    .bucket(bucket)
                    .server_side_encryption_configuration(config)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "PutBucketEncryption", e))?;
            }
            ("server_side_encryption", None) if !creating => {
                c.delete_bucket_encryption()
                    .bucket(bucket)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "DeleteBucketEncryption", e))?;
            }
            ("public_access_block", Some(v)) => {
                let config = PublicAccessBlockConfiguration::builder()
                    .block_public_acls(field_bool(v, "block_public_acls").unwrap_or(false))
                    .block_public_policy(field_bool(v, "block_public_policy").unwrap_or(false))
                    .ignore_public_acls(field_bool(v, "ignore_public_acls").unwrap_or(false))
                    .restrict_public_buckets(
                        field_bool(v, "restrict_public_buckets").unwrap_or(false),
                    )
                    .build();
                c.put_public_access_block()
                    .bucket(bucket)
                    .public_access_block_configuration(config)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "PutPublicAccessBlock", e))?;
            }
            ("public_access_block", None) if !creating => {
                c.delete_public_access_block()
                    .bucket(bucket)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "DeletePublicAccessBlock", e))?;
            }
            ("versioning", v) => {
                let enabled = v.and_then(|v| field_bool(v, "enabled")).unwrap_or(false);
                // A bucket that never had versioning needs no call to stay unversioned.
                if enabled || !creating {
                    let status = if enabled {
                        BucketVersioningStatus::Enabled
                    } else {
                        BucketVersioningStatus::Suspended
                    };
                    c.put_bucket_versioning()
                        .bucket(bucket)
                        .versioning_configuration(
                            VersioningConfiguration::builder().status(status).build(),
                        )
                        .send()
                        .await
                        .map_err(|e| sdk_error(SERVICE, "PutBucketVersioning", e))?;
                }
            }
            ("lifecycle_rule", Some(v)) => {
                let config = lifecycle_config(desired, v)?;
                c.put_bucket_lifecycle_configuration()
                    .bucket(bucket)
                    .lifecycle_configuration(config)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "PutBucketLifecycleConfiguration", e))?;
            }
            ("lifecycle_rule", None) if !creating => {
                c.delete_bucket_lifecycle()
                    .bucket(bucket)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "DeleteBucketLifecycle", e))?;
            }
            ("object_ownership", Some(v)) => {
                let o = v
                    .as_str()
                    .ok_or_else(|| invalid(desired, "`object_ownership` must be a string"))?;
                let controls = OwnershipControls::builder()
                    .rules(
                        OwnershipControlsRule::builder()
                            .object_ownership(ObjectOwnership::from(o))
                            .build()
                            .map_err(|e| build_error(desired, e))?,
                    )
                    .build()
                    .map_err(|e| build_error(desired, e))?;
                c.put_bucket_ownership_controls()
                    .bucket(bucket)
                    .ownership_controls(controls)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "PutBucketOwnershipControls", e))?;
            }
            ("object_ownership", None) if !creating => {
                c.delete_bucket_ownership_controls()
                    .bucket(bucket)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "DeleteBucketOwnershipControls", e))?;
            }
            ("policy", Some(_)) => {
                let policy = json_doc(desired, "policy")?.unwrap_or_default();
                c.put_bucket_policy()
                    .bucket(bucket)
                    .policy(policy)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "PutBucketPolicy", e))?;
            }
            ("policy", None) if !creating => {
                c.delete_bucket_policy()
                    .bucket(bucket)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SERVICE, "DeleteBucketPolicy", e))?;
            }
            _ => {}
        }
        Ok(())
    }

    /// One sub-resource read: `Ok(None)` when the bucket has never had it.
    fn absent_if_not_found<T>(r: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e)
                if e.is_not_found() || e.code().is_some_and(|c| c.ends_with("NotFoundError")) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// The sections a bucket document configures, in the order create applies them (ownership
/// before the policy, the public access block before the policy that it might block).
const SECTIONS: &[&str] = &[
    "object_ownership",
    "server_side_encryption",
    "versioning",
    "public_access_block",
    "lifecycle_rule",
    "policy",
];

fn lifecycle_config(
    desired: &Desired,
    v: &Value,
) -> Result<BucketLifecycleConfiguration, ProviderError> {
    let rules = v
        .as_array()
        .ok_or_else(|| invalid(desired, "`lifecycle_rule` must be a list"))?;
    let mut config = BucketLifecycleConfiguration::builder();
    for (i, r) in rules.iter().enumerate() {
        let enabled = field_bool(r, "enabled").unwrap_or(true);
        let mut rule = LifecycleRule::builder()
            .set_id(field_str(r, "id").map(str::to_owned))
            .status(if enabled {
                ExpirationStatus::Enabled
            } else {
                ExpirationStatus::Disabled
            })
            .filter(
                LifecycleRuleFilter::builder()
                    .prefix(field_str(r, "prefix").unwrap_or(""))
                    .build(),
            );
        if let Some(d) = days(desired, r, "expiration_days", i)? {
            rule = rule.expiration(LifecycleExpiration::builder().days(d).build());
        }
        if let Some(d) = days(desired, r, "noncurrent_version_expiration_days", i)? {
            rule = rule.noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(d)
                    .build(),
            );
        }
        if let Some(d) = days(desired, r, "abort_incomplete_multipart_upload_days", i)? {
            rule = rule.abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(d)
                    .build(),
            );
        }
        for t in r
            .get("transition")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let class = field_str(t, "storage_class").ok_or_else(|| {
                invalid(
                    desired,
                    format!("`lifecycle_rule[{i}].transition[].storage_class` is required"),
                )
            })?;
            rule = rule.transitions(
                Transition::builder()
                    .set_days(days(desired, t, "days", i)?)
                    .storage_class(TransitionStorageClass::from(class))
                    .build(),
            );
        }
        config = config.rules(rule.build().map_err(|e| build_error(desired, e))?);
    }
    config.build().map_err(|e| build_error(desired, e))
}

fn days(
    desired: &Desired,
    obj: &Value,
    name: &str,
    rule: usize,
) -> Result<Option<i32>, ProviderError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .and_then(|d| i32::try_from(d).ok())
            .map(Some)
            .ok_or_else(|| {
                invalid(
                    desired,
                    format!("`lifecycle_rule[{rule}].{name}` must be a whole number of days"),
                )
            }),
    }
}

/// A lifecycle rule read back, in the document's shape. Rules written by older tools carry
/// the legacy top-level `Prefix` instead of a filter; both read as `prefix`.
#[allow(deprecated)]
fn rule_doc(r: &LifecycleRule) -> Value {
    let prefix = r
        .filter()
        .and_then(LifecycleRuleFilter::prefix)
        .or(r.prefix());
    let transitions: Vec<Value> = r
        .transitions()
        .iter()
        .map(|t| {
            Obj::new()
                .opt("days", t.days())
                .opt("storage_class", t.storage_class().map(|s| s.as_str()))
                .build()
        })
        .collect();
    Obj::new()
        .opt("id", r.id())
        .set("enabled", *r.status() == ExpirationStatus::Enabled)
        .opt("prefix", prefix)
        .opt(
            "expiration_days",
            r.expiration().and_then(LifecycleExpiration::days),
        )
        .opt(
            "noncurrent_version_expiration_days",
            r.noncurrent_version_expiration()
                .and_then(NoncurrentVersionExpiration::noncurrent_days),
        )
        .opt(
            "abort_incomplete_multipart_upload_days",
            r.abort_incomplete_multipart_upload()
                .and_then(AbortIncompleteMultipartUpload::days_after_initiation),
        )
        .opt(
            "transition",
            (!transitions.is_empty()).then_some(Value::Array(transitions)),
        )
        .build()
}

#[async_trait::async_trait]
impl Provider for S3BucketProvider {
    fn types(&self) -> &'static [&'static str] {
        &[TYPE]
    }

    fn replace_on_change(&self, _type_name: &str) -> &'static [&'static str] {
        &["bucket"]
    }

    async fn create(&self, desired: &Desired) -> Result<Handle, ProviderError> {
        let bucket = desired.str_prop("bucket")?;
        let mut req = self.client.create_bucket().bucket(bucket);
        // us-east-1 takes no location constraint; every other region needs its own.
        if let Some(region) = self.client.config().region().map(|r| r.as_ref().to_owned())
            && region != "us-east-1"
        {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region.as_str()))
                    .build(),
            );
        }
        if let Some(o) = opt_str(desired, "object_ownership")? {
            req = req.object_ownership(ObjectOwnership::from(o));
        }
        req.send()
            .await
            .map_err(|e| sdk_error(SERVICE, "CreateBucket", e))?;
        // Tag first: a crash after this point leaves a bucket that find() can prove is ours.
        self.put_tags(desired, bucket).await?;
        for section in SECTIONS {
            if *section == "object_ownership" {
                continue; // set by CreateBucket
            }
            self.apply_section(desired, bucket, section, true).await?;
        }
        Ok(Self::handle(bucket))
    }

    async fn read(&self, _type_name: &str, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        let bucket = handle.provider_id.as_str();
        if !self.exists(bucket).await? {
            return Ok(None);
        }
        let c = &self.client;
        let mut doc = Obj::new().set("bucket", bucket);

        let enc = Self::absent_if_not_found(
            c.get_bucket_encryption()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "GetBucketEncryption", e)),
        )?;
        if let Some(rule) = enc
            .as_ref()
            .and_then(|o| o.server_side_encryption_configuration())
            .and_then(|c| c.rules().first())
        {
            let by_default = rule.apply_server_side_encryption_by_default();
            doc = doc.set(
                "server_side_encryption",
                Obj::new()
                    .opt(
                        "sse_algorithm",
                        by_default.map(|d| d.sse_algorithm().as_str().to_owned()),
                    )
                    .opt(
                        "kms_key_id",
                        by_default.and_then(|d| d.kms_master_key_id().map(str::to_owned)),
                    )
                    .opt("bucket_key_enabled", rule.bucket_key_enabled())
                    .build(),
            );
        }

        let pab = Self::absent_if_not_found(
            c.get_public_access_block()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "GetPublicAccessBlock", e)),
        )?;
        if let Some(p) = pab
            .as_ref()
            .and_then(|o| o.public_access_block_configuration())
        {
            doc = doc.set(
                "public_access_block",
                Obj::new()
                    .set("block_public_acls", p.block_public_acls().unwrap_or(false))
                    .set(
                        "block_public_policy",
                        p.block_public_policy().unwrap_or(false),
                    )
                    .set(
                        "ignore_public_acls",
                        p.ignore_public_acls().unwrap_or(false),
                    )
                    .set(
                        "restrict_public_buckets",
                        p.restrict_public_buckets().unwrap_or(false),
                    )
                    .build(),
            );
        }

        let versioning = c
            .get_bucket_versioning()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "GetBucketVersioning", e))?;
        doc = doc.set(
            "versioning",
            Obj::new()
                .set(
                    "enabled",
                    versioning.status() == Some(&BucketVersioningStatus::Enabled),
                )
                .build(),
        );

        let lifecycle = Self::absent_if_not_found(
            c.get_bucket_lifecycle_configuration()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "GetBucketLifecycleConfiguration", e)),
        )?;
        if let Some(l) = lifecycle.filter(|l| !l.rules().is_empty()) {
            doc = doc.set(
                "lifecycle_rule",
                Value::Array(l.rules().iter().map(rule_doc).collect()),
            );
        }

        let ownership = Self::absent_if_not_found(
            c.get_bucket_ownership_controls()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "GetBucketOwnershipControls", e)),
        )?;
        if let Some(rule) = ownership
            .as_ref()
            .and_then(|o| o.ownership_controls())
            .and_then(|o| o.rules().first())
        {
            doc = doc.set("object_ownership", rule.object_ownership().as_str());
        }

        let policy = Self::absent_if_not_found(
            c.get_bucket_policy()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "GetBucketPolicy", e)),
        )?;
        if let Some(p) = policy.as_ref().and_then(|p| p.policy()) {
            doc = doc.set("policy", parse_policy(p));
        }

        let tags = self.tags(bucket).await?;
        Ok(Some(Live {
            handle: Self::handle(bucket),
            properties: doc.build(),
            tags: without_owner(tags),
        }))
    }

    async fn update(
        &self,
        desired: &Desired,
        handle: &Handle,
        changed_props: &[String],
    ) -> Result<Handle, ProviderError> {
        let bucket = handle.provider_id.as_str();
        if desired.str_prop("bucket")? != bucket {
            return Err(invalid(
                desired,
                "the bucket name cannot change in place (plan a replacement)",
            ));
        }
        for section in SECTIONS {
            if changed(changed_props, section) {
                self.apply_section(desired, bucket, section, false).await?;
            }
        }
        if changed(changed_props, "tags") {
            self.put_tags(desired, bucket).await?;
        }
        Ok(Self::handle(bucket))
    }

    async fn delete(&self, _type_name: &str, handle: &Handle) -> Result<(), ProviderError> {
        match self
            .client
            .delete_bucket()
            .bucket(&handle.provider_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = sdk_error(SERVICE, "DeleteBucket", e);
                if e.is_not_found() { Ok(()) } else { Err(e) }
            }
        }
    }

    async fn find(&self, desired: &Desired) -> Result<Option<Handle>, ProviderError> {
        let bucket = desired.str_prop("bucket")?;
        if !self.exists(bucket).await? {
            return Ok(None);
        }
        let tags = self.tags(bucket).await?;
        check_owner(
            desired,
            owner_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            &format!("bucket `{bucket}`"),
        )?;
        Ok(Some(Self::handle(bucket)))
    }
}

/// Adds the S3 providers to `set`.
pub fn register(set: &mut crate::ProviderSet, clients: &super::AwsClients) {
    set.add(std::sync::Arc::new(S3BucketProvider::new(
        clients.s3.clone(),
    )));
}
