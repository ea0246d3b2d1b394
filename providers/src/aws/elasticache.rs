//! ElastiCache cache subnet groups and Redis/Valkey replication groups (cluster mode disabled),
//! through `aws-sdk-elasticache`.
//!
//! Both have a unique name per account and region (`name`, `replication_group_id`), which is
//! their provider id and how [`Provider::find`] adopts them; an object found by name whose
//! [`OWNER_TAG`](crate::provider::OWNER_TAG) names another resource is a conflict, not a resume. A reference to a subnet group
//! resolves to its name (what a replication group's `subnet_group_name` takes); a reference to a
//! replication group resolves to its ARN (what IAM policies and tags take).
//!
//! A replication group is read from `DescribeReplicationGroups` plus its primary member cluster
//! (`DescribeCacheClusters`): the engine version, parameter group, subnet group, security groups
//! and maintenance window are only reported per cluster. After a create or a change Tollgate waits
//! (bounded, SDK waiter) until the group is `available`; after a delete until it is gone, since its
//! subnet group and key cannot go before it. A group being deleted reads as gone.
//!
//! Canonical form: id lists sorted, log delivery configurations sorted by `log_type` with their
//! `destination` as a log group (or delivery stream) name where a document gives an ARN,
//! `engine_version` as major.minor for Redis 6 and later (the service picks the patch level).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_elasticache::client::Waiters;
use aws_sdk_elasticache::operation::describe_replication_groups::{
    DescribeReplicationGroupsError, DescribeReplicationGroupsOutput,
};
use aws_sdk_elasticache::types::{
    CloudWatchLogsDestinationDetails, DestinationDetails, DestinationType,
    KinesisFirehoseDestinationDetails, LogDeliveryConfiguration, LogDeliveryConfigurationRequest,
    LogFormat, LogType, ReplicationGroup, Tag, TransitEncryptionMode,
};
use aws_smithy_runtime_api::client::waiters::error::WaiterError;
use serde_json::{Value, json};

use super::AwsClients;
use super::doc::{
    Obj, check_owner, invalid, opt_bool, opt_i64, opt_str, opt_str_list, owner_of,
    tag_keys_to_remove, without_owner,
};
use crate::provider::{
    Desired, Handle, Live, Provider, ProviderError, ProviderSet, api_err, found,
    refuse_in_place_change, waiter_error,
};

const SERVICE: &str = "elasticache";
pub const SUBNET_GROUP: &str = "aws_elasticache_subnet_group";
pub const REPLICATION_GROUP: &str = "aws_elasticache_replication_group";

/// Properties of `aws_elasticache_subnet_group` this provider understands.
const SUBNET_GROUP_PROPS: &[&str] = &["name", "description", "subnet_ids"];

/// Properties of `aws_elasticache_replication_group` this provider understands; any other is
/// refused by name (cluster mode, auth tokens, user groups, global groups and restoring from
/// snapshots are not supported).
const REPLICATION_GROUP_PROPS: &[&str] = &[
    "replication_group_id",
    "description",
    "engine",
    "engine_version",
    "node_type",
    "num_cache_clusters",
    "port",
    "parameter_group_name",
    "subnet_group_name",
    "security_group_ids",
    "at_rest_encryption_enabled",
    "kms_key_id",
    "transit_encryption_enabled",
    "transit_encryption_mode",
    "automatic_failover_enabled",
    "multi_az_enabled",
    "snapshot_retention_limit",
    "snapshot_window",
    "maintenance_window",
    "auto_minor_version_upgrade",
    "apply_immediately",
    "log_delivery_configuration",
];

/// Registers the ElastiCache provider for both types.
pub fn register(set: &mut ProviderSet, clients: &AwsClients) {
    set.add(Arc::new(ElastiCacheProvider::new(
        clients.elasticache.clone(),
    )));
}

/// Cache subnet groups and replication groups.
#[derive(Debug, Clone)]
pub struct ElastiCacheProvider {
    client: aws_sdk_elasticache::Client,
    /// How long to wait for a replication group to become available, or to go.
    wait_timeout: Duration,
}

impl ElastiCacheProvider {
    /// A provider that waits up to an hour for a replication group to settle.
    pub fn new(client: aws_sdk_elasticache::Client) -> Self {
        Self {
            client,
            wait_timeout: Duration::from_secs(60 * 60),
        }
    }

    /// The same provider with another bound on each wait.
    pub fn with_wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }
}

/// Refuses properties this provider does not understand, naming them.
fn check_known(d: &Desired, known: &[&str]) -> Result<(), ProviderError> {
    let Some(obj) = d.properties.as_object() else {
        return Err(invalid(d, "`properties` must be an object"));
    };
    let unknown: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(invalid(
            d,
            format!(
                "unsupported propert{} for {}: {}",
                if unknown.len() == 1 { "y" } else { "ies" },
                d.type_name,
                unknown
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}

fn i32_prop(d: &Desired, name: &str) -> Result<Option<i32>, ProviderError> {
    opt_i64(d, name)?
        .map(|n| i32::try_from(n).map_err(|_| invalid(d, format!("`{name}` is out of range: {n}"))))
        .transpose()
}

fn ec_tags(tags: BTreeMap<String, String>) -> Vec<Tag> {
    tags.into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The name of a CloudWatch Logs log group (`arn:aws:logs:R:A:log-group:NAME[:*]`) or a Firehose
/// delivery stream (`arn:aws:firehose:R:A:deliverystream/NAME`) given as an ARN; other values
/// as they are.
fn destination_name(value: &str) -> &str {
    if let Some(rest) = value.strip_prefix("arn:")
        && let Some((_, name)) = rest.split_once(":log-group:")
    {
        return name.strip_suffix(":*").unwrap_or(name);
    }
    if value.starts_with("arn:")
        && let Some((_, name)) = value.split_once(":deliverystream/")
    {
        return name;
    }
    value
}

/// `7.1.0` → `7.1` for Redis/Valkey 6 and later, where a document can only name major.minor.
fn canonical_engine_version(v: &str) -> String {
    let parts: Vec<&str> = v.split('.').collect();
    match parts.first().and_then(|m| m.parse::<u32>().ok()) {
        Some(major) if major >= 6 && parts.len() > 2 => format!("{}.{}", parts[0], parts[1]),
        _ => v.to_owned(),
    }
}

fn sort_strings(v: &mut Value, key: &str) {
    if let Some(list) = v.get_mut(key).and_then(Value::as_array_mut) {
        list.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
}

/// A log delivery configuration entry of a document.
struct LogDelivery {
    log_type: String,
    destination_type: String,
    destination: String,
    log_format: String,
}

fn log_deliveries(d: &Desired) -> Result<Vec<LogDelivery>, ProviderError> {
    let Some(v) = d.prop("log_delivery_configuration") else {
        return Ok(Vec::new());
    };
    let Some(list) = v.as_array() else {
        return Err(invalid(
            d,
            "`log_delivery_configuration` must be a list of objects",
        ));
    };
    list.iter()
        .enumerate()
        .map(|(i, e)| {
            let field = |name: &str| {
                e.get(name).and_then(Value::as_str).ok_or_else(|| {
                    invalid(
                        d,
                        format!("`log_delivery_configuration[{i}].{name}` must be a string"),
                    )
                })
            };
            if let Some(k) = e.as_object().into_iter().flat_map(|o| o.keys()).find(|k| {
                !["log_type", "destination_type", "destination", "log_format"].contains(&k.as_str())
            }) {
                return Err(invalid(
                    d,
                    format!("unsupported property `log_delivery_configuration[{i}].{k}`"),
                ));
            }
            let destination_type = field("destination_type")?;
            if !["cloudwatch-logs", "kinesis-firehose"].contains(&destination_type) {
                return Err(invalid(
                    d,
                    format!(
                        "`log_delivery_configuration[{i}].destination_type` must be \
                         `cloudwatch-logs` or `kinesis-firehose`, not `{destination_type}`"
                    ),
                ));
            }
            Ok(LogDelivery {
                log_type: field("log_type")?.to_owned(),
                destination_type: destination_type.to_owned(),
                destination: destination_name(field("destination")?).to_owned(),
                log_format: field("log_format")?.to_owned(),
            })
        })
        .collect()
}

impl LogDelivery {
    fn request(&self) -> LogDeliveryConfigurationRequest {
        let details = if self.destination_type == "kinesis-firehose" {
            DestinationDetails::builder()
                .kinesis_firehose_details(
                    KinesisFirehoseDestinationDetails::builder()
                        .delivery_stream(&self.destination)
                        .build(),
                )
                .build()
        } else {
            DestinationDetails::builder()
                .cloud_watch_logs_details(
                    CloudWatchLogsDestinationDetails::builder()
                        .log_group(&self.destination)
                        .build(),
                )
                .build()
        };
        LogDeliveryConfigurationRequest::builder()
            .log_type(LogType::from(self.log_type.as_str()))
            .destination_type(DestinationType::from(self.destination_type.as_str()))
            .destination_details(details)
            .log_format(LogFormat::from(self.log_format.as_str()))
            .enabled(true)
            .build()
    }
}

/// A live log delivery configuration in document shape.
fn log_delivery_doc(c: &LogDeliveryConfiguration) -> Value {
    let details = c.destination_details();
    let destination = details
        .and_then(|d| d.cloud_watch_logs_details())
        .and_then(|l| l.log_group())
        .or_else(|| {
            details
                .and_then(|d| d.kinesis_firehose_details())
                .and_then(|k| k.delivery_stream())
        });
    let mut obj = serde_json::Map::new();
    if let Some(t) = c.destination_type() {
        obj.insert("destination_type".into(), json!(t.as_str()));
    }
    if let Some(dest) = destination {
        obj.insert("destination".into(), json!(destination_name(dest)));
    }
    if let Some(f) = c.log_format() {
        obj.insert("log_format".into(), json!(f.as_str()));
    }
    if let Some(t) = c.log_type() {
        obj.insert("log_type".into(), json!(t.as_str()));
    }
    Value::Object(obj)
}

/// Puts `aws_elasticache_replication_group` properties in canonical form.
fn normalize_replication_group(v: &mut Value) {
    sort_strings(v, "security_group_ids");
    if let Some(ver) = v.get("engine_version").and_then(Value::as_str) {
        let c = canonical_engine_version(ver);
        v["engine_version"] = json!(c);
    }
    if let Some(list) = v
        .get_mut("log_delivery_configuration")
        .and_then(Value::as_array_mut)
    {
        for e in list.iter_mut() {
            if let Some(dest) = e.get("destination").and_then(Value::as_str) {
                let name = destination_name(dest).to_owned();
                e["destination"] = json!(name);
            }
        }
        list.sort_by(|a, b| a["log_type"].as_str().cmp(&b["log_type"].as_str()));
    }
}

/// A replication group's handle: its id, references resolving to its ARN.
fn group_handle(id: &str, arn: Option<&str>) -> Handle {
    let mut h = match arn {
        Some(a) => Handle::with_reference(id, a),
        None => Handle::new(id),
    };
    if let Some(a) = arn {
        h.attributes.insert("arn".into(), a.to_owned());
    }
    h
}

impl ElastiCacheProvider {
    // ----- tags -------------------------------------------------------------------------------

    async fn live_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
            .map_err(api_err(SERVICE, "ListTagsForResource"))?;
        Ok(out
            .tag_list()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or("").to_owned())))
            .collect())
    }

    async fn sync_tags(&self, d: &Desired, arn: &str) -> Result<(), ProviderError> {
        let live = self.live_tags(arn).await?;
        let stale = tag_keys_to_remove(&live, &d.tags);
        if !stale.is_empty() {
            self.client
                .remove_tags_from_resource()
                .resource_name(arn)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(api_err(SERVICE, "RemoveTagsFromResource"))?;
        }
        self.client
            .add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(ec_tags(d.tags_with_owner())))
            .send()
            .await
            .map_err(api_err(SERVICE, "AddTagsToResource"))?;
        Ok(())
    }

    // ----- subnet groups ----------------------------------------------------------------------

    async fn subnet_group(
        &self,
        name: &str,
    ) -> Result<Option<aws_sdk_elasticache::types::CacheSubnetGroup>, ProviderError> {
        let out = found(
            self.client
                .describe_cache_subnet_groups()
                .cache_subnet_group_name(name)
                .send()
                .await
                .map_err(api_err(SERVICE, "DescribeCacheSubnetGroups")),
        )?;
        Ok(out.and_then(|o| {
            o.cache_subnet_groups()
                .iter()
                .find(|g| g.cache_subnet_group_name() == Some(name))
                .cloned()
        }))
    }

    async fn create_subnet_group(&self, d: &Desired) -> Result<Handle, ProviderError> {
        check_known(d, SUBNET_GROUP_PROPS)?;
        let name = d.str_prop("name")?;
        let out = self
            .client
            .create_cache_subnet_group()
            .cache_subnet_group_name(name)
            .cache_subnet_group_description(
                opt_str(d, "description")?.unwrap_or("Managed by Tollgate"),
            )
            .set_subnet_ids(opt_str_list(d, "subnet_ids")?)
            .set_tags(Some(ec_tags(d.tags_with_owner())))
            .send()
            .await
            .map_err(api_err(SERVICE, "CreateCacheSubnetGroup"))?;
        let arn = out.cache_subnet_group().and_then(|g| g.arn());
        Ok(subnet_group_handle(name, arn))
    }

    async fn read_subnet_group(&self, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        let Some(g) = self.subnet_group(&handle.provider_id).await? else {
            return Ok(None);
        };
        let mut subnets: Vec<String> = g
            .subnets()
            .iter()
            .filter_map(|s| s.subnet_identifier().map(str::to_owned))
            .collect();
        subnets.sort();
        let mut props = serde_json::Map::new();
        if let Some(n) = g.cache_subnet_group_name() {
            props.insert("name".into(), json!(n));
        }
        if let Some(desc) = g.cache_subnet_group_description() {
            props.insert("description".into(), json!(desc));
        }
        props.insert("subnet_ids".into(), json!(subnets));
        let tags = match g.arn() {
            Some(arn) => without_owner(self.live_tags(arn).await?),
            None => BTreeMap::new(),
        };
        Ok(Some(Live {
            handle: handle.clone(),
            properties: Value::Object(props),
            tags,
        }))
    }

    async fn update_subnet_group(
        &self,
        d: &Desired,
        handle: &Handle,
        changed: &[String],
    ) -> Result<Handle, ProviderError> {
        check_known(d, SUBNET_GROUP_PROPS)?;
        let has = |p: &str| changed.iter().any(|c| c == p);
        let mut arn = handle.attributes.get("arn").cloned();
        if has("description") || has("subnet_ids") {
            let out = self
                .client
                .modify_cache_subnet_group()
                .cache_subnet_group_name(&handle.provider_id)
                .set_cache_subnet_group_description(
                    opt_str(d, "description")?
                        .filter(|_| has("description"))
                        .map(str::to_owned),
                )
                .set_subnet_ids(opt_str_list(d, "subnet_ids")?.filter(|_| has("subnet_ids")))
                .send()
                .await
                .map_err(api_err(SERVICE, "ModifyCacheSubnetGroup"))?;
            if let Some(a) = out.cache_subnet_group().and_then(|g| g.arn()) {
                arn = Some(a.to_owned());
            }
        }
        if has("tags") {
            let arn = match arn.clone() {
                Some(a) => a,
                None => self
                    .subnet_group(&handle.provider_id)
                    .await?
                    .and_then(|g| g.arn().map(str::to_owned))
                    .ok_or_else(|| {
                        ProviderError::missing(SERVICE, "DescribeCacheSubnetGroups", "ARN")
                    })?,
            };
            self.sync_tags(d, &arn).await?;
        }
        Ok(subnet_group_handle(&handle.provider_id, arn.as_deref()))
    }

    async fn delete_subnet_group(&self, handle: &Handle) -> Result<(), ProviderError> {
        found(
            self.client
                .delete_cache_subnet_group()
                .cache_subnet_group_name(&handle.provider_id)
                .send()
                .await
                .map_err(api_err(SERVICE, "DeleteCacheSubnetGroup")),
        )
        .map(|_| ())
    }

    // ----- replication groups -----------------------------------------------------------------

    async fn replication_group(&self, id: &str) -> Result<Option<ReplicationGroup>, ProviderError> {
        let out = found(
            self.client
                .describe_replication_groups()
                .replication_group_id(id)
                .send()
                .await
                .map_err(api_err(SERVICE, "DescribeReplicationGroups")),
        )?;
        Ok(out.and_then(|o| {
            o.replication_groups()
                .iter()
                .find(|g| g.replication_group_id() == Some(id))
                .cloned()
        }))
    }

    /// Waits (SDK waiter, bounded) until the group is `available`.
    async fn wait_available(&self, id: &str) -> Result<(), ProviderError> {
        let result = self
            .client
            .wait_until_replication_group_available()
            .replication_group_id(id)
            .wait(self.wait_timeout)
            .await;
        self.waited(result.map(|_| ()), id, "available")
    }

    /// Waits (SDK waiter, bounded) until the group is gone.
    async fn wait_deleted(&self, id: &str) -> Result<(), ProviderError> {
        let result = self
            .client
            .wait_until_replication_group_deleted()
            .replication_group_id(id)
            .wait(self.wait_timeout)
            .await;
        self.waited(result.map(|_| ()), id, "deleted")
    }

    /// A replication-group waiter's failure ([`waiter_error`]), with the groups' statuses.
    fn waited(
        &self,
        result: Result<
            (),
            WaiterError<DescribeReplicationGroupsOutput, DescribeReplicationGroupsError>,
        >,
        id: &str,
        state: &str,
    ) -> Result<(), ProviderError> {
        result.map_err(|e| {
            waiter_error(
                SERVICE,
                "DescribeReplicationGroups",
                &format!("replication group `{id}` to be {state}"),
                |out: &DescribeReplicationGroupsOutput| {
                    let statuses: Vec<&str> = out
                        .replication_groups()
                        .iter()
                        .map(|g| g.status().unwrap_or("unknown"))
                        .collect();
                    format!("status {}", statuses.join(", "))
                },
                e,
            )
        })
    }

    async fn create_replication_group(&self, d: &Desired) -> Result<Handle, ProviderError> {
        check_known(d, REPLICATION_GROUP_PROPS)?;
        let id = d.str_prop("replication_group_id")?;
        let logs = log_deliveries(d)?;
        let out = self
            .client
            .create_replication_group()
            .replication_group_id(id)
            .replication_group_description(
                opt_str(d, "description")?.unwrap_or("Managed by Tollgate"),
            )
            .set_engine(opt_str(d, "engine")?.map(str::to_owned))
            .set_engine_version(opt_str(d, "engine_version")?.map(str::to_owned))
            .set_cache_node_type(opt_str(d, "node_type")?.map(str::to_owned))
            .set_num_cache_clusters(i32_prop(d, "num_cache_clusters")?)
            .set_port(i32_prop(d, "port")?)
            .set_cache_parameter_group_name(opt_str(d, "parameter_group_name")?.map(str::to_owned))
            .set_cache_subnet_group_name(opt_str(d, "subnet_group_name")?.map(str::to_owned))
            .set_security_group_ids(opt_str_list(d, "security_group_ids")?)
            .set_at_rest_encryption_enabled(opt_bool(d, "at_rest_encryption_enabled")?)
            .set_kms_key_id(opt_str(d, "kms_key_id")?.map(str::to_owned))
            .set_transit_encryption_enabled(opt_bool(d, "transit_encryption_enabled")?)
            .set_transit_encryption_mode(
                opt_str(d, "transit_encryption_mode")?.map(TransitEncryptionMode::from),
            )
            .set_automatic_failover_enabled(opt_bool(d, "automatic_failover_enabled")?)
            .set_multi_az_enabled(opt_bool(d, "multi_az_enabled")?)
            .set_snapshot_retention_limit(i32_prop(d, "snapshot_retention_limit")?)
            .set_snapshot_window(opt_str(d, "snapshot_window")?.map(str::to_owned))
            .set_preferred_maintenance_window(opt_str(d, "maintenance_window")?.map(str::to_owned))
            .set_auto_minor_version_upgrade(opt_bool(d, "auto_minor_version_upgrade")?)
            .set_log_delivery_configurations(if logs.is_empty() {
                None
            } else {
                Some(logs.iter().map(LogDelivery::request).collect())
            })
            .set_tags(Some(ec_tags(d.tags_with_owner())))
            .send()
            .await
            .map_err(api_err(SERVICE, "CreateReplicationGroup"))?;
        let arn = out
            .replication_group()
            .and_then(|g| g.arn())
            .map(str::to_owned);
        self.wait_available(id).await?;
        Ok(group_handle(id, arn.as_deref()))
    }

    async fn read_replication_group(&self, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        let id = handle.provider_id.as_str();
        let Some(g) = self.replication_group(id).await? else {
            return Ok(None);
        };
        // A group being deleted cannot be changed or used any more: it reads as gone.
        if matches!(g.status(), Some("deleting" | "deleted")) {
            return Ok(None);
        }
        // Settings the service reports per member cluster. A member that is gone (it is being
        // replaced) leaves them out, so a comparison shows them rather than guessing.
        let primary = g
            .node_groups()
            .first()
            .and_then(|n| {
                n.node_group_members()
                    .iter()
                    .find(|m| m.current_role() == Some("primary"))
            })
            .and_then(|m| m.cache_cluster_id())
            .or_else(|| g.member_clusters().first().map(String::as_str))
            .map(str::to_owned);
        let cluster = match primary {
            Some(cid) => found(
                self.client
                    .describe_cache_clusters()
                    .cache_cluster_id(cid)
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "DescribeCacheClusters")),
            )?
            .and_then(|o| o.cache_clusters().first().cloned()),
            None => None,
        };

        let mut logs: Vec<Value> = g
            .log_delivery_configurations()
            .iter()
            .filter(|c| !matches!(c.status().map(|s| s.as_str()), Some("disabling" | "error")))
            .map(log_delivery_doc)
            .collect();
        logs.sort_by(|a, b| a["log_type"].as_str().cmp(&b["log_type"].as_str()));
        let p = Obj::new()
            .opt(
                "replication_group_id",
                g.replication_group_id().map(|s| json!(s)),
            )
            .opt("description", g.description().map(|s| json!(s)))
            .opt("engine", g.engine().map(|s| json!(s)))
            .opt(
                "engine_version",
                cluster
                    .as_ref()
                    .and_then(|c| c.engine_version())
                    .map(|v| json!(canonical_engine_version(v))),
            )
            .opt("node_type", g.cache_node_type().map(|s| json!(s)))
            .opt("num_cache_clusters", Some(json!(g.member_clusters().len())))
            .opt(
                "port",
                g.node_groups()
                    .first()
                    .and_then(|n| n.primary_endpoint())
                    .and_then(|e| e.port())
                    .or_else(|| g.configuration_endpoint().and_then(|e| e.port()))
                    .map(|n| json!(n)),
            )
            .opt(
                "parameter_group_name",
                cluster
                    .as_ref()
                    .and_then(|c| c.cache_parameter_group())
                    .and_then(|pg| pg.cache_parameter_group_name())
                    .map(|s| json!(s)),
            )
            .opt(
                "subnet_group_name",
                cluster
                    .as_ref()
                    .and_then(|c| c.cache_subnet_group_name())
                    .map(|s| json!(s)),
            )
            .opt(
                "security_group_ids",
                cluster.as_ref().map(|c| {
                    let mut ids: Vec<&str> = c
                        .security_groups()
                        .iter()
                        .filter_map(|s| s.security_group_id())
                        .collect();
                    ids.sort_unstable();
                    json!(ids)
                }),
            )
            .opt(
                "at_rest_encryption_enabled",
                g.at_rest_encryption_enabled().map(|b| json!(b)),
            )
            .opt("kms_key_id", g.kms_key_id().map(|s| json!(s)))
            .opt(
                "transit_encryption_enabled",
                g.transit_encryption_enabled().map(|b| json!(b)),
            )
            .opt(
                "transit_encryption_mode",
                g.transit_encryption_mode().map(|m| json!(m.as_str())),
            )
            .opt(
                "automatic_failover_enabled",
                g.automatic_failover()
                    .map(|s| json!(matches!(s.as_str(), "enabled" | "enabling"))),
            )
            .opt(
                "multi_az_enabled",
                g.multi_az().map(|s| json!(s.as_str() == "enabled")),
            )
            .opt(
                "snapshot_retention_limit",
                g.snapshot_retention_limit().map(|n| json!(n)),
            )
            .opt("snapshot_window", g.snapshot_window().map(|s| json!(s)))
            .opt(
                "maintenance_window",
                cluster
                    .as_ref()
                    .and_then(|c| c.preferred_maintenance_window())
                    .map(|s| json!(s)),
            )
            .opt(
                "auto_minor_version_upgrade",
                g.auto_minor_version_upgrade()
                    .or_else(|| {
                        cluster
                            .as_ref()
                            .and_then(|c| c.auto_minor_version_upgrade())
                    })
                    .map(|b| json!(b)),
            )
            .opt("log_delivery_configuration", Some(json!(logs)));
        let mut props = p.build();
        normalize_replication_group(&mut props);

        let tags = match g.arn() {
            Some(arn) => without_owner(self.live_tags(arn).await?),
            None => BTreeMap::new(),
        };
        let mut h = handle.clone();
        if let Some(arn) = g.arn() {
            h.reference = arn.to_owned();
            h.attributes.insert("arn".into(), arn.to_owned());
        }
        Ok(Some(Live {
            handle: h,
            properties: props,
            tags,
        }))
    }

    async fn update_replication_group(
        &self,
        d: &Desired,
        handle: &Handle,
        changed: &[String],
    ) -> Result<Handle, ProviderError> {
        check_known(d, REPLICATION_GROUP_PROPS)?;
        let id = handle.provider_id.as_str();
        let has = |p: &str| changed.iter().any(|c| c == p);
        let apply_now = opt_bool(d, "apply_immediately")?;

        // Log deliveries: the desired ones enabled, live ones no longer wanted disabled.
        let mut log_requests = Vec::new();
        if has("log_delivery_configuration") {
            let want = log_deliveries(d)?;
            let live = self.replication_group(id).await?;
            for c in live.iter().flat_map(|g| g.log_delivery_configurations()) {
                if let Some(t) = c.log_type()
                    && !want.iter().any(|w| w.log_type == t.as_str())
                {
                    log_requests.push(
                        LogDeliveryConfigurationRequest::builder()
                            .log_type(t.clone())
                            .enabled(false)
                            .build(),
                    );
                }
            }
            log_requests.extend(want.iter().map(LogDelivery::request));
        }

        const MODIFIABLE: &[&str] = &[
            "description",
            "engine_version",
            "node_type",
            "parameter_group_name",
            "security_group_ids",
            "transit_encryption_enabled",
            "transit_encryption_mode",
            "automatic_failover_enabled",
            "multi_az_enabled",
            "snapshot_retention_limit",
            "snapshot_window",
            "maintenance_window",
            "auto_minor_version_upgrade",
            "log_delivery_configuration",
        ];
        if MODIFIABLE.iter().any(|p| has(p)) {
            let s = |name: &str| -> Result<Option<String>, ProviderError> {
                Ok(opt_str(d, name)?.filter(|_| has(name)).map(str::to_owned))
            };
            let b = |name: &str| -> Result<Option<bool>, ProviderError> {
                Ok(opt_bool(d, name)?.filter(|_| has(name)))
            };
            self.client
                .modify_replication_group()
                .replication_group_id(id)
                .set_apply_immediately(apply_now)
                .set_replication_group_description(s("description")?)
                .set_engine_version(s("engine_version")?)
                .set_cache_node_type(s("node_type")?)
                .set_cache_parameter_group_name(s("parameter_group_name")?)
                .set_security_group_ids(
                    opt_str_list(d, "security_group_ids")?.filter(|_| has("security_group_ids")),
                )
                .set_transit_encryption_enabled(b("transit_encryption_enabled")?)
                .set_transit_encryption_mode(
                    s("transit_encryption_mode")?.map(|m| TransitEncryptionMode::from(m.as_str())),
                )
                .set_automatic_failover_enabled(b("automatic_failover_enabled")?)
                .set_multi_az_enabled(b("multi_az_enabled")?)
                .set_snapshot_retention_limit(
                    i32_prop(d, "snapshot_retention_limit")?
                        .filter(|_| has("snapshot_retention_limit")),
                )
                .set_snapshot_window(s("snapshot_window")?)
                .set_preferred_maintenance_window(s("maintenance_window")?)
                .set_auto_minor_version_upgrade(b("auto_minor_version_upgrade")?)
                .set_log_delivery_configurations(if log_requests.is_empty() {
                    None
                } else {
                    Some(log_requests)
                })
                .send()
                .await
                .map_err(api_err(SERVICE, "ModifyReplicationGroup"))?;
            self.wait_available(id).await?;
        }

        if has("num_cache_clusters") {
            let want = i32_prop(d, "num_cache_clusters")?
                .ok_or_else(|| invalid(d, "`num_cache_clusters` cannot be removed"))?;
            if want < 1 {
                return Err(invalid(d, "`num_cache_clusters` must be at least 1"));
            }
            let live = self.replication_group(id).await?.ok_or_else(|| {
                ProviderError::missing(SERVICE, "DescribeReplicationGroups", "replication group")
            })?;
            let have = i32::try_from(live.member_clusters().len()).unwrap_or(i32::MAX);
            // Replica counts change immediately: the service requires ApplyImmediately here.
            if want > have {
                self.client
                    .increase_replica_count()
                    .replication_group_id(id)
                    .new_replica_count(want - 1)
                    .apply_immediately(true)
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "IncreaseReplicaCount"))?;
                self.wait_available(id).await?;
            } else if want < have {
                self.client
                    .decrease_replica_count()
                    .replication_group_id(id)
                    .new_replica_count(want - 1)
                    .apply_immediately(true)
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "DecreaseReplicaCount"))?;
                self.wait_available(id).await?;
            }
        }

        let mut arn = handle.attributes.get("arn").cloned();
        if has("tags") {
            if arn.is_none() {
                arn = self
                    .replication_group(id)
                    .await?
                    .and_then(|g| g.arn().map(str::to_owned));
            }
            let a = arn.clone().ok_or_else(|| {
                ProviderError::missing(SERVICE, "DescribeReplicationGroups", "ARN")
            })?;
            self.sync_tags(d, &a).await?;
        }
        Ok(group_handle(id, arn.as_deref()))
    }

    async fn delete_replication_group(&self, handle: &Handle) -> Result<(), ProviderError> {
        let id = handle.provider_id.as_str();
        match self.replication_group(id).await? {
            None => return Ok(()),
            Some(g) if g.status() == Some("deleting") => {}
            Some(_) => {
                found(
                    self.client
                        .delete_replication_group()
                        .replication_group_id(id)
                        .send()
                        .await
                        .map_err(api_err(SERVICE, "DeleteReplicationGroup")),
                )?;
            }
        }
        self.wait_deleted(id).await
    }

    /// The object named as `d` would name it, refusing one another resource owns.
    async fn find_by_name(&self, d: &Desired) -> Result<Option<Handle>, ProviderError> {
        match d.type_name.as_str() {
            SUBNET_GROUP => {
                let name = d.str_prop("name")?;
                let Some(g) = self.subnet_group(name).await? else {
                    return Ok(None);
                };
                if let Some(arn) = g.arn() {
                    let tags = self.live_tags(arn).await?;
                    check_owner(
                        d,
                        owner_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
                        &format!("cache subnet group `{name}`"),
                    )?;
                }
                Ok(Some(subnet_group_handle(name, g.arn())))
            }
            _ => {
                let id = d.str_prop("replication_group_id")?;
                let Some(g) = self.replication_group(id).await? else {
                    return Ok(None);
                };
                if matches!(g.status(), Some("deleting" | "deleted")) {
                    return Ok(None);
                }
                if let Some(arn) = g.arn() {
                    let tags = self.live_tags(arn).await?;
                    check_owner(
                        d,
                        owner_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
                        &format!("replication group `{id}`"),
                    )?;
                }
                Ok(Some(group_handle(id, g.arn())))
            }
        }
    }
}

fn subnet_group_handle(name: &str, arn: Option<&str>) -> Handle {
    let mut h = Handle::new(name);
    if let Some(a) = arn {
        h.attributes.insert("arn".into(), a.to_owned());
    }
    h
}

#[async_trait::async_trait]
impl Provider for ElastiCacheProvider {
    fn types(&self) -> &'static [&'static str] {
        &[SUBNET_GROUP, REPLICATION_GROUP]
    }

    fn replace_on_change(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            SUBNET_GROUP => &["name"],
            REPLICATION_GROUP => &[
                "replication_group_id",
                "engine",
                "port",
                "subnet_group_name",
                "at_rest_encryption_enabled",
                "kms_key_id",
            ],
            _ => &[],
        }
    }

    fn write_only(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            REPLICATION_GROUP => &["apply_immediately"],
            _ => &[],
        }
    }

    fn normalize(&self, type_name: &str, properties: &mut Value) {
        match type_name {
            SUBNET_GROUP => sort_strings(properties, "subnet_ids"),
            REPLICATION_GROUP => normalize_replication_group(properties),
            _ => {}
        }
    }

    async fn create(&self, d: &Desired) -> Result<Handle, ProviderError> {
        match d.type_name.as_str() {
            SUBNET_GROUP => self.create_subnet_group(d).await,
            REPLICATION_GROUP => self.create_replication_group(d).await,
            other => Err(invalid(
                d,
                format!("type `{other}` is not an ElastiCache type"),
            )),
        }
    }

    async fn read(&self, type_name: &str, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        match type_name {
            SUBNET_GROUP => self.read_subnet_group(handle).await,
            _ => self.read_replication_group(handle).await,
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
            SUBNET_GROUP => self.update_subnet_group(d, handle, changed).await,
            _ => self.update_replication_group(d, handle, changed).await,
        }
    }

    async fn delete(&self, type_name: &str, handle: &Handle) -> Result<(), ProviderError> {
        match type_name {
            SUBNET_GROUP => self.delete_subnet_group(handle).await,
            _ => self.delete_replication_group(handle).await,
        }
    }

    async fn find(&self, d: &Desired) -> Result<Option<Handle>, ProviderError> {
        match d.type_name.as_str() {
            SUBNET_GROUP => check_known(d, SUBNET_GROUP_PROPS)?,
            _ => check_known(d, REPLICATION_GROUP_PROPS)?,
        }
        self.find_by_name(d).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_come_out_of_arns() {
        assert_eq!(
            destination_name("arn:aws:logs:eu-west-1:1:log-group:/aws/elasticache/x/slow-log"),
            "/aws/elasticache/x/slow-log"
        );
        assert_eq!(
            destination_name("arn:aws:logs:eu-west-1:1:log-group:/a/b:*"),
            "/a/b"
        );
        assert_eq!(
            destination_name("arn:aws:firehose:eu-west-1:1:deliverystream/s"),
            "s"
        );
        assert_eq!(destination_name("/plain/name"), "/plain/name");
    }

    #[test]
    fn engine_versions_are_major_minor_from_six() {
        assert_eq!(canonical_engine_version("7.1.0"), "7.1");
        assert_eq!(canonical_engine_version("7.1"), "7.1");
        assert_eq!(canonical_engine_version("6.2.6"), "6.2");
        assert_eq!(canonical_engine_version("5.0.6"), "5.0.6");
    }
}
