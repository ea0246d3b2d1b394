//! `aws_eks_node_group`: a managed node group.
//!
//! In place (one UpdateNodegroupConfig, then a wait for ACTIVE): `scaling_config`,
//! `update_config`, `labels`, `taint`; tags with TagResource/UntagResource. Everything else is
//! fixed when the group is created and is replaced. `node_group_name` is required (EKS has no
//! generated names). Launch templates, remote access, `version` and `release_version` are not
//! supported and are refused.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_eks::types::{
    AmiTypes, CapacityTypes, Nodegroup, NodegroupScalingConfig, NodegroupUpdateConfig, Taint,
    TaintEffect, UpdateLabelsPayload, UpdateTaintsPayload,
};
use serde_json::{Value, json};

use super::{
    EksProvider, SERVICE, check_found_owner, check_keys, child_handle, cluster_name_of,
    create_tags, found, live_tags, object, opt_i32, opt_obj, opt_string, opt_strings, sort_strings,
    sorted, split_child_id, sync_tags, wait_err,
};
use crate::aws::doc::invalid;
use crate::provider::{Desired, Handle, Live, ProviderError, api_err};

pub(super) const REPLACE_ON_CHANGE: &[&str] = &[
    "cluster_name",
    "node_group_name",
    "node_role_arn",
    "subnet_ids",
    "instance_types",
    "capacity_type",
    "ami_type",
    "disk_size",
];

const KEYS: &[&str] = &[
    "cluster_name",
    "node_group_name",
    "node_role_arn",
    "subnet_ids",
    "instance_types",
    "capacity_type",
    "ami_type",
    "disk_size",
    "scaling_config",
    "update_config",
    "labels",
    "taint",
];

/// Canonical form: subnets sorted, taints sorted by key, effect and value.
pub(super) fn normalize(p: &mut Value) {
    sort_strings(p, "subnet_ids");
    if let Some(Value::Array(t)) = p.get_mut("taint") {
        t.sort_by_key(taint_key);
    }
}

fn taint_key(t: &Value) -> (String, String, String) {
    let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    (s("key"), s("effect"), s("value"))
}

fn scaling(d: &Desired) -> Result<Option<NodegroupScalingConfig>, ProviderError> {
    let Some(s) = opt_obj(d, &d.properties, "scaling_config")? else {
        return Ok(None);
    };
    check_keys(
        d,
        s,
        "scaling_config.",
        &["desired_size", "min_size", "max_size"],
    )?;
    Ok(Some(
        NodegroupScalingConfig::builder()
            .set_desired_size(opt_i32(d, s, "desired_size")?)
            .set_min_size(opt_i32(d, s, "min_size")?)
            .set_max_size(opt_i32(d, s, "max_size")?)
            .build(),
    ))
}

fn update_config(d: &Desired) -> Result<Option<NodegroupUpdateConfig>, ProviderError> {
    let Some(u) = opt_obj(d, &d.properties, "update_config")? else {
        return Ok(None);
    };
    check_keys(
        d,
        u,
        "update_config.",
        &["max_unavailable", "max_unavailable_percentage"],
    )?;
    Ok(Some(
        NodegroupUpdateConfig::builder()
            .set_max_unavailable(opt_i32(d, u, "max_unavailable")?)
            .set_max_unavailable_percentage(opt_i32(d, u, "max_unavailable_percentage")?)
            .build(),
    ))
}

fn labels(d: &Desired) -> Result<Option<HashMap<String, String>>, ProviderError> {
    match d.prop("labels") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value::<HashMap<String, String>>(v.clone())
            .map(Some)
            .map_err(|_| invalid(d, "`labels` must be an object of strings")),
    }
}

/// A taint: key, value, effect.
type TaintSpec = (String, Option<String>, String);

/// The document's taints.
fn taints(d: &Desired) -> Result<Option<Vec<TaintSpec>>, ProviderError> {
    let list = match d.prop("taint") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(invalid(d, "`taint` must be a list")),
    };
    let mut out = Vec::new();
    for (i, t) in list.iter().enumerate() {
        check_keys(d, t, &format!("taint[{i}]."), &["key", "value", "effect"])?;
        let key = opt_string(d, t, "key")?
            .ok_or_else(|| invalid(d, format!("`taint[{i}].key` is required")))?;
        let effect = opt_string(d, t, "effect")?
            .ok_or_else(|| invalid(d, format!("`taint[{i}].effect` is required")))?;
        if !["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"].contains(&effect.as_str()) {
            return Err(invalid(
                d,
                format!(
                    "`taint[{i}].effect` is `{effect}`; EKS takes NO_SCHEDULE, NO_EXECUTE or \
                     PREFER_NO_SCHEDULE"
                ),
            ));
        }
        out.push((key, opt_string(d, t, "value")?, effect));
    }
    Ok(Some(out))
}

fn taint(key: &str, value: Option<&str>, effect: &str) -> Taint {
    Taint::builder()
        .key(key)
        .set_value(value.map(str::to_owned))
        .effect(TaintEffect::from(effect))
        .build()
}

fn names(d: &Desired) -> Result<(String, String), ProviderError> {
    Ok((
        cluster_name_of(d)?,
        d.str_prop("node_group_name")?.to_owned(),
    ))
}

pub(super) async fn create(p: &EksProvider, d: &Desired) -> Result<Handle, ProviderError> {
    check_keys(d, &d.properties, "", KEYS)?;
    let (cluster, name) = names(d)?;
    let out = p
        .client
        .create_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name(&name)
        .node_role(d.str_prop("node_role_arn")?)
        .set_subnets(Some(
            opt_strings(d, &d.properties, "subnet_ids")?
                .ok_or_else(|| invalid(d, "`subnet_ids` is required"))?,
        ))
        .set_instance_types(opt_strings(d, &d.properties, "instance_types")?)
        .set_capacity_type(
            opt_string(d, &d.properties, "capacity_type")?.map(|c| CapacityTypes::from(c.as_str())),
        )
        .set_ami_type(opt_string(d, &d.properties, "ami_type")?.map(|a| AmiTypes::from(a.as_str())))
        .set_disk_size(opt_i32(d, &d.properties, "disk_size")?)
        .set_scaling_config(scaling(d)?)
        .set_update_config(update_config(d)?)
        .set_labels(labels(d)?)
        .set_taints(taints(d)?.map(|ts| {
            ts.iter()
                .map(|(k, v, e)| taint(k, v.as_deref(), e))
                .collect()
        }))
        .set_tags(Some(create_tags(d)))
        .send()
        .await
        .map_err(api_err(SERVICE, "CreateNodegroup"))?;
    let arn = out
        .nodegroup()
        .and_then(|n| n.nodegroup_arn())
        .map(str::to_owned);
    wait_active(p, &cluster, &name, "CreateNodegroup").await?;
    Ok(child_handle(&cluster, &name, arn.as_deref()))
}

async fn wait_active(
    p: &EksProvider,
    cluster: &str,
    name: &str,
    operation: &'static str,
) -> Result<(), ProviderError> {
    use aws_sdk_eks::client::Waiters;
    p.client
        .wait_until_nodegroup_active()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .wait(p.timeouts.node_group)
        .await
        .map(|_| ())
        .map_err(|e| {
            wait_err(
                operation,
                &format!("EKS node group `{name}` of `{cluster}` to be ACTIVE"),
                describe_status,
                e,
            )
        })
}

fn describe_status(
    o: &aws_sdk_eks::operation::describe_nodegroup::DescribeNodegroupOutput,
) -> String {
    let n = o.nodegroup();
    let issues: Vec<String> = n
        .and_then(|n| n.health())
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
        "the node group is {}{}",
        n.and_then(|n| n.status())
            .map(|s| s.as_str())
            .unwrap_or("in an unknown state"),
        if issues.is_empty() {
            String::new()
        } else {
            format!(" ({})", issues.join("; "))
        }
    )
}

async fn describe(
    p: &EksProvider,
    cluster: &str,
    name: &str,
) -> Result<Option<Nodegroup>, ProviderError> {
    Ok(found(
        p.client
            .describe_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeNodegroup")),
    )?
    .and_then(|o| o.nodegroup))
}

fn document(n: &Nodegroup) -> Value {
    let labels: BTreeMap<&String, &String> =
        n.labels().map(|l| l.iter().collect()).unwrap_or_default();
    let taints: Vec<Value> = n
        .taints()
        .iter()
        .map(|t| {
            object(vec![
                ("key", t.key().map(Value::from)),
                ("value", t.value().map(Value::from)),
                ("effect", t.effect().map(|e| Value::from(e.as_str()))),
            ])
        })
        .collect();
    let mut doc = object(vec![
        ("cluster_name", n.cluster_name().map(Value::from)),
        ("node_group_name", n.nodegroup_name().map(Value::from)),
        ("node_role_arn", n.node_role().map(Value::from)),
        ("subnet_ids", Some(sorted(n.subnets()))),
        ("instance_types", Some(json!(n.instance_types()))),
        (
            "capacity_type",
            n.capacity_type().map(|c| Value::from(c.as_str())),
        ),
        ("ami_type", n.ami_type().map(|a| Value::from(a.as_str()))),
        ("disk_size", n.disk_size().map(Value::from)),
        (
            "scaling_config",
            n.scaling_config().map(|s| {
                object(vec![
                    ("desired_size", s.desired_size().map(Value::from)),
                    ("min_size", s.min_size().map(Value::from)),
                    ("max_size", s.max_size().map(Value::from)),
                ])
            }),
        ),
        (
            "update_config",
            n.update_config().map(|u| {
                object(vec![
                    ("max_unavailable", u.max_unavailable().map(Value::from)),
                    (
                        "max_unavailable_percentage",
                        u.max_unavailable_percentage().map(Value::from),
                    ),
                ])
            }),
        ),
        ("labels", Some(json!(labels))),
        ("taint", Some(Value::Array(taints))),
    ]);
    normalize(&mut doc);
    doc
}

pub(super) async fn read(p: &EksProvider, handle: &Handle) -> Result<Option<Live>, ProviderError> {
    let (cluster, name) = split_child_id(handle, "DescribeNodegroup")?;
    let Some(n) = describe(p, &cluster, &name).await? else {
        return Ok(None);
    };
    Ok(Some(Live {
        handle: handle.clone(),
        properties: document(&n),
        tags: live_tags(n.tags()),
    }))
}

pub(super) async fn update(
    p: &EksProvider,
    d: &Desired,
    handle: &Handle,
    changed: &[String],
) -> Result<Handle, ProviderError> {
    check_keys(d, &d.properties, "", KEYS)?;
    let (cluster, name) = split_child_id(handle, "UpdateNodegroupConfig")?;
    let live = describe(p, &cluster, &name).await?.ok_or_else(|| {
        invalid(
            d,
            format!("EKS node group `{name}` of `{cluster}` no longer exists"),
        )
    })?;
    let has = |k: &str| changed.iter().any(|c| c == k);
    let mut req = p
        .client
        .update_nodegroup_config()
        .cluster_name(&cluster)
        .nodegroup_name(&name);
    let mut any = false;
    if has("scaling_config") {
        req = req.set_scaling_config(scaling(d)?);
        any = true;
    }
    if has("update_config") {
        req = req.set_update_config(update_config(d)?);
        any = true;
    }
    if has("labels") {
        let want = labels(d)?.unwrap_or_default();
        let have = live.labels().cloned().unwrap_or_default();
        let add: HashMap<String, String> = want
            .iter()
            .filter(|(k, v)| have.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let remove: Vec<String> = have
            .keys()
            .filter(|k| !want.contains_key(*k))
            .cloned()
            .collect();
        if !add.is_empty() || !remove.is_empty() {
            req = req.labels(
                UpdateLabelsPayload::builder()
                    .set_add_or_update_labels((!add.is_empty()).then_some(add))
                    .set_remove_labels((!remove.is_empty()).then_some(remove))
                    .build(),
            );
            any = true;
        }
    }
    if has("taint") {
        let want = taints(d)?.unwrap_or_default();
        let have: Vec<TaintSpec> = live
            .taints()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_owned(),
                    t.value().map(str::to_owned),
                    t.effect()
                        .map(|e| e.as_str().to_owned())
                        .unwrap_or_default(),
                )
            })
            .collect();
        // A taint is identified by key and effect; a changed value is an add-or-update.
        let add: Vec<Taint> = want
            .iter()
            .filter(|w| !have.contains(w))
            .map(|(k, v, e)| taint(k, v.as_deref(), e))
            .collect();
        let remove: Vec<Taint> = have
            .iter()
            .filter(|(k, _, e)| !want.iter().any(|(wk, _, we)| wk == k && we == e))
            .map(|(k, v, e)| taint(k, v.as_deref(), e))
            .collect();
        if !add.is_empty() || !remove.is_empty() {
            req = req.taints(
                UpdateTaintsPayload::builder()
                    .set_add_or_update_taints((!add.is_empty()).then_some(add))
                    .set_remove_taints((!remove.is_empty()).then_some(remove))
                    .build(),
            );
            any = true;
        }
    }
    if any {
        req.send()
            .await
            .map_err(api_err(SERVICE, "UpdateNodegroupConfig"))?;
        wait_active(p, &cluster, &name, "UpdateNodegroupConfig").await?;
    }
    if has("tags") {
        let arn = live.nodegroup_arn().ok_or_else(|| ProviderError::Api {
            service: SERVICE,
            operation: "DescribeNodegroup",
            code: None,
            status: None,
            message: format!("node group `{name}` was described without an ARN"),
        })?;
        sync_tags(p, arn, live.tags(), d).await?;
    }
    Ok(child_handle(&cluster, &name, live.nodegroup_arn()))
}

pub(super) async fn delete(p: &EksProvider, handle: &Handle) -> Result<(), ProviderError> {
    use aws_sdk_eks::client::Waiters;
    let (cluster, name) = split_child_id(handle, "DeleteNodegroup")?;
    p.client
        .delete_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name(&name)
        .send()
        .await
        .map_err(api_err(SERVICE, "DeleteNodegroup"))?;
    p.client
        .wait_until_nodegroup_deleted()
        .cluster_name(&cluster)
        .nodegroup_name(&name)
        .wait(p.timeouts.node_group)
        .await
        .map(|_| ())
        .map_err(|e| {
            wait_err(
                "DeleteNodegroup",
                &format!("EKS node group `{name}` of `{cluster}` to be deleted"),
                describe_status,
                e,
            )
        })
}

pub(super) async fn find(p: &EksProvider, d: &Desired) -> Result<Option<Handle>, ProviderError> {
    let (cluster, name) = names(d)?;
    let Some(n) = describe(p, &cluster, &name).await? else {
        return Ok(None);
    };
    check_found_owner(
        d,
        n.tags(),
        &format!("EKS node group `{name}` of `{cluster}`"),
    )?;
    Ok(Some(child_handle(&cluster, &name, n.nodegroup_arn())))
}
