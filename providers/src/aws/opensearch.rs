//! OpenSearch Service domains (`aws_opensearch_domain`), through `aws-sdk-opensearch`.
//!
//! A domain's name is unique per account and region: it is the provider id and how
//! [`Provider::find`] adopts a domain after a crash (refusing one whose [`OWNER_TAG`] names another
//! resource). A reference to a domain resolves to its ARN (what IAM and access policies take).
//!
//! Settings change in place with `UpdateDomainConfig` (the engine version with `UpgradeDomain`);
//! only `domain_name` forces a replacement. After a create, a change or an upgrade Tollgate polls
//! (bounded) until the domain has finished processing; after a delete until it is gone. A domain
//! being deleted reads as gone.
//!
//! Canonical form: inside the nested option objects a `false` flag and an absent one are the same
//! (the service reports every flag, documents name the ones they care about); id lists are
//! sorted; `log_publishing_options` is sorted by `log_type` with log group ARNs without a
//! trailing `:*`; `access_policies` is a JSON document. The service never reports
//! `advanced_security_options.master_user_options` (a user ARN or a name and password): it is
//! sent on create and whenever `advanced_security_options` changes, and left out of comparisons.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_opensearch::types::{
    AdvancedSecurityOptionsInput, ClusterConfig, DomainEndpointOptions, DomainStatus, EbsOptions,
    EncryptionAtRestOptions, LogPublishingOption, LogType, MasterUserOptions,
    NodeToNodeEncryptionOptions, OpenSearchPartitionInstanceType,
    OpenSearchWarmPartitionInstanceType, SnapshotOptions, SoftwareUpdateOptions, Tag,
    TlsSecurityPolicy, VolumeType, VpcOptions, ZoneAwarenessConfig,
};
use serde_json::{Map, Value, json};

use super::AwsClients;
use super::doc::{Obj, check_owner, invalid, json_doc, owner_of, parse_policy, tag_keys_to_remove};
use crate::provider::{
    Desired, Handle, Live, OWNER_TAG, Provider, ProviderError, ProviderSet, api_err, found,
    refuse_in_place_change,
};

const SERVICE: &str = "opensearch";
pub const DOMAIN: &str = "aws_opensearch_domain";

/// Top-level properties, and for the nested objects the fields this provider understands.
/// Anything else is refused by name (Cognito, SAML/JWT, Auto-Tune, warm/cold storage options
/// beyond the counts, custom advanced options, …).
const SCHEMA: &[(&str, &[&str])] = &[
    ("domain_name", &[]),
    ("engine_version", &[]),
    (
        "cluster_config",
        &[
            "instance_type",
            "instance_count",
            "dedicated_master_enabled",
            "dedicated_master_type",
            "dedicated_master_count",
            "zone_awareness_enabled",
            "zone_awareness_config",
            "warm_enabled",
            "warm_type",
            "warm_count",
            "multi_az_with_standby_enabled",
        ],
    ),
    (
        "ebs_options",
        &[
            "ebs_enabled",
            "volume_size",
            "volume_type",
            "iops",
            "throughput",
        ],
    ),
    ("encrypt_at_rest", &["enabled", "kms_key_id"]),
    ("node_to_node_encryption", &["enabled"]),
    (
        "domain_endpoint_options",
        &[
            "enforce_https",
            "tls_security_policy",
            "custom_endpoint_enabled",
            "custom_endpoint",
            "custom_endpoint_certificate_arn",
        ],
    ),
    ("vpc_options", &["subnet_ids", "security_group_ids"]),
    (
        "advanced_security_options",
        &[
            "enabled",
            "anonymous_auth_enabled",
            "internal_user_database_enabled",
            "master_user_options",
        ],
    ),
    ("log_publishing_options", &[]),
    ("snapshot_options", &["automated_snapshot_start_hour"]),
    ("software_update_options", &["auto_software_update_enabled"]),
    ("access_policies", &[]),
];

/// Registers the OpenSearch provider for `aws_opensearch_domain`.
pub fn register(set: &mut ProviderSet, clients: &AwsClients) {
    set.add(Arc::new(OpenSearchProvider::new(
        clients.opensearch.clone(),
    )));
}

/// OpenSearch domains.
#[derive(Debug, Clone)]
pub struct OpenSearchProvider {
    client: aws_sdk_opensearch::Client,
    /// How long to wait for a domain to finish processing, or to go.
    wait_timeout: Duration,
    /// How long to sleep between two looks at a processing domain.
    poll_interval: Duration,
}

impl OpenSearchProvider {
    /// A provider that waits up to two hours (blue/green changes of big domains take long),
    /// looking every 30 seconds.
    pub fn new(client: aws_sdk_opensearch::Client) -> Self {
        Self {
            client,
            wait_timeout: Duration::from_secs(2 * 60 * 60),
            poll_interval: Duration::from_secs(30),
        }
    }

    /// The same provider with another bound on each wait and another poll interval.
    pub fn with_wait(mut self, timeout: Duration, poll_interval: Duration) -> Self {
        self.wait_timeout = timeout;
        self.poll_interval = poll_interval;
        self
    }
}

/// Refuses properties (top-level and nested) this provider does not understand, naming them.
fn check_known(d: &Desired) -> Result<(), ProviderError> {
    let Some(obj) = d.properties.as_object() else {
        return Err(invalid(d, "`properties` must be an object"));
    };
    for (k, v) in obj {
        let Some((_, fields)) = SCHEMA.iter().find(|(name, _)| name == k) else {
            return Err(invalid(
                d,
                format!("unsupported property `{k}` for {DOMAIN}"),
            ));
        };
        if fields.is_empty() {
            continue;
        }
        let Some(inner) = v.as_object() else {
            return Err(invalid(d, format!("`{k}` must be an object")));
        };
        if let Some(f) = inner.keys().find(|f| !fields.contains(&f.as_str())) {
            return Err(invalid(d, format!("unsupported property `{k}.{f}`")));
        }
    }
    if let Some(list) = d.prop("log_publishing_options") {
        let Some(list) = list.as_array() else {
            return Err(invalid(d, "`log_publishing_options` must be a list"));
        };
        for (i, e) in list.iter().enumerate() {
            let ok_keys = ["log_type", "cloudwatch_log_group_arn", "enabled"];
            match e.as_object() {
                Some(o) => {
                    if let Some(f) = o.keys().find(|f| !ok_keys.contains(&f.as_str())) {
                        return Err(invalid(
                            d,
                            format!("unsupported property `log_publishing_options[{i}].{f}`"),
                        ));
                    }
                    if e.get("log_type").and_then(Value::as_str).is_none() {
                        return Err(invalid(
                            d,
                            format!("`log_publishing_options[{i}].log_type` must be a string"),
                        ));
                    }
                }
                None => {
                    return Err(invalid(
                        d,
                        format!("`log_publishing_options[{i}]` must be an object"),
                    ));
                }
            }
        }
    }
    Ok(())
}

// ----- reading fields of nested objects --------------------------------------------------------

fn obj<'a>(d: &'a Desired, name: &str) -> Option<&'a Value> {
    d.prop(name).filter(|v| v.is_object())
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_owned)
}

fn b(v: &Value, k: &str) -> Option<bool> {
    v.get(k).and_then(Value::as_bool)
}

fn n(d: &Desired, v: &Value, path: &str, k: &str) -> Result<Option<i32>, ProviderError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x
            .as_i64()
            .and_then(|i| i32::try_from(i).ok())
            .map(Some)
            .ok_or_else(|| invalid(d, format!("`{path}.{k}` must be an integer"))),
    }
}

fn strings(v: &Value, k: &str) -> Option<Vec<String>> {
    v.get(k).and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

/// `arn:…:log-group:NAME:*` → `arn:…:log-group:NAME`.
fn log_group_arn(a: &str) -> &str {
    a.strip_suffix(":*").unwrap_or(a)
}

// ----- requests from a document ------------------------------------------------------------------

struct Request {
    cluster_config: Option<ClusterConfig>,
    ebs_options: Option<EbsOptions>,
    encrypt_at_rest: Option<EncryptionAtRestOptions>,
    node_to_node: Option<NodeToNodeEncryptionOptions>,
    endpoint_options: Option<DomainEndpointOptions>,
    vpc_options: Option<VpcOptions>,
    security: Option<AdvancedSecurityOptionsInput>,
    log_publishing: Option<std::collections::HashMap<LogType, LogPublishingOption>>,
    snapshot_options: Option<SnapshotOptions>,
    software_update: Option<SoftwareUpdateOptions>,
    access_policies: Option<String>,
}

fn request(d: &Desired) -> Result<Request, ProviderError> {
    let cluster_config = match obj(d, "cluster_config") {
        None => None,
        Some(c) => {
            let p = "cluster_config";
            let zone_count = match c.get("zone_awareness_config") {
                None | Some(Value::Null) => None,
                Some(z) => Some(
                    ZoneAwarenessConfig::builder()
                        .set_availability_zone_count(n(
                            d,
                            z,
                            "cluster_config.zone_awareness_config",
                            "availability_zone_count",
                        )?)
                        .build(),
                ),
            };
            Some(
                ClusterConfig::builder()
                    .set_instance_type(
                        s(c, "instance_type")
                            .map(|t| OpenSearchPartitionInstanceType::from(t.as_str())),
                    )
                    .set_instance_count(n(d, c, p, "instance_count")?)
                    .set_dedicated_master_enabled(b(c, "dedicated_master_enabled"))
                    .set_dedicated_master_type(
                        s(c, "dedicated_master_type")
                            .map(|t| OpenSearchPartitionInstanceType::from(t.as_str())),
                    )
                    .set_dedicated_master_count(n(d, c, p, "dedicated_master_count")?)
                    .set_zone_awareness_enabled(b(c, "zone_awareness_enabled"))
                    .set_zone_awareness_config(zone_count)
                    .set_warm_enabled(b(c, "warm_enabled"))
                    .set_warm_type(
                        s(c, "warm_type")
                            .map(|t| OpenSearchWarmPartitionInstanceType::from(t.as_str())),
                    )
                    .set_warm_count(n(d, c, p, "warm_count")?)
                    .set_multi_az_with_standby_enabled(b(c, "multi_az_with_standby_enabled"))
                    .build(),
            )
        }
    };
    let ebs_options = match obj(d, "ebs_options") {
        None => None,
        Some(e) => Some(
            EbsOptions::builder()
                .set_ebs_enabled(b(e, "ebs_enabled"))
                .set_volume_size(n(d, e, "ebs_options", "volume_size")?)
                .set_volume_type(s(e, "volume_type").map(|t| VolumeType::from(t.as_str())))
                .set_iops(n(d, e, "ebs_options", "iops")?)
                .set_throughput(n(d, e, "ebs_options", "throughput")?)
                .build(),
        ),
    };
    let encrypt_at_rest = obj(d, "encrypt_at_rest").map(|e| {
        EncryptionAtRestOptions::builder()
            .set_enabled(b(e, "enabled"))
            .set_kms_key_id(s(e, "kms_key_id"))
            .build()
    });
    let node_to_node = obj(d, "node_to_node_encryption").map(|e| {
        NodeToNodeEncryptionOptions::builder()
            .set_enabled(b(e, "enabled"))
            .build()
    });
    let endpoint_options = obj(d, "domain_endpoint_options").map(|e| {
        DomainEndpointOptions::builder()
            .set_enforce_https(b(e, "enforce_https"))
            .set_tls_security_policy(
                s(e, "tls_security_policy").map(|t| TlsSecurityPolicy::from(t.as_str())),
            )
            .set_custom_endpoint_enabled(b(e, "custom_endpoint_enabled"))
            .set_custom_endpoint(s(e, "custom_endpoint"))
            .set_custom_endpoint_certificate_arn(s(e, "custom_endpoint_certificate_arn"))
            .build()
    });
    let vpc_options = obj(d, "vpc_options").map(|v| {
        VpcOptions::builder()
            .set_subnet_ids(strings(v, "subnet_ids"))
            .set_security_group_ids(strings(v, "security_group_ids"))
            .build()
    });
    let security = match obj(d, "advanced_security_options") {
        None => None,
        Some(a) => {
            let master = match a.get("master_user_options") {
                None | Some(Value::Null) => None,
                Some(m) => {
                    if let Some(f) = m.as_object().into_iter().flat_map(|o| o.keys()).find(|f| {
                        ![
                            "master_user_arn",
                            "master_user_name",
                            "master_user_password",
                        ]
                        .contains(&f.as_str())
                    }) {
                        return Err(invalid(
                            d,
                            format!(
                                "unsupported property `advanced_security_options.master_user_options.{f}`"
                            ),
                        ));
                    }
                    Some(
                        MasterUserOptions::builder()
                            .set_master_user_arn(s(m, "master_user_arn"))
                            .set_master_user_name(s(m, "master_user_name"))
                            .set_master_user_password(s(m, "master_user_password"))
                            .build(),
                    )
                }
            };
            Some(
                AdvancedSecurityOptionsInput::builder()
                    .set_enabled(b(a, "enabled"))
                    .set_internal_user_database_enabled(b(a, "internal_user_database_enabled"))
                    .set_anonymous_auth_enabled(b(a, "anonymous_auth_enabled"))
                    .set_master_user_options(master)
                    .build(),
            )
        }
    };
    let log_publishing = d
        .prop("log_publishing_options")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|e| {
                    let t = e.get("log_type").and_then(Value::as_str)?;
                    Some((
                        LogType::from(t),
                        LogPublishingOption::builder()
                            .set_cloud_watch_logs_log_group_arn(s(e, "cloudwatch_log_group_arn"))
                            .set_enabled(Some(b(e, "enabled").unwrap_or(true)))
                            .build(),
                    ))
                })
                .collect()
        });
    let snapshot_options = match obj(d, "snapshot_options") {
        None => None,
        Some(o) => Some(
            SnapshotOptions::builder()
                .set_automated_snapshot_start_hour(n(
                    d,
                    o,
                    "snapshot_options",
                    "automated_snapshot_start_hour",
                )?)
                .build(),
        ),
    };
    let software_update = obj(d, "software_update_options").map(|o| {
        SoftwareUpdateOptions::builder()
            .set_auto_software_update_enabled(b(o, "auto_software_update_enabled"))
            .build()
    });
    Ok(Request {
        cluster_config,
        ebs_options,
        encrypt_at_rest,
        node_to_node,
        endpoint_options,
        vpc_options,
        security,
        log_publishing,
        snapshot_options,
        software_update,
        access_policies: json_doc(d, "access_policies")?,
    })
}

// ----- canonical form ------------------------------------------------------------------------

/// Removes `false` flags (and objects left empty by that) inside a nested object.
fn drop_false(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.retain(|_, x| {
            drop_false(x);
            !(x == &Value::Bool(false) || x.as_object().is_some_and(Map::is_empty))
        });
    }
}

fn normalize_domain(v: &mut Value) {
    let Some(props) = v.as_object_mut() else {
        return;
    };
    for (k, x) in props.iter_mut() {
        if k == "access_policies" {
            if let Some(text) = x.as_str() {
                *x = parse_policy(text);
            }
            continue;
        }
        if k == "advanced_security_options"
            && let Some(o) = x.as_object_mut()
        {
            o.remove("master_user_options");
        }
        if k == "vpc_options" {
            for list in ["subnet_ids", "security_group_ids"] {
                if let Some(a) = x.get_mut(list).and_then(Value::as_array_mut) {
                    a.sort_by(|p, q| p.as_str().cmp(&q.as_str()));
                }
            }
        }
        if k == "log_publishing_options"
            && let Some(a) = x.as_array_mut()
        {
            for e in a.iter_mut() {
                if let Some(arn) = e.get("cloudwatch_log_group_arn").and_then(Value::as_str) {
                    let arn = log_group_arn(arn).to_owned();
                    e["cloudwatch_log_group_arn"] = json!(arn);
                }
                if e.get("enabled").is_none() && e.is_object() {
                    e["enabled"] = json!(true);
                }
            }
            // A log type switched off stays listed as disabled: the same as not listed.
            a.retain(|e| e.get("enabled") != Some(&Value::Bool(false)));
            a.sort_by(|p, q| p["log_type"].as_str().cmp(&q["log_type"].as_str()));
            continue;
        }
        if x.is_object() {
            drop_false(x);
        }
    }
}

/// A live domain in document shape (canonical).
fn domain_doc(st: &DomainStatus) -> Value {
    let cluster = st.cluster_config().map(|c| {
        Obj::new()
            .opt("instance_type", c.instance_type().map(|t| t.as_str()))
            .opt("instance_count", c.instance_count())
            .opt("dedicated_master_enabled", c.dedicated_master_enabled())
            .opt(
                "dedicated_master_type",
                c.dedicated_master_type().map(|t| t.as_str()),
            )
            .opt("dedicated_master_count", c.dedicated_master_count())
            .opt("zone_awareness_enabled", c.zone_awareness_enabled())
            .opt(
                "zone_awareness_config",
                c.zone_awareness_config()
                    .map(|z| json!({"availability_zone_count": z.availability_zone_count()})),
            )
            .opt("warm_enabled", c.warm_enabled())
            .opt("warm_type", c.warm_type().map(|t| t.as_str()))
            .opt("warm_count", c.warm_count())
            .opt(
                "multi_az_with_standby_enabled",
                c.multi_az_with_standby_enabled(),
            )
            .build()
    });
    let ebs = st.ebs_options().map(|e| {
        Obj::new()
            .opt("ebs_enabled", e.ebs_enabled())
            .opt("volume_size", e.volume_size())
            .opt("volume_type", e.volume_type().map(|t| t.as_str()))
            .opt("iops", e.iops())
            .opt("throughput", e.throughput())
            .build()
    });
    let endpoint = st.domain_endpoint_options().map(|e| {
        Obj::new()
            .opt("enforce_https", e.enforce_https())
            .opt(
                "tls_security_policy",
                e.tls_security_policy().map(|t| t.as_str()),
            )
            .opt("custom_endpoint_enabled", e.custom_endpoint_enabled())
            .opt("custom_endpoint", e.custom_endpoint())
            .opt(
                "custom_endpoint_certificate_arn",
                e.custom_endpoint_certificate_arn(),
            )
            .build()
    });
    let logs = st.log_publishing_options().map(|m| {
        m.iter()
            .map(|(t, o)| {
                Obj::new()
                    .set("log_type", t.as_str())
                    .opt(
                        "cloudwatch_log_group_arn",
                        o.cloud_watch_logs_log_group_arn(),
                    )
                    .set("enabled", o.enabled().unwrap_or(false))
                    .build()
            })
            .collect::<Vec<Value>>()
    });
    let mut v = Obj::new()
        .set("domain_name", st.domain_name())
        .opt("engine_version", st.engine_version())
        .opt("cluster_config", cluster)
        .opt("ebs_options", ebs)
        .opt(
            "encrypt_at_rest",
            st.encryption_at_rest_options().map(|e| {
                Obj::new()
                    .opt("enabled", e.enabled())
                    .opt("kms_key_id", e.kms_key_id())
                    .build()
            }),
        )
        .opt(
            "node_to_node_encryption",
            st.node_to_node_encryption_options()
                .map(|e| Obj::new().opt("enabled", e.enabled()).build()),
        )
        .opt("domain_endpoint_options", endpoint)
        .opt(
            "vpc_options",
            st.vpc_options().map(|v| {
                json!({"subnet_ids": v.subnet_ids(), "security_group_ids": v.security_group_ids()})
            }),
        )
        .opt(
            "advanced_security_options",
            st.advanced_security_options().map(|a| {
                Obj::new()
                    .opt("enabled", a.enabled())
                    .opt("anonymous_auth_enabled", a.anonymous_auth_enabled())
                    .opt(
                        "internal_user_database_enabled",
                        a.internal_user_database_enabled(),
                    )
                    .build()
            }),
        )
        .opt("log_publishing_options", logs)
        .opt(
            "snapshot_options",
            st.snapshot_options().map(|o| {
                Obj::new()
                    .opt("automated_snapshot_start_hour", o.automated_snapshot_start_hour())
                    .build()
            }),
        )
        .opt(
            "software_update_options",
            st.software_update_options().map(|o| {
                Obj::new()
                    .opt("auto_software_update_enabled", o.auto_software_update_enabled())
                    .build()
            }),
        )
        .opt(
            "access_policies",
            st.access_policies().filter(|a| !a.is_empty()),
        )
        .build();
    normalize_domain(&mut v);
    v
}

fn domain_handle(st: &DomainStatus) -> Handle {
    let mut h = Handle::with_reference(st.domain_name(), st.arn());
    h.attributes.insert("arn".into(), st.arn().to_owned());
    h
}

fn os_tags(d: &Desired) -> Result<Vec<Tag>, ProviderError> {
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

impl OpenSearchProvider {
    async fn domain(&self, name: &str) -> Result<Option<DomainStatus>, ProviderError> {
        Ok(found(
            self.client
                .describe_domain()
                .domain_name(name)
                .send()
                .await
                .map_err(api_err(SERVICE, "DescribeDomain")),
        )?
        .and_then(|o| o.domain_status().cloned()))
    }

    async fn live_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let out = self
            .client
            .list_tags()
            .arn(arn)
            .send()
            .await
            .map_err(api_err(SERVICE, "ListTags"))?;
        Ok(out
            .tag_list()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    /// Polls `DescribeDomain` until `done` says so, or fails after the provider's bound.
    async fn wait(
        &self,
        name: &str,
        what: &str,
        done: impl Fn(Option<&DomainStatus>) -> bool,
    ) -> Result<(), ProviderError> {
        let start = Instant::now();
        let mut polls = 0u32;
        loop {
            let st = self.domain(name).await?;
            polls += 1;
            if done(st.as_ref()) {
                return Ok(());
            }
            if start.elapsed() + self.poll_interval > self.wait_timeout {
                return Err(ProviderError::Transport {
                    service: SERVICE,
                    operation: "DescribeDomain",
                    message: format!(
                        "gave up after {}s ({polls} polls) waiting for domain `{name}` to {what}",
                        start.elapsed().as_secs()
                    ),
                });
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    async fn wait_processed(&self, name: &str) -> Result<(), ProviderError> {
        self.wait(name, "finish processing", |st| match st {
            Some(st) => {
                st.processing() != Some(true)
                    && st.upgrade_processing() != Some(true)
                    && st
                        .domain_processing_status()
                        .is_none_or(|p| p.as_str() == "Active")
            }
            None => false,
        })
        .await
    }

    async fn create_domain(&self, d: &Desired) -> Result<Handle, ProviderError> {
        check_known(d)?;
        let name = d.str_prop("domain_name")?;
        let r = request(d)?;
        let out = self
            .client
            .create_domain()
            .domain_name(name)
            .set_engine_version(
                d.prop("engine_version")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            )
            .set_cluster_config(r.cluster_config)
            .set_ebs_options(r.ebs_options)
            .set_encryption_at_rest_options(r.encrypt_at_rest)
            .set_node_to_node_encryption_options(r.node_to_node)
            .set_domain_endpoint_options(r.endpoint_options)
            .set_vpc_options(r.vpc_options)
            .set_advanced_security_options(r.security)
            .set_log_publishing_options(r.log_publishing)
            .set_snapshot_options(r.snapshot_options)
            .set_software_update_options(r.software_update)
            .set_access_policies(r.access_policies)
            .set_tag_list(Some(os_tags(d)?))
            .send()
            .await
            .map_err(api_err(SERVICE, "CreateDomain"))?;
        let st = out
            .domain_status()
            .ok_or_else(|| ProviderError::missing(SERVICE, "CreateDomain", "DomainStatus"))?;
        let handle = domain_handle(st);
        self.wait_processed(name).await?;
        Ok(handle)
    }

    async fn read_domain(&self, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        let Some(st) = self.domain(&handle.provider_id).await? else {
            return Ok(None);
        };
        if st.deleted() == Some(true) {
            return Ok(None);
        }
        let tags = self
            .live_tags(st.arn())
            .await?
            .into_iter()
            .filter(|(k, _)| k != OWNER_TAG)
            .collect();
        Ok(Some(Live {
            handle: domain_handle(&st),
            properties: domain_doc(&st),
            tags,
        }))
    }

    async fn update_domain(
        &self,
        d: &Desired,
        handle: &Handle,
        changed: &[String],
    ) -> Result<Handle, ProviderError> {
        check_known(d)?;
        let name = handle.provider_id.as_str();
        let has = |p: &str| changed.iter().any(|c| c == p);
        if has("engine_version") {
            let target = d.str_prop("engine_version")?;
            self.client
                .upgrade_domain()
                .domain_name(name)
                .target_version(target)
                .send()
                .await
                .map_err(api_err(SERVICE, "UpgradeDomain"))?;
            self.wait_processed(name).await?;
        }
        let r = request(d)?;
        let config_props = [
            "cluster_config",
            "ebs_options",
            "encrypt_at_rest",
            "node_to_node_encryption",
            "domain_endpoint_options",
            "vpc_options",
            "advanced_security_options",
            "log_publishing_options",
            "snapshot_options",
            "software_update_options",
            "access_policies",
        ];
        if config_props.iter().any(|p| has(p)) {
            // Log types no longer wanted are switched off explicitly.
            let mut logs = r.log_publishing.filter(|_| has("log_publishing_options"));
            if let Some(logs) = logs.as_mut()
                && let Some(st) = self.domain(name).await?
            {
                for t in st
                    .log_publishing_options()
                    .into_iter()
                    .flat_map(|m| m.keys())
                {
                    logs.entry(t.clone())
                        .or_insert_with(|| LogPublishingOption::builder().enabled(false).build());
                }
            }
            self.client
                .update_domain_config()
                .domain_name(name)
                .set_cluster_config(r.cluster_config.filter(|_| has("cluster_config")))
                .set_ebs_options(r.ebs_options.filter(|_| has("ebs_options")))
                .set_encryption_at_rest_options(
                    r.encrypt_at_rest.filter(|_| has("encrypt_at_rest")),
                )
                .set_node_to_node_encryption_options(
                    r.node_to_node.filter(|_| has("node_to_node_encryption")),
                )
                .set_domain_endpoint_options(
                    r.endpoint_options
                        .filter(|_| has("domain_endpoint_options")),
                )
                .set_vpc_options(r.vpc_options.filter(|_| has("vpc_options")))
                .set_advanced_security_options(
                    r.security.filter(|_| has("advanced_security_options")),
                )
                .set_log_publishing_options(logs)
                .set_snapshot_options(r.snapshot_options.filter(|_| has("snapshot_options")))
                .set_software_update_options(
                    r.software_update.filter(|_| has("software_update_options")),
                )
                .set_access_policies(r.access_policies.filter(|_| has("access_policies")))
                .send()
                .await
                .map_err(api_err(SERVICE, "UpdateDomainConfig"))?;
            self.wait_processed(name).await?;
        }
        let arn = handle
            .attributes
            .get("arn")
            .cloned()
            .unwrap_or_else(|| handle.reference.clone());
        if has("tags") {
            let live = self.live_tags(&arn).await?;
            let stale = tag_keys_to_remove(&live, &d.tags);
            if !stale.is_empty() {
                self.client
                    .remove_tags()
                    .arn(&arn)
                    .set_tag_keys(Some(stale))
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "RemoveTags"))?;
            }
            self.client
                .add_tags()
                .arn(&arn)
                .set_tag_list(Some(os_tags(d)?))
                .send()
                .await
                .map_err(api_err(SERVICE, "AddTags"))?;
        }
        let mut h = Handle::with_reference(name, &arn);
        h.attributes.insert("arn".into(), arn);
        Ok(h)
    }

    async fn delete_domain(&self, handle: &Handle) -> Result<(), ProviderError> {
        let name = handle.provider_id.as_str();
        match self.domain(name).await? {
            None => return Ok(()),
            Some(st) if st.deleted() == Some(true) => {}
            Some(_) => {
                found(
                    self.client
                        .delete_domain()
                        .domain_name(name)
                        .send()
                        .await
                        .map_err(api_err(SERVICE, "DeleteDomain")),
                )?;
            }
        }
        self.wait(name, "be deleted", |st| st.is_none()).await
    }

    async fn find_domain(&self, d: &Desired) -> Result<Option<Handle>, ProviderError> {
        check_known(d)?;
        let name = d.str_prop("domain_name")?;
        let Some(st) = self.domain(name).await? else {
            return Ok(None);
        };
        if st.deleted() == Some(true) {
            return Ok(None);
        }
        let tags = self.live_tags(st.arn()).await?;
        check_owner(
            d,
            owner_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            &format!("OpenSearch domain `{name}`"),
        )?;
        Ok(Some(domain_handle(&st)))
    }
}

#[async_trait::async_trait]
impl Provider for OpenSearchProvider {
    fn types(&self) -> &'static [&'static str] {
        &[DOMAIN]
    }

    fn replace_on_change(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            DOMAIN => &["domain_name"],
            _ => &[],
        }
    }

    fn normalize(&self, type_name: &str, properties: &mut Value) {
        if type_name == DOMAIN {
            normalize_domain(properties);
        }
    }

    async fn create(&self, d: &Desired) -> Result<Handle, ProviderError> {
        match d.type_name.as_str() {
            DOMAIN => self.create_domain(d).await,
            other => Err(invalid(
                d,
                format!("type `{other}` is not an OpenSearch type"),
            )),
        }
    }

    async fn read(&self, _type_name: &str, handle: &Handle) -> Result<Option<Live>, ProviderError> {
        self.read_domain(handle).await
    }

    async fn update(
        &self,
        d: &Desired,
        handle: &Handle,
        changed: &[String],
    ) -> Result<Handle, ProviderError> {
        refuse_in_place_change(self, d, changed)?;
        self.update_domain(d, handle, changed).await
    }

    async fn delete(&self, _type_name: &str, handle: &Handle) -> Result<(), ProviderError> {
        self.delete_domain(handle).await
    }

    async fn find(&self, d: &Desired) -> Result<Option<Handle>, ProviderError> {
        self.find_domain(d).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn false_flags_and_absent_ones_compare_equal() {
        let mut a = json!({"cluster_config": {"instance_count": 3, "warm_enabled": false,
            "dedicated_master_enabled": false},
            "advanced_security_options": {"enabled": true, "anonymous_auth_enabled": false,
                "master_user_options": {"master_user_arn": "arn:aws:iam::1:role/a"}},
            "vpc_options": {"subnet_ids": ["b", "a"], "security_group_ids": []},
            "log_publishing_options": [
                {"log_type": "INDEX_SLOW_LOGS", "cloudwatch_log_group_arn": "arn:x:log-group:s:*"},
                {"log_type": "ES_APPLICATION_LOGS", "cloudwatch_log_group_arn": "arn:x:log-group:a", "enabled": true}],
            "access_policies": "{\"Version\":\"2012-10-17\"}"});
        normalize_domain(&mut a);
        assert_eq!(
            a,
            json!({"cluster_config": {"instance_count": 3},
                "advanced_security_options": {"enabled": true},
                "vpc_options": {"subnet_ids": ["a", "b"], "security_group_ids": []},
                "log_publishing_options": [
                    {"log_type": "ES_APPLICATION_LOGS", "cloudwatch_log_group_arn": "arn:x:log-group:a", "enabled": true},
                    {"log_type": "INDEX_SLOW_LOGS", "cloudwatch_log_group_arn": "arn:x:log-group:s", "enabled": true}],
                "access_policies": {"Version": "2012-10-17"}})
        );
    }
}
