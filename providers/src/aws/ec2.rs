//! EC2 and VPC resource types through `aws-sdk-ec2`: VPCs, subnets, internet gateways, route
//! tables and their subnet associations, security groups, Elastic IPs, NAT gateways, network ACLs,
//! flow logs, launch templates and instances.
//!
//! One provider serves them all; each type's create, read, update and delete live in
//! [`network`], [`security_group`], [`flow_log`], [`launch_template`] and [`instance`]. Every
//! taggable object is created with [`OWNER_TAG`] in its tag specification (one call: there is no
//! window in which it exists untagged), and [`Provider::find`] looks for that tag, since most of
//! these objects have no unique name of their own (launch templates do, and are found by it).
//! Reads return the stack document's shape in canonical form (rule and route lists sorted,
//! protocol spellings unified); [`Provider::normalize`] puts a desired document in the same form.

mod flow_log;
mod instance;
mod launch_template;
mod network;
mod security_group;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use serde_json::Value;

use crate::aws::AwsClients;
use crate::aws::doc::{Obj, field_bool, field_i64, field_str, invalid};
use crate::provider::{
    Desired, Handle, Live, OWNER_TAG, Provider, ProviderError, ProviderSet, api_err, found,
    refuse_in_place_change,
};

const SERVICE: &str = "ec2";

/// The types this module provides.
pub const TYPES: &[&str] = &[
    "aws_vpc",
    "aws_subnet",
    "aws_internet_gateway",
    "aws_route_table",
    "aws_route_table_association",
    "aws_security_group",
    "aws_eip",
    "aws_nat_gateway",
    "aws_network_acl",
    "aws_flow_log",
    "aws_launch_template",
    "aws_instance",
];

/// Registers the EC2 provider for [`TYPES`].
pub fn register(set: &mut ProviderSet, clients: &AwsClients) {
    set.add(std::sync::Arc::new(Ec2Provider::new(clients.ec2.clone())));
}

/// Creates, reads, updates and deletes the EC2 and VPC types in [`TYPES`].
#[derive(Debug, Clone)]
pub struct Ec2Provider {
    client: aws_sdk_ec2::Client,
    /// How long to wait for an object to settle (a NAT gateway to go, an instance to stop).
    settle_timeout: Duration,
}

impl Ec2Provider {
    pub fn new(client: aws_sdk_ec2::Client) -> Self {
        Self {
            client,
            settle_timeout: Duration::from_secs(15 * 60),
        }
    }
}

#[async_trait::async_trait]
impl Provider for Ec2Provider {
    fn types(&self) -> &'static [&'static str] {
        TYPES
    }

    fn replace_on_change(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            "aws_vpc" => &["cidr_block", "instance_tenancy"],
            "aws_subnet" => &["vpc_id", "cidr_block", "availability_zone"],
            "aws_route_table" => &["vpc_id"],
            "aws_route_table_association" => &["subnet_id"],
            "aws_security_group" => &["name", "description", "vpc_id"],
            "aws_eip" => &["domain"],
            "aws_nat_gateway" => &["allocation_id", "subnet_id", "connectivity_type"],
            "aws_network_acl" => &["vpc_id"],
            "aws_instance" => instance::REPLACE_ON_CHANGE,
            "aws_flow_log" => flow_log::REPLACE_ON_CHANGE,
            "aws_launch_template" => launch_template::REPLACE_ON_CHANGE,
            _ => &[],
        }
    }

    fn write_only(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            "aws_security_group" => &["revoke_rules_on_delete"],
            "aws_launch_template" => launch_template::WRITE_ONLY,
            _ => &[],
        }
    }

    fn normalize(&self, type_name: &str, properties: &mut Value) {
        match type_name {
            "aws_security_group" => security_group::normalize(properties),
            "aws_route_table" => network::normalize_route_table(properties),
            "aws_network_acl" => network::normalize_network_acl(properties),
            "aws_instance" => instance::normalize(properties),
            _ => {}
        }
    }

    async fn create(&self, desired: &Desired) -> Result<Handle, ProviderError> {
        match desired.type_name.as_str() {
            "aws_security_group" => security_group::create(self, desired).await,
            "aws_instance" => instance::create(self, desired).await,
            "aws_flow_log" => flow_log::create(self, desired).await,
            "aws_launch_template" => launch_template::create(self, desired).await,
            _ => network::create(self, desired).await,
        }
    }

    async fn read(&self, type_name: &str, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        match type_name {
            "aws_security_group" => security_group::read(self, handle).await,
            "aws_instance" => instance::read(self, handle).await,
            "aws_flow_log" => flow_log::read(self, handle).await,
            "aws_launch_template" => launch_template::read(self, handle).await,
            _ => network::read(self, type_name, handle).await,
        }
    }

    async fn update(
        &self,
        desired: &Desired,
        handle: &Handle,
        changed: &[String],
    ) -> Result<Handle, ProviderError> {
        refuse_in_place_change(self, desired, changed)?;
        match desired.type_name.as_str() {
            "aws_security_group" => security_group::update(self, desired, handle, changed).await,
            "aws_instance" => instance::update(self, desired, handle, changed).await,
            "aws_flow_log" => flow_log::update(self, desired, handle, changed).await,
            "aws_launch_template" => launch_template::update(self, desired, handle, changed).await,
            _ => network::update(self, desired, handle, changed).await,
        }
    }

    async fn delete(&self, type_name: &str, handle: &Handle) -> Result<(), ProviderError> {
        let result = match type_name {
            "aws_security_group" => security_group::delete(self, handle).await,
            "aws_instance" => instance::delete(self, handle).await,
            "aws_flow_log" => flow_log::delete(self, handle).await,
            "aws_launch_template" => launch_template::delete(self, handle).await,
            _ => network::delete(self, type_name, handle).await,
        };
        match result {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        }
    }

    async fn find(&self, desired: &Desired) -> Result<Option<Handle>, ProviderError> {
        match desired.type_name.as_str() {
            "aws_security_group" => security_group::find(self, desired).await,
            "aws_instance" => instance::find(self, desired).await,
            "aws_flow_log" => flow_log::find(self, desired).await,
            "aws_launch_template" => launch_template::find(self, desired).await,
            _ => network::find(self, desired).await,
        }
    }
}

/// The document's tags plus [`OWNER_TAG`], for a create call.
fn tag_spec(resource_type: ResourceType, desired: &Desired) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource_type)
        .set_tags(Some(
            desired
                .tags_with_owner()
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

/// Tags as a map, without [`OWNER_TAG`].
fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .filter(|(k, _)| k != OWNER_TAG)
        .collect()
}

/// The filter that finds what `desired` created.
fn owner_filter(desired: &Desired) -> Filter {
    Filter::builder()
        .name(format!("tag:{OWNER_TAG}"))
        .values(desired.address())
        .build()
}

fn filter(name: &str, value: impl Into<String>) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// Brings the tags of `resource_id` from `live` (without [`OWNER_TAG`]) to the desired ones,
/// keeping [`OWNER_TAG`].
async fn sync_tags(
    provider: &Ec2Provider,
    resource_id: &str,
    live: &BTreeMap<String, String>,
    desired: &Desired,
) -> Result<(), ProviderError> {
    let stale: Vec<Tag> = live
        .keys()
        .filter(|k| !desired.tags.contains_key(*k))
        .map(|k| Tag::builder().key(k).build())
        .collect();
    if !stale.is_empty() {
        provider
            .client
            .delete_tags()
            .resources(resource_id)
            .set_tags(Some(stale))
            .send()
            .await
            .map_err(api_err(SERVICE, "DeleteTags"))?;
    }
    provider
        .client
        .create_tags()
        .resources(resource_id)
        .set_tags(Some(
            desired
                .tags_with_owner()
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .map_err(api_err(SERVICE, "CreateTags"))?;
    Ok(())
}

/// Polls `check` every few seconds until it says done, or fails after `timeout`.
async fn wait_for<F, Fut>(
    operation: &'static str,
    what: &str,
    timeout: Duration,
    mut check: F,
) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, ProviderError>>,
{
    let start = Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        if check().await? {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            return Err(ProviderError::Transport {
                service: SERVICE,
                operation,
                message: format!("gave up after {}s waiting for {what}", timeout.as_secs()),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// A list of strings (absent → empty).
fn strings_of(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// An `i32` property, or an error naming it.
pub(super) fn i32_of(
    desired: &Desired,
    v: &Value,
    key: &str,
) -> Result<Option<i32>, ProviderError> {
    match field_i64(v, key) {
        None => Ok(None),
        Some(n) => i32::try_from(n)
            .map(Some)
            .map_err(|_| invalid(desired, format!("`{key}` is out of range: {n}"))),
    }
}
