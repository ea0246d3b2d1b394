//! RDS through `aws-sdk-rds`: DB subnet groups (`aws_db_subnet_group`), Aurora cluster parameter
//! groups with their parameters (`aws_rds_cluster_parameter_group`), Aurora clusters
//! (`aws_rds_cluster`) and the instances in them (`aws_rds_cluster_instance`).
//!
//! Every object has a unique name the caller chooses, so [`Provider::find`] looks it up by that
//! name and adopts it only when its [`OWNER_TAG`] is absent or names the same resource. Every
//! object is created with its tags plus [`OWNER_TAG`] in the create call itself.
//!
//! **References.** A `${…}` reference to any of these types resolves to the object's name as RDS
//! takes it in other calls: the subnet group's `name`, the parameter group's `name`, the
//! cluster's `cluster_identifier` and the instance's `identifier` (RDS stores all of them in
//! lower case, so the handle carries the lower-case form). That is what `db_subnet_group_name`,
//! `db_cluster_parameter_group_name` and an instance's `cluster_identifier` take. The ARN is kept
//! in the handle's `arn` attribute.
//!
//! **Waits.** After creating or modifying a cluster or an instance the provider waits, with the
//! SDK's `wait_until_db_cluster_available` / `wait_until_db_instance_available` waiters, until it
//! is `available`; after deleting one, until it is gone. Each wait is bounded (90 minutes by
//! default, [`RdsProvider::with_timeout`]) and ends with a clear timeout error.
//!
//! **Deletes.** A cluster with `deletion_protection` on is never unprotected behind the
//! caller's back: deleting it fails with an error that says to set `deletion_protection` to
//! `false` and apply first. `skip_final_snapshot` and `final_snapshot_identifier` are write-only
//! (RDS does not keep them): they are recorded in the handle at create and update and used by
//! the delete, which refuses to run when neither asks for anything (RDS would refuse too).
//! Instances in a cluster are deleted without a snapshot of their own (the cluster's backups
//! cover them).
//!
//! **Secrets.** A master password in a document is refused: use
//! `manage_master_user_password` (RDS keeps the password in Secrets Manager).

mod cluster;
mod groups;
mod instance;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_rds::types::Tag;
use aws_smithy_runtime_api::client::waiters::FinalPoll;
use aws_smithy_runtime_api::client::waiters::error::WaiterError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;

use super::AwsClients;
use super::doc::{invalid, opt_i64};
use crate::provider::{
    Desired, Handle, Live, OWNER_TAG, Provider, ProviderError, ProviderSet, api_err, found,
    refuse_in_place_change, waiter_error,
};

const SERVICE: &str = "rds";

/// The types this module provides.
pub const TYPES: &[&str] = &[
    "aws_db_subnet_group",
    "aws_rds_cluster_parameter_group",
    "aws_rds_cluster",
    "aws_rds_cluster_instance",
];

/// Registers the RDS provider for [`TYPES`].
pub fn register(set: &mut ProviderSet, clients: &AwsClients) {
    set.add(Arc::new(RdsProvider::new(clients.rds.clone())));
}

/// Subnet groups, cluster parameter groups, clusters and cluster instances.
#[derive(Debug, Clone)]
pub struct RdsProvider {
    client: aws_sdk_rds::Client,
    /// The bound on each wait for a cluster or instance to become available or to go.
    timeout: Duration,
}

impl RdsProvider {
    pub fn new(client: aws_sdk_rds::Client) -> Self {
        Self {
            client,
            timeout: Duration::from_secs(90 * 60),
        }
    }

    /// The same provider with another bound on each wait.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

#[async_trait::async_trait]
impl Provider for RdsProvider {
    fn types(&self) -> &'static [&'static str] {
        TYPES
    }

    fn replace_on_change(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            "aws_db_subnet_group" => &["name"],
            "aws_rds_cluster_parameter_group" => &["name", "family", "description"],
            "aws_rds_cluster" => cluster::REPLACE_ON_CHANGE,
            "aws_rds_cluster_instance" => instance::REPLACE_ON_CHANGE,
            _ => &[],
        }
    }

    fn write_only(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            "aws_rds_cluster" => cluster::WRITE_ONLY,
            "aws_rds_cluster_instance" => instance::WRITE_ONLY,
            _ => &[],
        }
    }

    fn normalize(&self, type_name: &str, properties: &mut Value) {
        match type_name {
            "aws_db_subnet_group" => groups::normalize_subnet_group(properties),
            "aws_rds_cluster_parameter_group" => groups::normalize_parameter_group(properties),
            "aws_rds_cluster" => cluster::normalize(properties),
            "aws_rds_cluster_instance" => instance::normalize(properties),
            _ => {}
        }
    }

    async fn create(&self, d: &Desired) -> Result<Handle, ProviderError> {
        match d.type_name.as_str() {
            "aws_db_subnet_group" => groups::create_subnet_group(self, d).await,
            "aws_rds_cluster_parameter_group" => groups::create_parameter_group(self, d).await,
            "aws_rds_cluster" => cluster::create(self, d).await,
            "aws_rds_cluster_instance" => instance::create(self, d).await,
            other => Err(invalid(d, format!("type `{other}` is not an RDS type"))),
        }
    }

    async fn read(&self, type_name: &str, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        match type_name {
            "aws_db_subnet_group" => groups::read_subnet_group(self, handle).await,
            "aws_rds_cluster_parameter_group" => groups::read_parameter_group(self, handle).await,
            "aws_rds_cluster" => cluster::read(self, handle).await,
            "aws_rds_cluster_instance" => instance::read(self, handle).await,
            other => Err(not_rds(other, handle)),
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
            "aws_db_subnet_group" => groups::update_subnet_group(self, d, handle, changed).await,
            "aws_rds_cluster_parameter_group" => {
                groups::update_parameter_group(self, d, handle, changed).await
            }
            "aws_rds_cluster" => cluster::update(self, d, handle, changed).await,
            "aws_rds_cluster_instance" => instance::update(self, d, handle, changed).await,
            other => Err(invalid(d, format!("type `{other}` is not an RDS type"))),
        }
    }

    async fn delete(&self, type_name: &str, handle: &Handle) -> Result<(), ProviderError> {
        let result = match type_name {
            "aws_db_subnet_group" => self
                .client
                .delete_db_subnet_group()
                .db_subnet_group_name(&handle.provider_id)
                .send()
                .await
                .map(|_| ())
                .map_err(api_err(SERVICE, "DeleteDBSubnetGroup")),
            "aws_rds_cluster_parameter_group" => self
                .client
                .delete_db_cluster_parameter_group()
                .db_cluster_parameter_group_name(&handle.provider_id)
                .send()
                .await
                .map(|_| ())
                .map_err(api_err(SERVICE, "DeleteDBClusterParameterGroup")),
            "aws_rds_cluster" => cluster::delete(self, handle).await,
            "aws_rds_cluster_instance" => instance::delete(self, handle).await,
            other => Err(not_rds(other, handle)),
        };
        found(result).map(|_| ())
    }

    async fn find(&self, d: &Desired) -> Result<Option<Handle>, ProviderError> {
        match d.type_name.as_str() {
            "aws_db_subnet_group" => groups::find_subnet_group(self, d).await,
            "aws_rds_cluster_parameter_group" => groups::find_parameter_group(self, d).await,
            "aws_rds_cluster" => cluster::find(self, d).await,
            "aws_rds_cluster_instance" => instance::find(self, d).await,
            other => Err(invalid(d, format!("type `{other}` is not an RDS type"))),
        }
    }
}

fn not_rds(type_name: &str, handle: &Handle) -> ProviderError {
    ProviderError::Invalid {
        resource: handle.provider_id.clone(),
        message: format!("type `{type_name}` is not an RDS type"),
    }
}

/// Refuses a document with a property this provider does not know, naming it: an ignored
/// property would read back as missing forever, or worse, pass a policy it does not meet.
fn check_known(d: &Desired, known: &[&str]) -> Result<(), ProviderError> {
    let Some(props) = d.properties.as_object() else {
        return Err(invalid(d, "`properties` must be an object"));
    };
    if props.contains_key("master_password") || props.contains_key("master_user_password") {
        return Err(invalid(
            d,
            "a master password in the document is not supported (it would be kept in plans and \
             state): set `manage_master_user_password: true` so RDS keeps it in Secrets Manager",
        ));
    }
    match props.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(invalid(
            d,
            format!(
                "property `{k}` is not supported for {} (supported: {})",
                d.type_name,
                known.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

/// An optional `i32` property, or an error naming it.
fn opt_i32(d: &Desired, name: &str) -> Result<Option<i32>, ProviderError> {
    opt_i64(d, name)?
        .map(|n| {
            i32::try_from(n)
                .map_err(|_| invalid(d, format!("property `{name}` is out of range: {n}")))
        })
        .transpose()
}

/// The document's tags plus [`OWNER_TAG`], for a create call.
fn create_tags(d: &Desired) -> Vec<Tag> {
    d.tags_with_owner()
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Every tag on `arn`, [`OWNER_TAG`] included.
async fn live_tags(p: &RdsProvider, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = p
        .client
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .map_err(api_err(SERVICE, "ListTagsForResource"))?;
    Ok(out
        .tag_list()
        .iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect())
}

/// Brings the tags on `arn` to the document's tags plus [`OWNER_TAG`].
async fn sync_tags(p: &RdsProvider, d: &Desired, arn: &str) -> Result<(), ProviderError> {
    let live = live_tags(p, arn).await?;
    let stale = super::doc::tag_keys_to_remove(&live, &d.tags);
    if !stale.is_empty() {
        p.client
            .remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(stale))
            .send()
            .await
            .map_err(api_err(SERVICE, "RemoveTagsFromResource"))?;
    }
    p.client
        .add_tags_to_resource()
        .resource_name(arn)
        .set_tags(Some(create_tags(d)))
        .send()
        .await
        .map_err(api_err(SERVICE, "AddTagsToResource"))?;
    Ok(())
}

/// The outcome of an SDK waiter as a [`ProviderError`] ([`waiter_error`]); `status` describes
/// the last answer's states.
fn waited<O, E, S>(
    operation: &'static str,
    what: &str,
    result: Result<FinalPoll<O, S>, WaiterError<O, E>>,
    status: impl Fn(&O) -> String,
) -> Result<(), ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    O: std::fmt::Debug,
{
    result.map(|_| ()).map_err(|e| {
        waiter_error(
            SERVICE,
            operation,
            what,
            |o| format!("status {}", status(o)),
            e,
        )
    })
}

/// Lower-cases the string at `key` (RDS stores names and identifiers in lower case).
fn lower(props: &mut Value, key: &str) {
    if let Some(Value::String(s)) = props.get_mut(key) {
        *s = s.to_lowercase();
    }
}

/// Sorts the list of strings at `key`.
fn sort_strings(props: &mut Value, key: &str) {
    if let Some(Value::Array(a)) = props.get_mut(key) {
        a.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
    }
}

/// A sorted list of strings as a JSON value.
fn sorted(mut v: Vec<String>) -> Value {
    v.sort();
    Value::from(v)
}

/// Whether `changed` names any of `props`.
fn any_changed(changed: &[String], props: &[&str]) -> bool {
    changed.iter().any(|c| props.contains(&c.as_str()))
}

/// Refuses an update that names a property no branch handles (a gap in this provider, reported
/// rather than silently skipped).
fn check_handled(d: &Desired, changed: &[String], handled: &[&str]) -> Result<(), ProviderError> {
    match changed.iter().find(|c| !handled.contains(&c.as_str())) {
        Some(c) => Err(invalid(
            d,
            format!("`{c}` cannot be changed in place by this provider"),
        )),
        None => Ok(()),
    }
}

/// The handle of an object whose reference is its (lower-case) name, with its ARN.
fn named_handle(name: &str, arn: Option<&str>) -> Handle {
    let mut h = Handle::new(name);
    if let Some(arn) = arn {
        h.attributes.insert("arn".into(), arn.to_owned());
    }
    h
}

/// Tags of a read, without [`OWNER_TAG`].
fn without_owner(tags: BTreeMap<String, String>) -> BTreeMap<String, String> {
    tags.into_iter().filter(|(k, _)| k != OWNER_TAG).collect()
}
