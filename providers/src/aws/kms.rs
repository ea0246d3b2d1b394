//! KMS customer-managed keys (with rotation and key policy) and aliases, through `aws-sdk-kms`.
//!
//! A key has no name of its own: it is created with [`OWNER_TAG`] in the same call, and
//! [`Provider::find`] lists the account's keys and their tags to find it again. A reference to a
//! key resolves to its ARN, which every consumer in the stacks takes (S3 `kms_key_id`, an alias's
//! `target_key_id`, log groups, volumes). Deleting a key schedules its deletion after
//! `deletion_window_in_days` (default 30), as KMS requires; a key pending deletion reads as
//! gone. An alias is found by its name and reads back its target as the key's ARN.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, Tag};
use serde_json::Value;

use super::AwsClients;
use super::doc::{Obj, field_bool, field_str, invalid, json_doc};
use super::ec2::i32_of;
use crate::provider::{
    Desired, Handle, Live, OWNER_TAG, Provider, ProviderError, ProviderSet, api_err, found,
    refuse_in_place_change,
};

const SERVICE: &str = "kms";
const DELETION_WINDOW: &str = "deletion_window_in_days";

/// Registers the KMS provider for `aws_kms_key` and `aws_kms_alias`.
pub fn register(set: &mut ProviderSet, clients: &AwsClients) {
    set.add(Arc::new(KmsProvider::new(clients.kms.clone())));
}

/// Keys and aliases.
#[derive(Debug, Clone)]
pub struct KmsProvider {
    client: aws_sdk_kms::Client,
}

impl KmsProvider {
    pub fn new(client: aws_sdk_kms::Client) -> Self {
        Self { client }
    }
}

/// The key policy as the service takes it: the judged document (an object) serialised.
fn policy_text(d: &Desired) -> Result<Option<String>, ProviderError> {
    json_doc(d, "policy")
}

fn kms_tags(tags: BTreeMap<String, String>, d: &Desired) -> Result<Vec<Tag>, ProviderError> {
    tags.into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .map_err(|e| invalid(d, format!("tag: {e}")))
        })
        .collect()
}

fn key_handle(key_id: &str, arn: &str, d: &Desired) -> Handle {
    let mut h = Handle::with_reference(key_id, arn);
    h.attributes.insert("arn".into(), arn.to_owned());
    if let Some(n) = d.prop(DELETION_WINDOW).and_then(Value::as_i64) {
        h.attributes.insert(DELETION_WINDOW.into(), n.to_string());
    }
    h
}

impl KmsProvider {
    async fn create_key(&self, d: &Desired) -> Result<Handle, ProviderError> {
        let props = &d.properties;
        let out = self
            .client
            .create_key()
            .set_description(field_str(props, "description").map(str::to_owned))
            .set_key_usage(field_str(props, "key_usage").map(KeyUsageType::from))
            .set_key_spec(field_str(props, "customer_master_key_spec").map(KeySpec::from))
            .set_multi_region(field_bool(props, "multi_region"))
            .set_policy(policy_text(d)?)
            .set_tags(Some(kms_tags(d.tags_with_owner(), d)?))
            .send()
            .await
            .map_err(api_err(SERVICE, "CreateKey"))?;
        let meta = out
            .key_metadata()
            .ok_or_else(|| ProviderError::missing(SERVICE, "CreateKey", "KeyMetadata"))?;
        let key_id = meta.key_id().to_owned();
        let arn = meta.arn().unwrap_or(&key_id).to_owned();
        if field_bool(props, "enable_key_rotation") == Some(true) {
            self.set_rotation(d, &key_id).await?;
        }
        if field_bool(props, "is_enabled") == Some(false) {
            self.client
                .disable_key()
                .key_id(&key_id)
                .send()
                .await
                .map_err(api_err(SERVICE, "DisableKey"))?;
        }
        Ok(key_handle(&key_id, &arn, d))
    }

    async fn set_rotation(&self, d: &Desired, key_id: &str) -> Result<(), ProviderError> {
        if field_bool(&d.properties, "enable_key_rotation") == Some(true) {
            self.client
                .enable_key_rotation()
                .key_id(key_id)
                .set_rotation_period_in_days(i32_of(d, &d.properties, "rotation_period_in_days")?)
                .send()
                .await
                .map_err(api_err(SERVICE, "EnableKeyRotation"))?;
        } else {
            self.client
                .disable_key_rotation()
                .key_id(key_id)
                .send()
                .await
                .map_err(api_err(SERVICE, "DisableKeyRotation"))?;
        }
        Ok(())
    }

    async fn live_tags(&self, key_id: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let mut tags = BTreeMap::new();
        let mut marker = None;
        loop {
            let out = self
                .client
                .list_resource_tags()
                .key_id(key_id)
                .set_marker(marker)
                .send()
                .await
                .map_err(api_err(SERVICE, "ListResourceTags"))?;
            for t in out.tags() {
                tags.insert(t.tag_key().to_owned(), t.tag_value().to_owned());
            }
            marker = out.next_marker().map(str::to_owned);
            if !out.truncated() || marker.is_none() {
                return Ok(tags);
            }
        }
    }

    async fn read_key(&self, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        let key_id = handle.provider_id.as_str();
        let Some(out) = found(
            self.client
                .describe_key()
                .key_id(key_id)
                .send()
                .await
                .map_err(api_err(SERVICE, "DescribeKey")),
        )?
        else {
            return Ok(None);
        };
        let Some(meta) = out.key_metadata() else {
            return Ok(None);
        };
        if matches!(
            meta.key_state(),
            Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
        ) {
            return Ok(None);
        }
        let spec = meta.key_spec().map(|s| s.as_str());
        // Rotation applies to symmetric encryption keys only; asking about others is an error.
        let (rotation, period) = if spec == Some("SYMMETRIC_DEFAULT") {
            let r = self
                .client
                .get_key_rotation_status()
                .key_id(key_id)
                .send()
                .await
                .map_err(api_err(SERVICE, "GetKeyRotationStatus"))?;
            (Some(r.key_rotation_enabled()), r.rotation_period_in_days())
        } else {
            (Some(false), None)
        };
        let policy = self
            .client
            .get_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .send()
            .await
            .map_err(api_err(SERVICE, "GetKeyPolicy"))?
            .policy()
            .map(|p| serde_json::from_str(p).unwrap_or_else(|_| Value::String(p.to_owned())));
        let props = Obj::new()
            .opt("description", meta.description())
            .opt("key_usage", meta.key_usage().map(|u| u.as_str()))
            .opt("customer_master_key_spec", spec)
            .opt("enable_key_rotation", rotation)
            .opt("rotation_period_in_days", period)
            .opt("multi_region", meta.multi_region())
            .opt("is_enabled", Some(meta.enabled()))
            .opt("policy", policy)
            .build();
        let mut tags = self.live_tags(key_id).await?;
        tags.remove(OWNER_TAG);
        Ok(Some(Live {
            handle: handle.clone(),
            properties: props,
            tags,
        }))
    }

    async fn update_key(
        &self,
        d: &Desired,
        handle: &Handle,
        changed: &[String],
    ) -> Result<Handle, ProviderError> {
        let key_id = handle.provider_id.as_str();
        let props = &d.properties;
        let has = |name: &str| changed.iter().any(|c| c == name);
        if has("description") {
            self.client
                .update_key_description()
                .key_id(key_id)
                .description(field_str(props, "description").unwrap_or_default())
                .send()
                .await
                .map_err(api_err(SERVICE, "UpdateKeyDescription"))?;
        }
        if has("policy")
            && let Some(policy) = policy_text(d)?
        {
            self.client
                .put_key_policy()
                .key_id(key_id)
                .policy_name("default")
                .policy(policy)
                .send()
                .await
                .map_err(api_err(SERVICE, "PutKeyPolicy"))?;
        }
        if has("is_enabled") {
            if field_bool(props, "is_enabled") == Some(false) {
                self.client
                    .disable_key()
                    .key_id(key_id)
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "DisableKey"))?;
            } else {
                self.client
                    .enable_key()
                    .key_id(key_id)
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "EnableKey"))?;
            }
        }
        if has("enable_key_rotation") || has("rotation_period_in_days") {
            self.set_rotation(d, key_id).await?;
        }
        if has("tags") {
            let live = self.live_tags(key_id).await?;
            let stale: Vec<String> = live
                .into_keys()
                .filter(|k| k != OWNER_TAG && !d.tags.contains_key(k))
                .collect();
            if !stale.is_empty() {
                self.client
                    .untag_resource()
                    .key_id(key_id)
                    .set_tag_keys(Some(stale))
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "UntagResource"))?;
            }
            self.client
                .tag_resource()
                .key_id(key_id)
                .set_tags(Some(kms_tags(d.tags_with_owner(), d)?))
                .send()
                .await
                .map_err(api_err(SERVICE, "TagResource"))?;
        }
        let arn = handle
            .attributes
            .get("arn")
            .cloned()
            .unwrap_or_else(|| handle.reference.clone());
        Ok(key_handle(key_id, &arn, d))
    }

    async fn find_key(&self, d: &Desired) -> Result<Option<Handle>, ProviderError> {
        let address = d.address();
        let mut marker = None;
        loop {
            let out = self
                .client
                .list_keys()
                .set_marker(marker)
                .send()
                .await
                .map_err(api_err(SERVICE, "ListKeys"))?;
            for k in out.keys() {
                let Some(key_id) = k.key_id() else { continue };
                // A key may be one we may not read the tags of (another team's): skip it.
                let tags = match self.live_tags(key_id).await {
                    Ok(t) => t,
                    Err(e) if e.code() == Some("AccessDeniedException") => continue,
                    Err(e) => return Err(e),
                };
                if tags.get(OWNER_TAG) != Some(&address) {
                    continue;
                }
                let handle = Handle::new(key_id);
                if self.read_key(&handle).await?.is_some() {
                    let arn = k.key_arn().unwrap_or(key_id);
                    return Ok(Some(key_handle(key_id, arn, d)));
                }
            }
            marker = out.next_marker().map(str::to_owned);
            if !out.truncated() || marker.is_none() {
                return Ok(None);
            }
        }
    }

    /// The alias entry named `name`.
    async fn alias(
        &self,
        name: &str,
    ) -> Result<Option<aws_sdk_kms::types::AliasListEntry>, ProviderError> {
        let mut marker = None;
        loop {
            let out = self
                .client
                .list_aliases()
                .set_marker(marker)
                .send()
                .await
                .map_err(api_err(SERVICE, "ListAliases"))?;
            if let Some(a) = out.aliases().iter().find(|a| a.alias_name() == Some(name)) {
                return Ok(Some(a.clone()));
            }
            marker = out.next_marker().map(str::to_owned);
            if !out.truncated() || marker.is_none() {
                return Ok(None);
            }
        }
    }

    async fn alias_handle(&self, name: &str) -> Result<Option<Handle>, ProviderError> {
        Ok(self.alias(name).await?.map(|a| {
            let arn = a.alias_arn().unwrap_or(name);
            Handle::with_reference(name, arn)
        }))
    }
}

#[async_trait::async_trait]
impl Provider for KmsProvider {
    fn types(&self) -> &'static [&'static str] {
        &["aws_kms_key", "aws_kms_alias"]
    }

    fn replace_on_change(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            "aws_kms_key" => &["key_usage", "customer_master_key_spec", "multi_region"],
            "aws_kms_alias" => &["name"],
            _ => &[],
        }
    }

    fn write_only(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            "aws_kms_key" => &[DELETION_WINDOW],
            _ => &[],
        }
    }

    async fn create(&self, d: &Desired) -> Result<Handle, ProviderError> {
        match d.type_name.as_str() {
            "aws_kms_key" => self.create_key(d).await,
            "aws_kms_alias" => {
                let name = d.str_prop("name")?;
                self.client
                    .create_alias()
                    .alias_name(name)
                    .target_key_id(d.str_prop("target_key_id")?)
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "CreateAlias"))?;
                self.alias_handle(name)
                    .await?
                    .ok_or_else(|| ProviderError::Api {
                        service: SERVICE,
                        operation: "ListAliases",
                        code: None,
                        status: None,
                        message: format!("alias {name} is missing right after its creation"),
                    })
            }
            other => Err(invalid(d, format!("type `{other}` is not a KMS type"))),
        }
    }

    async fn read(&self, type_name: &str, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        match type_name {
            "aws_kms_key" => self.read_key(handle).await,
            _ => {
                let Some(a) = self.alias(&handle.provider_id).await? else {
                    return Ok(None);
                };
                // Aliases list their target by key id; documents give the key's ARN.
                let target = match a.target_key_id() {
                    Some(id) => found(
                        self.client
                            .describe_key()
                            .key_id(id)
                            .send()
                            .await
                            .map_err(api_err(SERVICE, "DescribeKey")),
                    )?
                    .and_then(|k| k.key_metadata().and_then(|m| m.arn()).map(str::to_owned))
                    .or_else(|| Some(id.to_owned())),
                    None => None,
                };
                Ok(Some(Live {
                    handle: handle.clone(),
                    properties: Obj::new()
                        .opt("name", a.alias_name())
                        .opt("target_key_id", target)
                        .build(),
                    tags: BTreeMap::new(),
                }))
            }
        }
    }

    async fn update(
        &self,
        d: &Desired,
        handle: &Handle,
        changed: &[String],
    ) -> Result<Handle, ProviderError> {
        refuse_in_place_change(self, d, changed)?;
        match d.type_name.as_str() {
            "aws_kms_key" => self.update_key(d, handle, changed).await,
            _ => {
                if changed.iter().any(|c| c == "target_key_id") {
                    self.client
                        .update_alias()
                        .alias_name(&handle.provider_id)
                        .target_key_id(d.str_prop("target_key_id")?)
                        .send()
                        .await
                        .map_err(api_err(SERVICE, "UpdateAlias"))?;
                }
                Ok(handle.clone())
            }
        }
    }

    async fn delete(&self, type_name: &str, handle: &Handle) -> Result<(), ProviderError> {
        let result = match type_name {
            "aws_kms_key" => {
                if self.read_key(handle).await?.is_none() {
                    return Ok(());
                }
                let window = handle
                    .attributes
                    .get(DELETION_WINDOW)
                    .and_then(|w| w.parse::<i32>().ok());
                self.client
                    .schedule_key_deletion()
                    .key_id(&handle.provider_id)
                    .set_pending_window_in_days(window)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(api_err(SERVICE, "ScheduleKeyDeletion"))
            }
            _ => self
                .client
                .delete_alias()
                .alias_name(&handle.provider_id)
                .send()
                .await
                .map(|_| ())
                .map_err(api_err(SERVICE, "DeleteAlias")),
        };
        found(result).map(|_| ())
    }

    async fn find(&self, d: &Desired) -> Result<Option<Handle>, ProviderError> {
        match d.type_name.as_str() {
            "aws_kms_key" => self.find_key(d).await,
            _ => self.alias_handle(d.str_prop("name")?).await,
        }
    }
}
