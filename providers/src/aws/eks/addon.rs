//! `aws_eks_addon`: an EKS add-on of a cluster.
//!
//! In place (one UpdateAddon, then a wait for ACTIVE): `addon_version`,
//! `service_account_role_arn`, `configuration_values`, `pod_identity_association`; tags with
//! TagResource/UntagResource. `cluster_name` and `addon_name` are replaced.
//! `resolve_conflicts_on_create` and `resolve_conflicts_on_update` steer CreateAddon and
//! UpdateAddon and are not kept by EKS: they are write-only.
//!
//! `configuration_values` is a JSON object in stack documents and a string in the API: it is sent
//! serialised and read back parsed (a string holding JSON is accepted and normalised to the
//! object; YAML, which EKS also accepts, stays a string). EKS reports an add-on's pod identity
//! associations as ARNs only; each is described (DescribePodIdentityAssociation) to read back its
//! role and service account.

use aws_sdk_eks::types::{Addon, AddonPodIdentityAssociations, ResolveConflicts};
use serde_json::{Value, json};

use super::{
    EksProvider, SERVICE, check_found_owner, check_keys, child_handle, cluster_name_of,
    create_tags, found, live_tags, object, opt_string, split_child_id, sync_tags, wait_err,
};
use crate::aws::doc::invalid;
use crate::provider::{Desired, Handle, Live, ProviderError, api_err};

pub(super) const REPLACE_ON_CHANGE: &[&str] = &["cluster_name", "addon_name"];

pub(super) const WRITE_ONLY: &[&str] =
    &["resolve_conflicts_on_create", "resolve_conflicts_on_update"];

const KEYS: &[&str] = &[
    "cluster_name",
    "addon_name",
    "addon_version",
    "service_account_role_arn",
    "resolve_conflicts_on_create",
    "resolve_conflicts_on_update",
    "configuration_values",
    "pod_identity_association",
];

/// Canonical form: `configuration_values` as a JSON value when it is a string holding JSON;
/// pod identity associations sorted by service account.
pub(super) fn normalize(p: &mut Value) {
    if let Some(Value::String(s)) = p.get("configuration_values")
        && let Ok(v) = serde_json::from_str::<Value>(s)
        && v.is_object()
    {
        p["configuration_values"] = v;
    }
    if let Some(Value::Array(a)) = p.get_mut("pod_identity_association") {
        a.sort_by_key(|x| {
            (
                x.get("service_account")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                x.get("role_arn")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            )
        });
    }
}

/// `configuration_values` as the API takes it: a string.
fn configuration(d: &Desired) -> Result<Option<String>, ProviderError> {
    match d.prop("configuration_values") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v @ Value::Object(_)) => Ok(Some(v.to_string())),
        Some(_) => Err(invalid(
            d,
            "`configuration_values` must be an object (or a string of JSON or YAML)",
        )),
    }
}

fn associations(d: &Desired) -> Result<Option<Vec<AddonPodIdentityAssociations>>, ProviderError> {
    let list = match d.prop("pod_identity_association") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(invalid(d, "`pod_identity_association` must be a list")),
    };
    let mut out = Vec::new();
    for (i, a) in list.iter().enumerate() {
        check_keys(
            d,
            a,
            &format!("pod_identity_association[{i}]."),
            &["role_arn", "service_account"],
        )?;
        let role = opt_string(d, a, "role_arn")?.ok_or_else(|| {
            invalid(
                d,
                format!("`pod_identity_association[{i}].role_arn` is required"),
            )
        })?;
        let sa = opt_string(d, a, "service_account")?.ok_or_else(|| {
            invalid(
                d,
                format!("`pod_identity_association[{i}].service_account` is required"),
            )
        })?;
        out.push(
            AddonPodIdentityAssociations::builder()
                .role_arn(role)
                .service_account(sa)
                .build()
                .map_err(|e| invalid(d, format!("pod_identity_association[{i}]: {e}")))?,
        );
    }
    Ok(Some(out))
}

fn resolve(d: &Desired, name: &str) -> Result<Option<ResolveConflicts>, ProviderError> {
    let Some(v) = opt_string(d, &d.properties, name)? else {
        return Ok(None);
    };
    if !["OVERWRITE", "NONE", "PRESERVE"].contains(&v.as_str()) {
        return Err(invalid(
            d,
            format!("`{name}` is `{v}`; EKS takes OVERWRITE, NONE or PRESERVE"),
        ));
    }
    Ok(Some(ResolveConflicts::from(v.as_str())))
}

fn names(d: &Desired) -> Result<(String, String), ProviderError> {
    Ok((cluster_name_of(d)?, d.str_prop("addon_name")?.to_owned()))
}

pub(super) async fn create(p: &EksProvider, d: &Desired) -> Result<Handle, ProviderError> {
    check_keys(d, &d.properties, "", KEYS)?;
    let (cluster, name) = names(d)?;
    let out = p
        .client
        .create_addon()
        .cluster_name(&cluster)
        .addon_name(&name)
        .set_addon_version(opt_string(d, &d.properties, "addon_version")?)
        .set_service_account_role_arn(opt_string(d, &d.properties, "service_account_role_arn")?)
        .set_resolve_conflicts(resolve(d, "resolve_conflicts_on_create")?)
        .set_configuration_values(configuration(d)?)
        .set_pod_identity_associations(associations(d)?)
        .set_tags(Some(create_tags(d)))
        .send()
        .await
        .map_err(api_err(SERVICE, "CreateAddon"))?;
    let arn = out.addon().and_then(|a| a.addon_arn()).map(str::to_owned);
    wait_active(p, &cluster, &name, "CreateAddon").await?;
    Ok(child_handle(&cluster, &name, arn.as_deref()))
}

fn describe_status(o: &aws_sdk_eks::operation::describe_addon::DescribeAddonOutput) -> String {
    let a = o.addon();
    let issues: Vec<String> = a
        .and_then(|a| a.health())
        .map(|h| {
            h.issues()
                .iter()
                .map(|i| {
                    format!(
                        "{}: {}",
                        i.code().map(|c| c.as_str()).unwrap_or("?"),
                        i.message().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "the add-on is {}{}",
        a.and_then(|a| a.status())
            .map(|s| s.as_str())
            .unwrap_or("in an unknown state"),
        if issues.is_empty() {
            String::new()
        } else {
            format!(" ({})", issues.join("; "))
        }
    )
}

async fn wait_active(
    p: &EksProvider,
    cluster: &str,
    name: &str,
    operation: &'static str,
) -> Result<(), ProviderError> {
    use aws_sdk_eks::client::Waiters;
    p.client
        .wait_until_addon_active()
        .cluster_name(cluster)
        .addon_name(name)
        .wait(p.timeouts.addon)
        .await
        .map(|_| ())
        .map_err(|e| {
            wait_err(
                operation,
                &format!("EKS add-on `{name}` of `{cluster}` to be ACTIVE"),
                describe_status,
                e,
            )
        })
}

async fn describe(
    p: &EksProvider,
    cluster: &str,
    name: &str,
) -> Result<Option<Addon>, ProviderError> {
    Ok(found(
        p.client
            .describe_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeAddon")),
    )?
    .and_then(|o| o.addon))
}

/// Each association ARN (`…:podidentityassociation/CLUSTER/a-xxxx`) described, as
/// `{role_arn, service_account}`.
async fn read_associations(
    p: &EksProvider,
    cluster: &str,
    arns: &[String],
) -> Result<Vec<Value>, ProviderError> {
    let mut out = Vec::new();
    for arn in arns {
        let id = arn.rsplit('/').next().unwrap_or(arn);
        let a = p
            .client
            .describe_pod_identity_association()
            .cluster_name(cluster)
            .association_id(id)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribePodIdentityAssociation"))?;
        if let Some(a) = a.association() {
            out.push(object(vec![
                ("role_arn", a.role_arn().map(Value::from)),
                ("service_account", a.service_account().map(Value::from)),
            ]));
        }
    }
    Ok(out)
}

pub(super) async fn read(p: &EksProvider, handle: &Handle) -> Result<Option<Live>, ProviderError> {
    let (cluster, name) = split_child_id(handle, "DescribeAddon")?;
    let Some(a) = describe(p, &cluster, &name).await? else {
        return Ok(None);
    };
    let associations = read_associations(p, &cluster, a.pod_identity_associations()).await?;
    let mut doc = object(vec![
        ("cluster_name", a.cluster_name().map(Value::from)),
        ("addon_name", a.addon_name().map(Value::from)),
        ("addon_version", a.addon_version().map(Value::from)),
        (
            "service_account_role_arn",
            a.service_account_role_arn().map(Value::from),
        ),
        (
            "configuration_values",
            a.configuration_values()
                .filter(|s| !s.trim().is_empty())
                .map(Value::from),
        ),
        ("pod_identity_association", Some(json!(associations))),
    ]);
    normalize(&mut doc);
    Ok(Some(Live {
        handle: handle.clone(),
        properties: doc,
        tags: live_tags(a.tags()),
    }))
}

pub(super) async fn update(
    p: &EksProvider,
    d: &Desired,
    handle: &Handle,
    changed: &[String],
) -> Result<Handle, ProviderError> {
    check_keys(d, &d.properties, "", KEYS)?;
    let (cluster, name) = split_child_id(handle, "UpdateAddon")?;
    let live = describe(p, &cluster, &name).await?.ok_or_else(|| {
        invalid(
            d,
            format!("EKS add-on `{name}` of `{cluster}` no longer exists"),
        )
    })?;
    let has = |k: &str| changed.iter().any(|c| c == k);
    let mut req = p
        .client
        .update_addon()
        .cluster_name(&cluster)
        .addon_name(&name)
        .set_resolve_conflicts(resolve(d, "resolve_conflicts_on_update")?);
    let mut any = false;
    if has("addon_version") {
        req = req.set_addon_version(opt_string(d, &d.properties, "addon_version")?);
        any = true;
    }
    if has("service_account_role_arn") {
        // An empty string removes the role.
        req = req.service_account_role_arn(
            opt_string(d, &d.properties, "service_account_role_arn")?.unwrap_or_default(),
        );
        any = true;
    }
    if has("configuration_values") {
        // An empty object clears what was set.
        req = req.configuration_values(configuration(d)?.unwrap_or_else(|| "{}".to_owned()));
        any = true;
    }
    if has("pod_identity_association") {
        // The whole list: associations left out are removed.
        req = req.set_pod_identity_associations(Some(associations(d)?.unwrap_or_default()));
        any = true;
    }
    if any {
        req.send().await.map_err(api_err(SERVICE, "UpdateAddon"))?;
        wait_active(p, &cluster, &name, "UpdateAddon").await?;
    }
    if has("tags") {
        let arn = live.addon_arn().ok_or_else(|| ProviderError::Api {
            service: SERVICE,
            operation: "DescribeAddon",
            code: None,
            status: None,
            message: format!("add-on `{name}` was described without an ARN"),
        })?;
        sync_tags(p, arn, live.tags(), d).await?;
    }
    Ok(child_handle(&cluster, &name, live.addon_arn()))
}

pub(super) async fn delete(p: &EksProvider, handle: &Handle) -> Result<(), ProviderError> {
    use aws_sdk_eks::client::Waiters;
    let (cluster, name) = split_child_id(handle, "DeleteAddon")?;
    p.client
        .delete_addon()
        .cluster_name(&cluster)
        .addon_name(&name)
        .send()
        .await
        .map_err(api_err(SERVICE, "DeleteAddon"))?;
    p.client
        .wait_until_addon_deleted()
        .cluster_name(&cluster)
        .addon_name(&name)
        .wait(p.timeouts.addon)
        .await
        .map(|_| ())
        .map_err(|e| {
            wait_err(
                "DeleteAddon",
                &format!("EKS add-on `{name}` of `{cluster}` to be deleted"),
                describe_status,
                e,
            )
        })
}

pub(super) async fn find(p: &EksProvider, d: &Desired) -> Result<Option<Handle>, ProviderError> {
    let (cluster, name) = names(d)?;
    let Some(a) = describe(p, &cluster, &name).await? else {
        return Ok(None);
    };
    check_found_owner(d, a.tags(), &format!("EKS add-on `{name}` of `{cluster}`"))?;
    Ok(Some(child_handle(&cluster, &name, a.addon_arn())))
}
