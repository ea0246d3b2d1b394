//! `aws_eks_cluster`: the control plane.
//!
//! In place: `version` (UpdateClusterVersion, one minor version up per apply, as EKS allows),
//! `vpc_config` (subnets and security groups in one UpdateClusterConfig, endpoint access in
//! another: EKS takes one kind of change per call), `enabled_cluster_log_types`,
//! `access_config.authentication_mode`, `upgrade_policy` and tags, each followed by a wait for
//! the cluster to be ACTIVE again. Replaced: `name`, `role_arn`, `encryption_config` (EKS cannot
//! change or remove secrets encryption) and `kubernetes_network_config` (fixed at creation).
//! `access_config.bootstrap_cluster_creator_admin_permissions` is creation-only: a change is an
//! error rather than a silent no-op.

use aws_sdk_eks::types::{
    AuthenticationMode, Cluster, CreateAccessConfigRequest, EncryptionConfig, IpFamily,
    KubernetesNetworkConfigRequest, LogSetup, LogType, Logging, Provider as KeyProvider,
    SupportType, UpdateAccessConfigRequest, UpgradePolicyRequest, VpcConfigRequest,
};
use serde_json::{Value, json};

use super::{
    EksProvider, SERVICE, check_found_owner, check_keys, create_tags, found, live_tags, object,
    opt_bool, opt_obj, opt_string, opt_strings, sort_strings, sorted, sync_tags, wait_err,
};
use crate::aws::doc::invalid;
use crate::provider::{Desired, Handle, Live, ProviderError, api_err};

pub(super) const REPLACE_ON_CHANGE: &[&str] = &[
    "name",
    "role_arn",
    "encryption_config",
    "kubernetes_network_config",
];

const KEYS: &[&str] = &[
    "name",
    "version",
    "role_arn",
    "vpc_config",
    "encryption_config",
    "enabled_cluster_log_types",
    "kubernetes_network_config",
    "access_config",
    "upgrade_policy",
];
const VPC_KEYS: &[&str] = &[
    "subnet_ids",
    "security_group_ids",
    "endpoint_private_access",
    "endpoint_public_access",
    "public_access_cidrs",
];

/// The control-plane log types EKS knows; those not enabled are sent as disabled on update.
const LOG_TYPES: &[&str] = &[
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
];

/// Canonical form: set-like lists sorted; the endpoint flags at EKS's defaults when absent
/// (private off, public on); `public_access_cidrs` dropped when the public endpoint is off (it
/// means nothing then, and EKS reports `0.0.0.0/0` there whatever was sent); `ip_family` at its
/// default `ipv4`; one encryption entry's `resources` sorted.
pub(super) fn normalize(p: &mut Value) {
    sort_strings(p, "enabled_cluster_log_types");
    if let Some(vpc) = p.get_mut("vpc_config").filter(|v| v.is_object()) {
        sort_strings(vpc, "subnet_ids");
        sort_strings(vpc, "security_group_ids");
        sort_strings(vpc, "public_access_cidrs");
        if vpc.get("endpoint_private_access").is_none() {
            vpc["endpoint_private_access"] = json!(false);
        }
        if vpc.get("endpoint_public_access").is_none() {
            vpc["endpoint_public_access"] = json!(true);
        }
        if vpc["endpoint_public_access"] == json!(false)
            && let Some(m) = vpc.as_object_mut()
        {
            m.remove("public_access_cidrs");
        }
    }
    if let Some(enc) = p.get_mut("encryption_config").filter(|v| v.is_object()) {
        sort_strings(enc, "resources");
    }
    if let Some(net) = p
        .get_mut("kubernetes_network_config")
        .filter(|v| v.is_object())
        && net.get("ip_family").is_none()
    {
        net["ip_family"] = json!("ipv4");
    }
}

fn vpc_request(d: &Desired, vpc: &Value) -> Result<VpcConfigRequest, ProviderError> {
    check_keys(d, vpc, "vpc_config.", VPC_KEYS)?;
    Ok(VpcConfigRequest::builder()
        .set_subnet_ids(opt_strings(d, vpc, "subnet_ids")?)
        .set_security_group_ids(opt_strings(d, vpc, "security_group_ids")?)
        .set_endpoint_private_access(opt_bool(d, vpc, "endpoint_private_access")?)
        .set_endpoint_public_access(opt_bool(d, vpc, "endpoint_public_access")?)
        // An empty list is "no CIDRs given": EKS applies its default.
        .set_public_access_cidrs(
            opt_strings(d, vpc, "public_access_cidrs")?.filter(|c| !c.is_empty()),
        )
        .build())
}

fn encryption_request(d: &Desired) -> Result<Option<Vec<EncryptionConfig>>, ProviderError> {
    let Some(enc) = opt_obj(d, &d.properties, "encryption_config")? else {
        return Ok(None);
    };
    check_keys(d, enc, "encryption_config.", &["resources", "provider"])?;
    let key_arn = match opt_obj(d, enc, "provider")? {
        Some(p) => {
            check_keys(d, p, "encryption_config.provider.", &["key_arn"])?;
            opt_string(d, p, "key_arn")?
        }
        None => None,
    };
    let key_arn = key_arn.ok_or_else(|| {
        invalid(
            d,
            "`encryption_config.provider.key_arn` is required (a KMS key ARN)",
        )
    })?;
    Ok(Some(vec![
        EncryptionConfig::builder()
            .set_resources(opt_strings(d, enc, "resources")?)
            .provider(KeyProvider::builder().key_arn(key_arn).build())
            .build(),
    ]))
}

/// `logging` enabling `types` and, when `disable_rest`, disabling the other known types.
fn logging(types: &[String], disable_rest: bool) -> Logging {
    let mut setups = Vec::new();
    if !types.is_empty() {
        setups.push(
            LogSetup::builder()
                .set_types(Some(
                    types.iter().map(|t| LogType::from(t.as_str())).collect(),
                ))
                .enabled(true)
                .build(),
        );
    }
    let rest: Vec<LogType> = LOG_TYPES
        .iter()
        .filter(|t| !types.iter().any(|x| x == *t))
        .map(|t| LogType::from(*t))
        .collect();
    if disable_rest && !rest.is_empty() {
        setups.push(
            LogSetup::builder()
                .set_types(Some(rest))
                .enabled(false)
                .build(),
        );
    }
    Logging::builder().set_cluster_logging(Some(setups)).build()
}

fn log_types(d: &Desired) -> Result<Option<Vec<String>>, ProviderError> {
    let types = opt_strings(d, &d.properties, "enabled_cluster_log_types")?;
    if let Some(bad) = types
        .iter()
        .flatten()
        .find(|t| !LOG_TYPES.contains(&t.as_str()))
    {
        return Err(invalid(
            d,
            format!(
                "`enabled_cluster_log_types` has `{bad}`; EKS knows {}",
                LOG_TYPES.join(", ")
            ),
        ));
    }
    Ok(types)
}

fn network_request(d: &Desired) -> Result<Option<KubernetesNetworkConfigRequest>, ProviderError> {
    let Some(net) = opt_obj(d, &d.properties, "kubernetes_network_config")? else {
        return Ok(None);
    };
    check_keys(
        d,
        net,
        "kubernetes_network_config.",
        &["service_ipv4_cidr", "ip_family"],
    )?;
    Ok(Some(
        KubernetesNetworkConfigRequest::builder()
            .set_service_ipv4_cidr(opt_string(d, net, "service_ipv4_cidr")?)
            .set_ip_family(opt_string(d, net, "ip_family")?.map(|f| IpFamily::from(f.as_str())))
            .build(),
    ))
}

/// `access_config`: (authentication mode, bootstrap admin permissions).
type Access = (Option<String>, Option<bool>);

fn access(d: &Desired) -> Result<Option<Access>, ProviderError> {
    let Some(a) = opt_obj(d, &d.properties, "access_config")? else {
        return Ok(None);
    };
    check_keys(
        d,
        a,
        "access_config.",
        &[
            "authentication_mode",
            "bootstrap_cluster_creator_admin_permissions",
        ],
    )?;
    Ok(Some((
        opt_string(d, a, "authentication_mode")?,
        opt_bool(d, a, "bootstrap_cluster_creator_admin_permissions")?,
    )))
}

fn support_type(d: &Desired) -> Result<Option<String>, ProviderError> {
    let Some(u) = opt_obj(d, &d.properties, "upgrade_policy")? else {
        return Ok(None);
    };
    check_keys(d, u, "upgrade_policy.", &["support_type"])?;
    opt_string(d, u, "support_type")
}

fn handle_for(name: &str, arn: Option<&str>) -> Handle {
    let mut h = Handle::new(name);
    if let Some(arn) = arn {
        h.attributes.insert("arn".into(), arn.to_owned());
    }
    h
}

pub(super) async fn create(p: &EksProvider, d: &Desired) -> Result<Handle, ProviderError> {
    check_keys(d, &d.properties, "", KEYS)?;
    let name = d.str_prop("name")?;
    let vpc = opt_obj(d, &d.properties, "vpc_config")?
        .ok_or_else(|| invalid(d, "`vpc_config` is required"))?;
    let (auth_mode, bootstrap) = access(d)?.unwrap_or_default();
    let access_config = (auth_mode.is_some() || bootstrap.is_some()).then(|| {
        CreateAccessConfigRequest::builder()
            .set_authentication_mode(auth_mode.map(|m| AuthenticationMode::from(m.as_str())))
            .set_bootstrap_cluster_creator_admin_permissions(bootstrap)
            .build()
    });
    let out = p
        .client
        .create_cluster()
        .name(name)
        .role_arn(d.str_prop("role_arn")?)
        .set_version(opt_string(d, &d.properties, "version")?)
        .resources_vpc_config(vpc_request(d, vpc)?)
        .set_kubernetes_network_config(network_request(d)?)
        .set_logging(log_types(d)?.map(|t| logging(&t, false)))
        .set_encryption_config(encryption_request(d)?)
        .set_access_config(access_config)
        .set_upgrade_policy(support_type(d)?.map(|s| {
            UpgradePolicyRequest::builder()
                .support_type(SupportType::from(s.as_str()))
                .build()
        }))
        .set_tags(Some(create_tags(d)))
        .send()
        .await
        .map_err(api_err(SERVICE, "CreateCluster"))?;
    let arn = out.cluster().and_then(|c| c.arn()).map(str::to_owned);
    wait_active(p, name, p.timeouts.cluster_create, "CreateCluster").await?;
    Ok(handle_for(name, arn.as_deref()))
}

async fn wait_active(
    p: &EksProvider,
    name: &str,
    timeout: std::time::Duration,
    operation: &'static str,
) -> Result<(), ProviderError> {
    use aws_sdk_eks::client::Waiters;
    p.client
        .wait_until_cluster_active()
        .name(name)
        .wait(timeout)
        .await
        .map(|_| ())
        .map_err(|e| {
            wait_err(
                operation,
                &format!("EKS cluster `{name}` to be ACTIVE"),
                |o: &aws_sdk_eks::operation::describe_cluster::DescribeClusterOutput| {
                    format!(
                        "the cluster is {}",
                        o.cluster()
                            .and_then(|c| c.status())
                            .map(|s| s.as_str())
                            .unwrap_or("in an unknown state")
                    )
                },
                e,
            )
        })
}

async fn describe(p: &EksProvider, name: &str) -> Result<Option<Cluster>, ProviderError> {
    Ok(found(
        p.client
            .describe_cluster()
            .name(name)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeCluster")),
    )?
    .and_then(|o| o.cluster))
}

/// The cluster as a stack document (canonical form).
fn document(c: &Cluster) -> Value {
    let vpc = c.resources_vpc_config().map(|v| {
        json!({
            "subnet_ids": sorted(v.subnet_ids()),
            "security_group_ids": sorted(v.security_group_ids()),
            "endpoint_private_access": v.endpoint_private_access(),
            "endpoint_public_access": v.endpoint_public_access(),
            "public_access_cidrs": sorted(v.public_access_cidrs()),
        })
    });
    let encryption = c.encryption_config().first().map(|e| {
        object(vec![
            ("resources", Some(sorted(e.resources()))),
            (
                "provider",
                e.provider()
                    .and_then(|p| p.key_arn())
                    .map(|k| json!({ "key_arn": k })),
            ),
        ])
    });
    let logs: Vec<String> = c
        .logging()
        .map(|l| {
            l.cluster_logging()
                .iter()
                .filter(|s| s.enabled() == Some(true))
                .flat_map(|s| s.types().iter().map(|t| t.as_str().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let network = c.kubernetes_network_config().map(|n| {
        object(vec![
            ("service_ipv4_cidr", n.service_ipv4_cidr().map(Value::from)),
            ("ip_family", n.ip_family().map(|f| Value::from(f.as_str()))),
        ])
    });
    let access = c.access_config().map(|a| {
        object(vec![
            (
                "authentication_mode",
                a.authentication_mode().map(|m| Value::from(m.as_str())),
            ),
            (
                "bootstrap_cluster_creator_admin_permissions",
                a.bootstrap_cluster_creator_admin_permissions()
                    .map(Value::from),
            ),
        ])
    });
    let upgrade = c.upgrade_policy().map(|u| {
        object(vec![(
            "support_type",
            u.support_type().map(|s| Value::from(s.as_str())),
        )])
    });
    let mut doc = object(vec![
        ("name", c.name().map(Value::from)),
        ("version", c.version().map(Value::from)),
        ("role_arn", c.role_arn().map(Value::from)),
        ("vpc_config", vpc),
        ("encryption_config", encryption),
        ("enabled_cluster_log_types", Some(sorted(&logs))),
        ("kubernetes_network_config", network),
        ("access_config", access),
        ("upgrade_policy", upgrade),
    ]);
    normalize(&mut doc);
    doc
}

pub(super) async fn read(p: &EksProvider, handle: &Handle) -> Result<Option<Live>, ProviderError> {
    let Some(c) = describe(p, &handle.provider_id).await? else {
        return Ok(None);
    };
    Ok(Some(Live {
        handle: handle.clone(),
        properties: document(&c),
        tags: live_tags(c.tags()),
    }))
}

/// `"1.32"` → (1, 32).
fn minor(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

pub(super) async fn update(
    p: &EksProvider,
    d: &Desired,
    handle: &Handle,
    changed: &[String],
) -> Result<Handle, ProviderError> {
    check_keys(d, &d.properties, "", KEYS)?;
    let name = handle.provider_id.as_str();
    let live = describe(p, name)
        .await?
        .ok_or_else(|| invalid(d, format!("EKS cluster `{name}` no longer exists")))?;
    let live_doc = document(&live);
    let mut want = d.properties.clone();
    normalize(&mut want);
    let has = |k: &str| changed.iter().any(|c| c == k);
    let timeout = p.timeouts.cluster_update;

    // Version first: the other settings are the same on either side of an upgrade.
    if has("version")
        && let Some(to) = opt_string(d, &d.properties, "version")?
        && live.version() != Some(to.as_str())
    {
        let from = live.version().unwrap_or("unknown");
        match (minor(from), minor(&to)) {
            (Some((fa, fb)), Some((ta, tb))) if fa == ta && tb == fb + 1 => {}
            _ => {
                return Err(invalid(
                    d,
                    format!(
                        "`version` {from} → {to}: EKS upgrades a cluster one minor version at a \
                         time and never downgrades; set the next minor version ({}), apply, and \
                         repeat",
                        minor(from)
                            .map(|(a, b)| format!("{a}.{}", b + 1))
                            .unwrap_or_else(|| "?".into())
                    ),
                ));
            }
        }
        p.client
            .update_cluster_version()
            .name(name)
            .version(&to)
            .send()
            .await
            .map_err(api_err(SERVICE, "UpdateClusterVersion"))?;
        wait_active(p, name, timeout, "UpdateClusterVersion").await?;
    }

    if has("vpc_config") {
        let vpc = opt_obj(d, &d.properties, "vpc_config")?
            .ok_or_else(|| invalid(d, "`vpc_config` is required"))?;
        let req = vpc_request(d, vpc)?;
        let (w, l) = (&want["vpc_config"], &live_doc["vpc_config"]);
        let differs = |k: &str| w.get(k) != l.get(k);
        if differs("subnet_ids") || differs("security_group_ids") {
            p.client
                .update_cluster_config()
                .name(name)
                .resources_vpc_config(
                    VpcConfigRequest::builder()
                        .set_subnet_ids(req.subnet_ids.clone())
                        .set_security_group_ids(req.security_group_ids.clone())
                        .build(),
                )
                .send()
                .await
                .map_err(api_err(SERVICE, "UpdateClusterConfig"))?;
            wait_active(p, name, timeout, "UpdateClusterConfig").await?;
        }
        if differs("endpoint_private_access")
            || differs("endpoint_public_access")
            || differs("public_access_cidrs")
        {
            p.client
                .update_cluster_config()
                .name(name)
                .resources_vpc_config(
                    VpcConfigRequest::builder()
                        .set_endpoint_private_access(req.endpoint_private_access)
                        .set_endpoint_public_access(req.endpoint_public_access)
                        .set_public_access_cidrs(req.public_access_cidrs.clone())
                        .build(),
                )
                .send()
                .await
                .map_err(api_err(SERVICE, "UpdateClusterConfig"))?;
            wait_active(p, name, timeout, "UpdateClusterConfig").await?;
        }
    }

    if has("enabled_cluster_log_types") {
        let types = log_types(d)?.unwrap_or_default();
        p.client
            .update_cluster_config()
            .name(name)
            .logging(logging(&types, true))
            .send()
            .await
            .map_err(api_err(SERVICE, "UpdateClusterConfig"))?;
        wait_active(p, name, timeout, "UpdateClusterConfig").await?;
    }

    if has("access_config") {
        let (mode, bootstrap) = access(d)?.unwrap_or_default();
        let live_access = live.access_config();
        if let Some(b) = bootstrap
            && live_access.and_then(|a| a.bootstrap_cluster_creator_admin_permissions()) != Some(b)
        {
            return Err(invalid(
                d,
                "`access_config.bootstrap_cluster_creator_admin_permissions` is set at creation \
                 only; grant or revoke admin access with access entries, or replace the cluster",
            ));
        }
        if let Some(mode) = mode
            && live_access
                .and_then(|a| a.authentication_mode())
                .map(|m| m.as_str())
                != Some(mode.as_str())
        {
            p.client
                .update_cluster_config()
                .name(name)
                .access_config(
                    UpdateAccessConfigRequest::builder()
                        .authentication_mode(AuthenticationMode::from(mode.as_str()))
                        .build(),
                )
                .send()
                .await
                .map_err(api_err(SERVICE, "UpdateClusterConfig"))?;
            wait_active(p, name, timeout, "UpdateClusterConfig").await?;
        }
    }

    if has("upgrade_policy")
        && let Some(s) = support_type(d)?
    {
        p.client
            .update_cluster_config()
            .name(name)
            .upgrade_policy(
                UpgradePolicyRequest::builder()
                    .support_type(SupportType::from(s.as_str()))
                    .build(),
            )
            .send()
            .await
            .map_err(api_err(SERVICE, "UpdateClusterConfig"))?;
        wait_active(p, name, timeout, "UpdateClusterConfig").await?;
    }

    if has("tags") {
        let arn = live.arn().ok_or_else(|| ProviderError::Api {
            service: SERVICE,
            operation: "DescribeCluster",
            code: None,
            status: None,
            message: format!("cluster `{name}` was described without an ARN"),
        })?;
        sync_tags(p, arn, live.tags(), d).await?;
    }
    Ok(handle_for(name, live.arn()))
}

pub(super) async fn delete(p: &EksProvider, handle: &Handle) -> Result<(), ProviderError> {
    use aws_sdk_eks::client::Waiters;
    let name = handle.provider_id.as_str();
    p.client
        .delete_cluster()
        .name(name)
        .send()
        .await
        .map_err(api_err(SERVICE, "DeleteCluster"))?;
    p.client
        .wait_until_cluster_deleted()
        .name(name)
        .wait(p.timeouts.cluster_delete)
        .await
        .map(|_| ())
        .map_err(|e| {
            wait_err(
                "DeleteCluster",
                &format!("EKS cluster `{name}` to be deleted"),
                |o: &aws_sdk_eks::operation::describe_cluster::DescribeClusterOutput| {
                    format!(
                        "the cluster is {}",
                        o.cluster()
                            .and_then(|c| c.status())
                            .map(|s| s.as_str())
                            .unwrap_or("in an unknown state")
                    )
                },
                e,
            )
        })
}

pub(super) async fn find(p: &EksProvider, d: &Desired) -> Result<Option<Handle>, ProviderError> {
    let name = d.str_prop("name")?;
    let Some(c) = describe(p, name).await? else {
        return Ok(None);
    };
    check_found_owner(d, c.tags(), &format!("EKS cluster `{name}`"))?;
    Ok(Some(handle_for(name, c.arn())))
}
