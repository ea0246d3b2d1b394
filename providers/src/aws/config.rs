//! AWS Config: the configuration recorder, the delivery channel and managed rules.
//!
//! Config's API is put-style: `PutConfigurationRecorder`, `PutDeliveryChannel` and `PutConfigRule`
//! create and update alike, so update re-sends the whole document. The recorder is named
//! `default` when the document gives no name (what AWS itself does). Tollgate does not start the
//! recorder: recording status is not part of these documents (Terraform keeps it in a type of its
//! own, `aws_config_configuration_recorder_status`).
//!
//! Rules: only AWS-managed rules (`source.owner` = `AWS`). Custom Lambda and Guard rules need
//! source details these documents do not describe; they are refused rather than half-created.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_config::types::{
    ConfigRule, ConfigSnapshotDeliveryProperties, ConfigurationRecorder, DeliveryChannel,
    MaximumExecutionFrequency, Owner, RecordingFrequency, RecordingGroup, RecordingMode, Scope,
    Source, Tag,
};
use serde_json::Value;

use super::doc::{
    Obj, build_error, changed, field_bool, field_str, invalid, opt_str, owner_of, parse_policy,
    str_list, tag_keys_to_remove, without_owner,
};
use crate::provider::{Desired, Handle, Live, Provider, ProviderError, found, sdk_error};

const SERVICE: &str = "config";
const RECORDER: &str = "aws_config_configuration_recorder";
const CHANNEL: &str = "aws_config_delivery_channel";
const RULE: &str = "aws_config_config_rule";
const DEFAULT_NAME: &str = "default";

/// The AWS Config provider.
#[derive(Debug, Clone)]
pub struct ConfigProvider {
    client: aws_sdk_config::Client,
}

fn name_of(desired: &Desired) -> Result<&str, ProviderError> {
    Ok(opt_str(desired, "name")?.unwrap_or(DEFAULT_NAME))
}

fn config_tags(desired: &Desired) -> Vec<Tag> {
    desired
        .tags_with_owner()
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or("").to_owned())))
        .collect()
}

impl ConfigProvider {
    pub fn new(client: aws_sdk_config::Client) -> Self {
        Self { client }
    }

    // ---------------------------------------------------------------- recorder

    async fn put_recorder(&self, desired: &Desired) -> Result<Handle, ProviderError> {
        let name = name_of(desired)?;
        let mut recorder = ConfigurationRecorder::builder()
            .name(name)
            .role_arn(desired.str_prop("role_arn")?);
        if let Some(g) = desired.prop("recording_group").filter(|v| !v.is_null()) {
            recorder = recorder.recording_group(
                RecordingGroup::builder()
                    .set_all_supported(field_bool(g, "all_supported"))
                    .set_include_global_resource_types(field_bool(
                        g,
                        "include_global_resource_types",
                    ))
                    .build(),
            );
        }
        if let Some(m) = desired.prop("recording_mode").filter(|v| !v.is_null()) {
            let freq = field_str(m, "recording_frequency").ok_or_else(|| {
                invalid(desired, "`recording_mode.recording_frequency` is required")
            })?;
            recorder = recorder.recording_mode(
                RecordingMode::builder()
                    .recording_frequency(RecordingFrequency::from(freq))
                    .build()
                    .map_err(|e| build_error(desired, e))?,
            );
        }
        self.client
            .put_configuration_recorder()
            .configuration_recorder(recorder.build())
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "PutConfigurationRecorder", e))?;
        Ok(Handle::new(name))
    }

    async fn get_recorder(
        &self,
        name: &str,
    ) -> Result<Option<ConfigurationRecorder>, ProviderError> {
        let out = found(
            self.client
                .describe_configuration_recorders()
                .configuration_recorder_names(name)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "DescribeConfigurationRecorders", e)),
        )?;
        Ok(out.and_then(|o| {
            o.configuration_recorders()
                .iter()
                .find(|r| r.name() == Some(name))
                .cloned()
        }))
    }

    fn recorder_doc(r: &ConfigurationRecorder) -> Value {
        Obj::new()
            .opt("name", r.name())
            .opt("role_arn", r.role_arn())
            .opt(
                "recording_group",
                r.recording_group().map(|g| {
                    Obj::new()
                        .set("all_supported", g.all_supported())
                        .set(
                            "include_global_resource_types",
                            g.include_global_resource_types(),
                        )
                        .build()
                }),
            )
            .opt(
                "recording_mode",
                r.recording_mode().map(|m| {
                    Obj::new()
                        .set("recording_frequency", m.recording_frequency().as_str())
                        .build()
                }),
            )
            .build()
    }

    // ---------------------------------------------------------------- delivery channel

    async fn put_channel(&self, desired: &Desired) -> Result<Handle, ProviderError> {
        let name = name_of(desired)?;
        let snapshot = desired
            .prop("snapshot_delivery_properties")
            .and_then(|s| field_str(s, "delivery_frequency"))
            .map(|f| {
                ConfigSnapshotDeliveryProperties::builder()
                    .delivery_frequency(MaximumExecutionFrequency::from(f))
                    .build()
            });
        let channel = DeliveryChannel::builder()
            .name(name)
            .s3_bucket_name(desired.str_prop("s3_bucket_name")?)
            .set_s3_key_prefix(opt_str(desired, "s3_key_prefix")?.map(str::to_owned))
            .set_s3_kms_key_arn(opt_str(desired, "s3_kms_key_arn")?.map(str::to_owned))
            .set_sns_topic_arn(opt_str(desired, "sns_topic_arn")?.map(str::to_owned))
            .set_config_snapshot_delivery_properties(snapshot)
            .build();
        self.client
            .put_delivery_channel()
            .delivery_channel(channel)
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "PutDeliveryChannel", e))?;
        Ok(Handle::new(name))
    }

    async fn get_channel(&self, name: &str) -> Result<Option<DeliveryChannel>, ProviderError> {
        let out = found(
            self.client
                .describe_delivery_channels()
                .delivery_channel_names(name)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "DescribeDeliveryChannels", e)),
        )?;
        Ok(out.and_then(|o| {
            o.delivery_channels()
                .iter()
                .find(|c| c.name() == Some(name))
                .cloned()
        }))
    }

    fn channel_doc(c: &DeliveryChannel) -> Value {
        Obj::new()
            .opt("name", c.name())
            .opt("s3_bucket_name", c.s3_bucket_name())
            .opt("s3_key_prefix", c.s3_key_prefix())
            .opt("s3_kms_key_arn", c.s3_kms_key_arn())
            .opt("sns_topic_arn", c.sns_topic_arn())
            .opt(
                "snapshot_delivery_properties",
                c.config_snapshot_delivery_properties()
                    .and_then(|p| p.delivery_frequency())
                    .map(|f| Obj::new().set("delivery_frequency", f.as_str()).build()),
            )
            .build()
    }

    // ---------------------------------------------------------------- rules

    fn rule_from(desired: &Desired) -> Result<ConfigRule, ProviderError> {
        let source = desired
            .prop("source")
            .filter(|v| v.is_object())
            .ok_or_else(|| invalid(desired, "`source` is required"))?;
        let owner = field_str(source, "owner").unwrap_or("AWS");
        if owner != "AWS" {
            return Err(invalid(
                desired,
                format!(
                    "`source.owner` is `{owner}`: only AWS-managed rules (`AWS`) are supported; \
                     custom rules need source details these documents do not carry"
                ),
            ));
        }
        let identifier = field_str(source, "source_identifier")
            .ok_or_else(|| invalid(desired, "`source.source_identifier` is required"))?;
        let input = match desired.prop("input_parameters") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v @ Value::Object(_)) => Some(v.to_string()),
            Some(_) => return Err(invalid(desired, "`input_parameters` must be a JSON object")),
        };
        let scope = desired.prop("scope").filter(|v| !v.is_null()).map(|s| {
            Scope::builder()
                .set_compliance_resource_types(
                    s.get("compliance_resource_types").and_then(str_list),
                )
                .build()
        });
        Ok(ConfigRule::builder()
            .config_rule_name(desired.str_prop("name")?)
            .set_description(opt_str(desired, "description")?.map(str::to_owned))
            .source(
                Source::builder()
                    .owner(Owner::Aws)
                    .source_identifier(identifier)
                    .build()
                    .map_err(|e| build_error(desired, e))?,
            )
            .set_input_parameters(input)
            .set_scope(scope)
            .set_maximum_execution_frequency(
                opt_str(desired, "maximum_execution_frequency")?
                    .map(MaximumExecutionFrequency::from),
            )
            .build())
    }

    async fn get_rule(&self, name: &str) -> Result<Option<ConfigRule>, ProviderError> {
        let out = found(
            self.client
                .describe_config_rules()
                .config_rule_names(name)
                .send()
                .await
                .map_err(|e| sdk_error(SERVICE, "DescribeConfigRules", e)),
        )?;
        Ok(out.and_then(|o| {
            o.config_rules()
                .iter()
                .find(|r| r.config_rule_name() == Some(name))
                .cloned()
        }))
    }

    async fn rule_tags(&self, arn: &str) -> Result<Vec<Tag>, ProviderError> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "ListTagsForResource", e))?;
        Ok(out.tags().to_vec())
    }

    fn rule_handle(rule: &ConfigRule, name: &str) -> Handle {
        let mut h = Handle::new(name);
        if let Some(arn) = rule.config_rule_arn() {
            h.attributes.insert("arn".into(), arn.to_owned());
        }
        if let Some(id) = rule.config_rule_id() {
            h.attributes.insert("id".into(), id.to_owned());
        }
        h
    }

    async fn put_rule(&self, desired: &Desired, with_tags: bool) -> Result<Handle, ProviderError> {
        let name = desired.str_prop("name")?;
        let mut req = self
            .client
            .put_config_rule()
            .config_rule(Self::rule_from(desired)?);
        if with_tags {
            req = req.set_tags(Some(config_tags(desired)));
        }
        req.send()
            .await
            .map_err(|e| sdk_error(SERVICE, "PutConfigRule", e))?;
        let rule = self
            .get_rule(name)
            .await?
            .ok_or_else(|| invalid(desired, "PutConfigRule succeeded but the rule is not found"))?;
        Ok(Self::rule_handle(&rule, name))
    }

    fn rule_doc(r: &ConfigRule) -> Value {
        Obj::new()
            .opt("name", r.config_rule_name())
            .opt("description", r.description().filter(|d| !d.is_empty()))
            .opt(
                "source",
                r.source().map(|s| {
                    Obj::new()
                        .set("owner", s.owner().as_str())
                        .opt("source_identifier", s.source_identifier())
                        .build()
                }),
            )
            .opt(
                "input_parameters",
                r.input_parameters()
                    .filter(|p| !p.is_empty() && *p != "{}")
                    .map(parse_policy),
            )
            .opt(
                "scope",
                r.scope()
                    .filter(|s| !s.compliance_resource_types().is_empty())
                    .map(|s| {
                        Obj::new()
                            .set(
                                "compliance_resource_types",
                                s.compliance_resource_types().to_vec(),
                            )
                            .build()
                    }),
            )
            .opt(
                "maximum_execution_frequency",
                r.maximum_execution_frequency().map(|f| f.as_str()),
            )
            .build()
    }
}

#[async_trait::async_trait]
impl Provider for ConfigProvider {
    fn types(&self) -> &'static [&'static str] {
        &[RECORDER, CHANNEL, RULE]
    }

    fn replace_on_change(&self, _type_name: &str) -> &'static [&'static str] {
        &["name"]
    }

    async fn create(&self, desired: &Desired) -> Result<Handle, ProviderError> {
        match desired.type_name.as_str() {
            RECORDER => self.put_recorder(desired).await,
            CHANNEL => self.put_channel(desired).await,
            RULE => self.put_rule(desired, true).await,
            other => Err(invalid(
                desired,
                format!("the Config provider has no type `{other}`"),
            )),
        }
    }

    async fn read(&self, type_name: &str, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        let name = handle.provider_id.as_str();
        match type_name {
            RECORDER => Ok(self.get_recorder(name).await?.map(|r| Live {
                handle: handle.clone(),
                properties: Self::recorder_doc(&r),
                tags: BTreeMap::new(),
            })),
            CHANNEL => Ok(self.get_channel(name).await?.map(|c| Live {
                handle: handle.clone(),
                properties: Self::channel_doc(&c),
                tags: BTreeMap::new(),
            })),
            _ => {
                let Some(rule) = self.get_rule(name).await? else {
                    return Ok(None);
                };
                let tags = match rule.config_rule_arn() {
                    Some(arn) => tag_map(&self.rule_tags(arn).await?),
                    None => BTreeMap::new(),
                };
                Ok(Some(Live {
                    handle: Self::rule_handle(&rule, name),
                    properties: Self::rule_doc(&rule),
                    tags: without_owner(tags),
                }))
            }
        }
    }

    async fn update(
        &self,
        desired: &Desired,
        handle: &Handle,
        changed_props: &[String],
    ) -> Result<Handle, ProviderError> {
        if name_of(desired)? != handle.provider_id {
            return Err(invalid(
                desired,
                "`name` cannot change in place (plan a replacement)",
            ));
        }
        match desired.type_name.as_str() {
            RECORDER => self.put_recorder(desired).await,
            CHANNEL => self.put_channel(desired).await,
            RULE => {
                let props_changed = changed_props.iter().any(|c| c != "tags");
                let handle = if props_changed {
                    self.put_rule(desired, false).await?
                } else {
                    handle.clone()
                };
                if changed(changed_props, "tags") {
                    let arn = handle.attributes.get("arn").cloned().ok_or_else(|| {
                        invalid(desired, "the rule's ARN is not recorded; cannot tag it")
                    })?;
                    let live = tag_map(&self.rule_tags(&arn).await?);
                    let remove = tag_keys_to_remove(&live, &desired.tags);
                    if !remove.is_empty() {
                        self.client
                            .untag_resource()
                            .resource_arn(&arn)
                            .set_tag_keys(Some(remove))
                            .send()
                            .await
                            .map_err(|e| sdk_error(SERVICE, "UntagResource", e))?;
                    }
                    self.client
                        .tag_resource()
                        .resource_arn(&arn)
                        .set_tags(Some(config_tags(desired)))
                        .send()
                        .await
                        .map_err(|e| sdk_error(SERVICE, "TagResource", e))?;
                }
                Ok(handle)
            }
            other => Err(invalid(
                desired,
                format!("the Config provider has no type `{other}`"),
            )),
        }
    }

    async fn delete(&self, type_name: &str, handle: &Handle) -> Result<(), ProviderError> {
        let name = handle.provider_id.as_str();
        let result = match type_name {
            RECORDER => self
                .client
                .delete_configuration_recorder()
                .configuration_recorder_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_error(SERVICE, "DeleteConfigurationRecorder", e)),
            CHANNEL => self
                .client
                .delete_delivery_channel()
                .delivery_channel_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_error(SERVICE, "DeleteDeliveryChannel", e)),
            _ => self
                .client
                .delete_config_rule()
                .config_rule_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_error(SERVICE, "DeleteConfigRule", e)),
        };
        found(result).map(|_| ())
    }

    async fn find(&self, desired: &Desired) -> Result<Option<Handle>, ProviderError> {
        let name = name_of(desired)?;
        match desired.type_name.as_str() {
            RECORDER => Ok(self.get_recorder(name).await?.map(|_| Handle::new(name))),
            CHANNEL => Ok(self.get_channel(name).await?.map(|_| Handle::new(name))),
            _ => {
                let Some(rule) = self.get_rule(name).await? else {
                    return Ok(None);
                };
                if let Some(arn) = rule.config_rule_arn() {
                    let tags = self.rule_tags(arn).await?;
                    super::doc::check_owner(
                        desired,
                        owner_of(
                            tags.iter()
                                .filter_map(|t| Some((t.key()?, t.value().unwrap_or("")))),
                        ),
                        &format!("Config rule `{name}`"),
                    )?;
                }
                Ok(Some(Self::rule_handle(&rule, name)))
            }
        }
    }
}

/// Adds the Config provider to `set`.
pub fn register(set: &mut crate::ProviderSet, clients: &super::AwsClients) {
    set.add(Arc::new(ConfigProvider::new(clients.config.clone())));
}
