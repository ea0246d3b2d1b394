//! EKS clusters, managed node groups and add-ons, through `aws-sdk-eks`.
//!
//! References: a `${cluster}` reference resolves to the cluster's **name** (node groups and
//! add-ons take `cluster_name`; an ARN is accepted there too), a node group's or an add-on's to
//! its ARN. Each object has a unique name within its account and region (a cluster) or within its
//! cluster (node groups, add-ons), so [`Provider::find`] looks it up by name and refuses to adopt
//! one whose [`OWNER_TAG`] names another resource. Tags are read from the Describe answer (EKS
//! returns them there for all three) and changed with TagResource/UntagResource on the ARN.
//!
//! Everything EKS does takes minutes: after each create and update the provider waits with the
//! SDK's waiters (`ClusterActive`, `NodegroupActive`, `AddonActive`) and after each delete with the
//! matching `…Deleted` waiter, each bounded by [`Timeouts`]; a timeout or a failed state is an
//! error naming the object. Node groups are therefore gone before their cluster's delete starts
//! (apply deletes dependents first).
//!
//! Reads return the stack document's shape in canonical form: set-like lists sorted (subnets,
//! security groups, CIDRs, log types, taints), `public_access_cidrs` left out when the public
//! endpoint is off (EKS reports its default `0.0.0.0/0` there regardless), and add-on
//! `configuration_values` as a JSON object (the API takes and returns a string).
//! [`Provider::normalize`] puts a desired document in the same form.

mod addon;
mod cluster;
mod nodegroup;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::client::waiters::error::WaiterError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::{Map, Value};

use super::AwsClients;
use super::doc::{check_owner, invalid, owner_of};
use crate::provider::{
    Desired, Handle, Live, OWNER_TAG, Provider, ProviderError, ProviderSet, api_err, found,
    refuse_in_place_change, waiter_error,
};

const SERVICE: &str = "eks";

/// The types this module provides.
pub const TYPES: &[&str] = &["aws_eks_cluster", "aws_eks_node_group", "aws_eks_addon"];

/// Registers the EKS provider for [`TYPES`].
pub fn register(set: &mut ProviderSet, clients: &AwsClients) {
    set.add(Arc::new(EksProvider::new(clients.eks.clone())));
}

/// How long to wait for EKS to finish an operation before giving up with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// A cluster to become ACTIVE after its creation (AWS: 10–15 minutes).
    pub cluster_create: Duration,
    /// A cluster to become ACTIVE again after an update (a version upgrade takes 20–40 minutes).
    pub cluster_update: Duration,
    /// A cluster to be gone after DeleteCluster.
    pub cluster_delete: Duration,
    /// A node group to become ACTIVE after a create or update, or to be gone after a delete.
    pub node_group: Duration,
    /// An add-on to become ACTIVE after a create or update, or to be gone after a delete.
    pub addon: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let min = |m: u64| Duration::from_secs(m * 60);
        Self {
            cluster_create: min(30),
            cluster_update: min(60),
            cluster_delete: min(30),
            node_group: min(60),
            addon: min(20),
        }
    }
}

/// Clusters, node groups and add-ons.
#[derive(Debug, Clone)]
pub struct EksProvider {
    client: aws_sdk_eks::Client,
    timeouts: Timeouts,
}

impl EksProvider {
    pub fn new(client: aws_sdk_eks::Client) -> Self {
        Self::with_timeouts(client, Timeouts::default())
    }

    pub fn with_timeouts(client: aws_sdk_eks::Client, timeouts: Timeouts) -> Self {
        Self { client, timeouts }
    }
}

#[async_trait::async_trait]
impl Provider for EksProvider {
    fn types(&self) -> &'static [&'static str] {
        TYPES
    }

    fn replace_on_change(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            "aws_eks_cluster" => cluster::REPLACE_ON_CHANGE,
            "aws_eks_node_group" => nodegroup::REPLACE_ON_CHANGE,
            "aws_eks_addon" => addon::REPLACE_ON_CHANGE,
            _ => &[],
        }
    }

    fn write_only(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            "aws_eks_addon" => addon::WRITE_ONLY,
            _ => &[],
        }
    }

    fn normalize(&self, type_name: &str, properties: &mut Value) {
        match type_name {
            "aws_eks_cluster" => cluster::normalize(properties),
            "aws_eks_node_group" => nodegroup::normalize(properties),
            "aws_eks_addon" => addon::normalize(properties),
            _ => {}
        }
    }

    async fn create(&self, d: &Desired) -> Result<Handle, ProviderError> {
        match d.type_name.as_str() {
            "aws_eks_cluster" => cluster::create(self, d).await,
            "aws_eks_node_group" => nodegroup::create(self, d).await,
            "aws_eks_addon" => addon::create(self, d).await,
            other => Err(invalid(d, format!("type `{other}` is not an EKS type"))),
        }
    }

    async fn read(&self, type_name: &str, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        match type_name {
            "aws_eks_cluster" => cluster::read(self, handle).await,
            "aws_eks_node_group" => nodegroup::read(self, handle).await,
            _ => addon::read(self, handle).await,
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
            "aws_eks_cluster" => cluster::update(self, d, handle, changed).await,
            "aws_eks_node_group" => nodegroup::update(self, d, handle, changed).await,
            "aws_eks_addon" => addon::update(self, d, handle, changed).await,
            other => Err(invalid(d, format!("type `{other}` is not an EKS type"))),
        }
    }

    async fn delete(&self, type_name: &str, handle: &Handle) -> Result<(), ProviderError> {
        let result = match type_name {
            "aws_eks_cluster" => cluster::delete(self, handle).await,
            "aws_eks_node_group" => nodegroup::delete(self, handle).await,
            _ => addon::delete(self, handle).await,
        };
        found(result).map(|_| ())
    }

    async fn find(&self, d: &Desired) -> Result<Option<Handle>, ProviderError> {
        match d.type_name.as_str() {
            "aws_eks_cluster" => cluster::find(self, d).await,
            "aws_eks_node_group" => nodegroup::find(self, d).await,
            "aws_eks_addon" => addon::find(self, d).await,
            other => Err(invalid(d, format!("type `{other}` is not an EKS type"))),
        }
    }
}

/// Fails on a property (at `path`, `""` for the top level) that the provider does not know, so
/// nothing in a document is silently ignored.
fn check_keys(d: &Desired, obj: &Value, path: &str, allowed: &[&str]) -> Result<(), ProviderError> {
    let Some(map) = obj.as_object() else {
        return Err(invalid(
            d,
            format!(
                "property `{}` must be an object",
                path.trim_end_matches('.')
            ),
        ));
    };
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(invalid(
            d,
            format!(
                "property `{path}{k}` is not supported by the EKS provider (supported: {})",
                allowed.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

/// An optional object property (`null` counts as absent).
fn opt_obj<'a>(d: &Desired, v: &'a Value, name: &str) -> Result<Option<&'a Value>, ProviderError> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(o @ Value::Object(_)) => Ok(Some(o)),
        Some(_) => Err(invalid(d, format!("property `{name}` must be an object"))),
    }
}

/// An optional list of strings at `v[name]`, naming `path` in errors.
fn opt_strings(d: &Desired, v: &Value, name: &str) -> Result<Option<Vec<String>>, ProviderError> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => super::doc::str_list(x)
            .map(Some)
            .ok_or_else(|| invalid(d, format!("`{name}` must be a list of strings"))),
    }
}

/// An optional string at `v[name]`.
fn opt_string(d: &Desired, v: &Value, name: &str) -> Result<Option<String>, ProviderError> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(d, format!("`{name}` must be a string"))),
    }
}

/// An optional boolean at `v[name]`.
fn opt_bool(d: &Desired, v: &Value, name: &str) -> Result<Option<bool>, ProviderError> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(d, format!("`{name}` must be a boolean"))),
    }
}

/// An optional `i32` at `v[name]`.
fn opt_i32(d: &Desired, v: &Value, name: &str) -> Result<Option<i32>, ProviderError> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| invalid(d, format!("`{name}` must be an integer"))),
    }
}

/// Sorts the list of strings at `v[key]`, if there is one.
fn sort_strings(v: &mut Value, key: &str) {
    if let Some(Value::Array(a)) = v.get_mut(key) {
        a.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
        a.dedup();
    }
}

/// A list of strings as JSON, sorted.
fn sorted(items: &[String]) -> Value {
    let mut v: Vec<&String> = items.iter().collect();
    v.sort();
    v.dedup();
    Value::Array(v.into_iter().map(|s| Value::String(s.clone())).collect())
}

/// Tags as EKS returns them, without [`OWNER_TAG`].
fn live_tags(tags: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    tags.map(|t| {
        t.iter()
            .filter(|(k, _)| k.as_str() != OWNER_TAG)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    })
    .unwrap_or_default()
}

/// The tags a create call carries: the document's plus [`OWNER_TAG`].
fn create_tags(d: &Desired) -> HashMap<String, String> {
    d.tags_with_owner().into_iter().collect()
}

/// Refuses to adopt an object whose [`OWNER_TAG`] names another resource.
fn check_found_owner(
    d: &Desired,
    tags: Option<&HashMap<String, String>>,
    what: &str,
) -> Result<(), ProviderError> {
    let owner = tags.and_then(|t| owner_of(t.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
    check_owner(d, owner, what)
}

/// Brings the tags of `arn` from `live` (the object's tags as described, owner tag included)
/// to the document's, keeping [`OWNER_TAG`].
async fn sync_tags(
    p: &EksProvider,
    arn: &str,
    live: Option<&HashMap<String, String>>,
    d: &Desired,
) -> Result<(), ProviderError> {
    let want = d.tags_with_owner();
    let stale: Vec<String> = live
        .map(|t| {
            t.keys()
                .filter(|k| !want.contains_key(*k) && k.as_str() != OWNER_TAG)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if !stale.is_empty() {
        p.client
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(stale))
            .send()
            .await
            .map_err(api_err(SERVICE, "UntagResource"))?;
    }
    let missing: HashMap<String, String> = want
        .into_iter()
        .filter(|(k, v)| live.and_then(|t| t.get(k)) != Some(v))
        .collect();
    if !missing.is_empty() {
        p.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(missing))
            .send()
            .await
            .map_err(api_err(SERVICE, "TagResource"))?;
    }
    Ok(())
}

/// [`waiter_error`] for EKS.
fn wait_err<O, E>(
    operation: &'static str,
    what: &str,
    describe: impl Fn(&O) -> String,
    e: WaiterError<O, E>,
) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    O: std::fmt::Debug,
{
    waiter_error(SERVICE, operation, what, describe, e)
}

/// `cluster:name`, the provider id of a node group or add-on.
fn child_id(cluster: &str, name: &str) -> String {
    format!("{cluster}:{name}")
}

/// The cluster and object names in a `cluster:name` provider id.
fn split_child_id(
    handle: &Handle,
    operation: &'static str,
) -> Result<(String, String), ProviderError> {
    handle
        .provider_id
        .split_once(':')
        .map(|(c, n)| (c.to_owned(), n.to_owned()))
        .ok_or_else(|| ProviderError::Transport {
            service: SERVICE,
            operation,
            message: format!(
                "provider id `{}` is not `cluster:name`; the state was not written by this \
                 provider",
                handle.provider_id
            ),
        })
}

/// A handle for a node group or add-on: id `cluster:name`, references resolve to the ARN.
fn child_handle(cluster: &str, name: &str, arn: Option<&str>) -> Handle {
    let id = child_id(cluster, name);
    let mut h = Handle::with_reference(id.clone(), arn.unwrap_or(&id));
    if let Some(arn) = arn {
        h.attributes.insert("arn".into(), arn.to_owned());
    }
    h.attributes
        .insert("cluster_name".into(), cluster.to_owned());
    h
}

/// Builds a JSON object from optional fields.
fn object(fields: Vec<(&str, Option<Value>)>) -> Value {
    let mut m = Map::new();
    for (k, v) in fields {
        if let Some(v) = v {
            m.insert(k.to_owned(), v);
        }
    }
    Value::Object(m)
}

/// The cluster name of a `cluster_name` property: a name, or a cluster ARN
/// (`arn:aws:eks:…:cluster/NAME`).
fn cluster_name_of(d: &Desired) -> Result<String, ProviderError> {
    Ok(super::doc::name_from_arn(d.str_prop("cluster_name")?).to_owned())
}
