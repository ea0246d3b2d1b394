//! CloudWatch Logs log groups through `aws-sdk-cloudwatchlogs`. A group is identified by its
//! name (unique per account and region); references resolve to its ARN (what flow logs and
//! other log destinations take). `skip_destroy` keeps the group when the resource is deleted.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_cloudwatchlogs::types::LogGroupClass;

use super::AwsClients;
use super::doc::{Obj, field_bool, field_str, invalid};
use super::ec2::i32_of;
use crate::provider::{
    Desired, Handle, Live, OWNER_TAG, Provider, ProviderError, ProviderSet, api_err,
};

const SERVICE: &str = "logs";
const SKIP_DESTROY: &str = "skip_destroy";

/// Registers the CloudWatch Logs provider for `aws_cloudwatch_log_group`.
pub fn register(set: &mut ProviderSet, clients: &AwsClients) {
    set.add(Arc::new(LogsProvider {
        client: clients.logs.clone(),
    }));
}

/// Log groups.
#[derive(Debug, Clone)]
pub struct LogsProvider {
    client: aws_sdk_cloudwatchlogs::Client,
}

impl LogsProvider {
    pub fn new(client: aws_sdk_cloudwatchlogs::Client) -> Self {
        Self { client }
    }
}

fn handle_for(name: &str, arn: &str, d: Option<&Desired>) -> Handle {
    let mut h = Handle::with_reference(name, arn);
    if d.and_then(|d| field_bool(&d.properties, SKIP_DESTROY)) == Some(true) {
        h.attributes.insert(SKIP_DESTROY.into(), "true".into());
    }
    h
}

impl LogsProvider {
    async fn group(
        &self,
        name: &str,
    ) -> Result<Option<aws_sdk_cloudwatchlogs::types::LogGroup>, ProviderError> {
        let mut next = None;
        loop {
            let out = self
                .client
                .describe_log_groups()
                .log_group_name_prefix(name)
                .set_next_token(next)
                .send()
                .await
                .map_err(api_err(SERVICE, "DescribeLogGroups"))?;
            if let Some(g) = out
                .log_groups()
                .iter()
                .find(|g| g.log_group_name() == Some(name))
            {
                return Ok(Some(g.clone()));
            }
            next = out.next_token().map(str::to_owned);
            if next.is_none() {
                return Ok(None);
            }
        }
    }

    async fn set_retention(&self, d: &Desired, name: &str) -> Result<(), ProviderError> {
        match i32_of(d, &d.properties, "retention_in_days")? {
            Some(days) if days > 0 => {
                self.client
                    .put_retention_policy()
                    .log_group_name(name)
                    .retention_in_days(days)
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "PutRetentionPolicy"))?;
            }
            _ => {
                self.client
                    .delete_retention_policy()
                    .log_group_name(name)
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "DeleteRetentionPolicy"))?;
            }
        }
        Ok(())
    }

    async fn arn(&self, name: &str) -> Result<String, ProviderError> {
        let g = self.group(name).await?.ok_or_else(|| ProviderError::Api {
            service: SERVICE,
            operation: "DescribeLogGroups",
            code: None,
            status: None,
            message: format!("log group {name} is missing right after its creation"),
        })?;
        Ok(group_arn(&g).unwrap_or(name).to_owned())
    }
}

/// The group's ARN without the `:*` that `arn` carries.
fn group_arn(g: &aws_sdk_cloudwatchlogs::types::LogGroup) -> Option<&str> {
    g.log_group_arn()
        .or_else(|| g.arn().map(|a| a.strip_suffix(":*").unwrap_or(a)))
}

#[async_trait::async_trait]
impl Provider for LogsProvider {
    fn types(&self) -> &'static [&'static str] {
        &["aws_cloudwatch_log_group"]
    }

    fn replace_on_change(&self, _type_name: &str) -> &'static [&'static str] {
        &["name", "log_group_class"]
    }

    fn write_only(&self, _type_name: &str) -> &'static [&'static str] {
        &[SKIP_DESTROY]
    }

    async fn create(&self, d: &Desired) -> Result<Handle, ProviderError> {
        let name = d.str_prop("name")?;
        self.client
            .create_log_group()
            .log_group_name(name)
            .set_kms_key_id(field_str(&d.properties, "kms_key_id").map(str::to_owned))
            .set_log_group_class(
                field_str(&d.properties, "log_group_class").map(LogGroupClass::from),
            )
            .set_tags(Some(d.tags_with_owner().into_iter().collect()))
            .send()
            .await
            .map_err(api_err(SERVICE, "CreateLogGroup"))?;
        if d.prop("retention_in_days").is_some() {
            self.set_retention(d, name).await?;
        }
        Ok(handle_for(name, &self.arn(name).await?, Some(d)))
    }

    async fn read(&self, _type_name: &str, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        let Some(g) = self.group(&handle.provider_id).await? else {
            return Ok(None);
        };
        let mut tags: BTreeMap<String, String> = match group_arn(&g) {
            Some(arn) => self
                .client
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .map_err(api_err(SERVICE, "ListTagsForResource"))?
                .tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            None => BTreeMap::new(),
        };
        tags.remove(OWNER_TAG);
        let props = Obj::new()
            .opt("name", g.log_group_name())
            .opt("retention_in_days", g.retention_in_days())
            .opt("kms_key_id", g.kms_key_id())
            .opt("log_group_class", g.log_group_class().map(|c| c.as_str()))
            .build();
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
        let name = handle.provider_id.as_str();
        let has = |p: &str| changed.iter().any(|c| c == p);
        if let Some(p) = changed
            .iter()
            .find(|c| *c == "name" || *c == "log_group_class")
        {
            return Err(invalid(
                d,
                format!("`{p}` cannot change in place; the log group must be replaced"),
            ));
        }
        if has("retention_in_days") {
            self.set_retention(d, name).await?;
        }
        if has("kms_key_id") {
            match field_str(&d.properties, "kms_key_id") {
                Some(key) => self
                    .client
                    .associate_kms_key()
                    .log_group_name(name)
                    .kms_key_id(key)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(api_err(SERVICE, "AssociateKmsKey"))?,
                None => self
                    .client
                    .disassociate_kms_key()
                    .log_group_name(name)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(api_err(SERVICE, "DisassociateKmsKey"))?,
            }
        }
        if has("tags") {
            let arn = handle.reference.as_str();
            let live = self.read("aws_cloudwatch_log_group", handle).await?;
            let stale: Vec<String> = live
                .map(|l| {
                    l.tags
                        .into_keys()
                        .filter(|k| !d.tags.contains_key(k))
                        .collect()
                })
                .unwrap_or_default();
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
                .set_tags(Some(d.tags_with_owner().into_iter().collect()))
                .send()
                .await
                .map_err(api_err(SERVICE, "TagResource"))?;
        }
        Ok(handle_for(name, &handle.reference, Some(d)))
    }

    async fn delete(&self, _type_name: &str, handle: &Handle) -> Result<(), ProviderError> {
        if handle
            .attributes
            .get(SKIP_DESTROY)
            .is_some_and(|v| v == "true")
        {
            return Ok(());
        }
        match self
            .client
            .delete_log_group()
            .log_group_name(&handle.provider_id)
            .send()
            .await
            .map_err(api_err(SERVICE, "DeleteLogGroup"))
        {
            Err(e) if !e.is_not_found() && e.code() != Some("ResourceNotFoundException") => Err(e),
            _ => Ok(()),
        }
    }

    async fn find(&self, d: &Desired) -> Result<Option<Handle>, ProviderError> {
        let name = d.str_prop("name")?;
        Ok(self.group(name).await?.map(|g| {
            let arn = group_arn(&g).unwrap_or(name).to_owned();
            handle_for(name, &arn, Some(d))
        }))
    }
}
