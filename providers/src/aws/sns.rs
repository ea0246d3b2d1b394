//! SNS topics through `aws-sdk-sns`. A topic is identified by its ARN (what budgets and Config
//! delivery channels reference); it is found again by its name, unique per account and region.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_sns::types::Tag;
use serde_json::Value;

use super::AwsClients;
use super::doc::{Obj, field_bool, field_str, invalid};
use crate::provider::{
    Desired, Handle, Live, OWNER_TAG, Provider, ProviderError, ProviderSet, api_err,
    refuse_in_place_change,
};

const SERVICE: &str = "sns";

/// Registers the SNS provider for `aws_sns_topic`.
pub fn register(set: &mut ProviderSet, clients: &AwsClients) {
    set.add(Arc::new(SnsProvider {
        client: clients.sns.clone(),
    }));
}

/// SNS topics.
#[derive(Debug, Clone)]
pub struct SnsProvider {
    client: aws_sdk_sns::Client,
}

impl SnsProvider {
    pub fn new(client: aws_sdk_sns::Client) -> Self {
        Self { client }
    }
}

/// The topic attributes a document sets, as SNS names and spells them.
fn attributes(d: &Desired) -> Result<Vec<(&'static str, String)>, ProviderError> {
    let props = &d.properties;
    let mut out = Vec::new();
    if let Some(v) = field_str(props, "display_name") {
        out.push(("DisplayName", v.to_owned()));
    }
    if let Some(v) = field_str(props, "kms_master_key_id") {
        out.push(("KmsMasterKeyId", v.to_owned()));
    }
    match d.prop("policy") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => out.push(("Policy", s.clone())),
        Some(v @ Value::Object(_)) => out.push(("Policy", v.to_string())),
        Some(_) => return Err(invalid(d, "`policy` must be a JSON object or a string")),
    }
    Ok(out)
}

fn topic_name(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

impl SnsProvider {
    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(api_err(SERVICE, "ListTagsForResource"))?;
        Ok(out
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    fn sns_tags(d: &Desired) -> Result<Vec<Tag>, ProviderError> {
        d.tags_with_owner()
            .into_iter()
            .map(|(k, v)| {
                Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| invalid(d, format!("tag: {e}")))
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl Provider for SnsProvider {
    fn types(&self) -> &'static [&'static str] {
        &["aws_sns_topic"]
    }

    fn replace_on_change(&self, _type_name: &str) -> &'static [&'static str] {
        &["name", "fifo_topic"]
    }

    async fn create(&self, d: &Desired) -> Result<Handle, ProviderError> {
        let mut call = self
            .client
            .create_topic()
            .name(d.str_prop("name")?)
            .set_tags(Some(Self::sns_tags(d)?));
        for (k, v) in attributes(d)? {
            call = call.attributes(k, v);
        }
        if field_bool(&d.properties, "fifo_topic") == Some(true) {
            call = call.attributes("FifoTopic", "true");
        }
        let out = call.send().await.map_err(api_err(SERVICE, "CreateTopic"))?;
        let arn = out
            .topic_arn()
            .ok_or_else(|| ProviderError::missing(SERVICE, "CreateTopic", "TopicArn"))?;
        Ok(Handle::new(arn))
    }

    async fn read(&self, _type_name: &str, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        let arn = handle.provider_id.as_str();
        let out = match self
            .client
            .get_topic_attributes()
            .topic_arn(arn)
            .send()
            .await
            .map_err(api_err(SERVICE, "GetTopicAttributes"))
        {
            Ok(out) => out,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let attrs = out.attributes().cloned().unwrap_or_default();
        let get = |k: &str| attrs.get(k).filter(|v| !v.is_empty()).cloned();
        let props = Obj::new()
            .opt("name", Some(topic_name(arn)))
            .opt("display_name", get("DisplayName"))
            .opt("kms_master_key_id", get("KmsMasterKeyId"))
            .opt(
                "fifo_topic",
                Some(get("FifoTopic").is_some_and(|v| v == "true")),
            )
            .opt(
                "policy",
                get("Policy").map(|p| serde_json::from_str(&p).unwrap_or(Value::String(p))),
            )
            .build();
        let mut tags = self.tags(arn).await?;
        tags.remove(OWNER_TAG);
        Ok(Some(Live {
            handle: handle.clone(),
            properties: props,
            tags,
        }))
    }

    async fn update(
        &self,
        d: &Desired,
        handle: &Handle,
        changed: &[String],
    ) -> Result<Handle, ProviderError> {
        let arn = handle.provider_id.as_str();
        refuse_in_place_change(self, d, changed)?;
        let attrs = attributes(d)?;
        for (prop, attr) in [
            ("display_name", "DisplayName"),
            ("kms_master_key_id", "KmsMasterKeyId"),
            ("policy", "Policy"),
        ] {
            if !changed.iter().any(|c| c == prop) {
                continue;
            }
            // An attribute the document no longer gives is cleared (empty value).
            let value = attrs
                .iter()
                .find(|(k, _)| *k == attr)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            self.client
                .set_topic_attributes()
                .topic_arn(arn)
                .attribute_name(attr)
                .attribute_value(value)
                .send()
                .await
                .map_err(api_err(SERVICE, "SetTopicAttributes"))?;
        }
        if changed.iter().any(|c| c == "tags") {
            let stale: Vec<String> = self
                .tags(arn)
                .await?
                .into_keys()
                .filter(|k| k != OWNER_TAG && !d.tags.contains_key(k))
                .collect();
            if !stale.is_empty() {
                self.client
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(stale))
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "UntagResource"))?;
            }
            self.client
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(Self::sns_tags(d)?))
                .send()
                .await
                .map_err(api_err(SERVICE, "TagResource"))?;
        }
        Ok(handle.clone())
    }

    async fn delete(&self, _type_name: &str, handle: &Handle) -> Result<(), ProviderError> {
        // DeleteTopic succeeds for a topic that is already gone.
        self.client
            .delete_topic()
            .topic_arn(&handle.provider_id)
            .send()
            .await
            .map_err(api_err(SERVICE, "DeleteTopic"))?;
        Ok(())
    }

    async fn find(&self, d: &Desired) -> Result<Option<Handle>, ProviderError> {
        let name = d.str_prop("name")?;
        let mut next = None;
        loop {
            let out = self
                .client
                .list_topics()
                .set_next_token(next)
                .send()
                .await
                .map_err(api_err(SERVICE, "ListTopics"))?;
            if let Some(arn) = out
                .topics()
                .iter()
                .filter_map(|t| t.topic_arn())
                .find(|arn| topic_name(arn) == name)
            {
                return Ok(Some(Handle::new(arn)));
            }
            next = out.next_token().map(str::to_owned);
            if next.is_none() {
                return Ok(None);
            }
        }
    }
}
