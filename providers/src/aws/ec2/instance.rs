//! EC2 instances with their root volume and instance metadata options inline.
//!
//! The AMI is used as the document gives it; its root device name (where `root_block_device`
//! applies) comes from `DescribeImages`. A terminated (or terminating) instance reads as gone.
//! Changing the instance type or EBS optimisation stops the instance, changes it and starts it
//! again, as the service requires.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    AttributeBooleanValue, BlockDeviceMapping, EbsBlockDevice, HttpTokensState,
    IamInstanceProfileSpecification, Instance, InstanceAttributeName,
    InstanceMetadataEndpointState, InstanceMetadataOptionsRequest, InstanceMetadataTagsState,
    InstanceNetworkInterfaceSpecification, InstanceStateName, InstanceType, ResourceType,
    RunInstancesMonitoringEnabled, VolumeType,
};
use serde_json::Value;

use super::{
    Ec2Provider, Obj, SERVICE, api_err, field_bool, field_str, found, i32_of, invalid,
    owner_filter, strings_of, tag_map, tag_spec, wait_for,
};
use crate::provider::{Desired, Handle, Live, ProviderError};

/// What cannot change on a running instance.
pub(super) const REPLACE_ON_CHANGE: &[&str] = &[
    "ami",
    "subnet_id",
    "associate_public_ip_address",
    "iam_instance_profile",
    "root_block_device",
];

/// Security group ids sorted.
pub(super) fn normalize(props: &mut Value) {
    if let Some(Value::Array(ids)) = props.get_mut("vpc_security_group_ids") {
        ids.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        ids.dedup();
    }
}

fn metadata_options(d: &Desired) -> Result<Option<InstanceMetadataOptionsRequest>, ProviderError> {
    let Some(m) = d.prop("metadata_options") else {
        return Ok(None);
    };
    Ok(Some(
        InstanceMetadataOptionsRequest::builder()
            .set_http_tokens(field_str(m, "http_tokens").map(HttpTokensState::from))
            .set_http_endpoint(
                field_str(m, "http_endpoint").map(InstanceMetadataEndpointState::from),
            )
            .set_http_put_response_hop_limit(i32_of(d, m, "http_put_response_hop_limit")?)
            .set_instance_metadata_tags(
                field_str(m, "instance_metadata_tags").map(InstanceMetadataTagsState::from),
            )
            .build(),
    ))
}

async fn root_device_name(
    p: &Ec2Provider,
    d: &Desired,
    ami: &str,
) -> Result<String, ProviderError> {
    let out = p
        .client
        .describe_images()
        .image_ids(ami)
        .send()
        .await
        .map_err(api_err(SERVICE, "DescribeImages"))?;
    out.images()
        .first()
        .and_then(|i| i.root_device_name())
        .map(str::to_owned)
        .ok_or_else(|| invalid(d, format!("AMI {ami} was not found or has no root device")))
}

pub(super) async fn create(p: &Ec2Provider, d: &Desired) -> Result<Handle, ProviderError> {
    let props = &d.properties;
    let ami = d.str_prop("ami")?;
    let groups = strings_of(props, "vpc_security_group_ids");
    let subnet = field_str(props, "subnet_id").map(str::to_owned);
    let mut call = p
        .client
        .run_instances()
        .image_id(ami)
        .instance_type(InstanceType::from(d.str_prop("instance_type")?))
        .min_count(1)
        .max_count(1)
        .tag_specifications(tag_spec(ResourceType::Instance, d))
        .set_ebs_optimized(field_bool(props, "ebs_optimized"))
        .set_disable_api_termination(field_bool(props, "disable_api_termination"))
        .set_metadata_options(metadata_options(d)?);
    // A public address is asked for on the primary network interface, which then carries the
    // subnet and groups.
    call = match field_bool(props, "associate_public_ip_address") {
        Some(public) => call.network_interfaces(
            InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .associate_public_ip_address(public)
                .set_subnet_id(subnet)
                .set_groups((!groups.is_empty()).then_some(groups))
                .build(),
        ),
        None => call
            .set_subnet_id(subnet)
            .set_security_group_ids((!groups.is_empty()).then_some(groups)),
    };
    if let Some(profile) = field_str(props, "iam_instance_profile") {
        let spec = IamInstanceProfileSpecification::builder();
        call = call.iam_instance_profile(if profile.starts_with("arn:") {
            spec.arn(profile).build()
        } else {
            spec.name(profile).build()
        });
    }
    if let Some(on) = field_bool(props, "monitoring") {
        call = call.monitoring(RunInstancesMonitoringEnabled::builder().enabled(on).build());
    }
    if let Some(root) = d.prop("root_block_device") {
        let device = root_device_name(p, d, ami).await?;
        let ebs = EbsBlockDevice::builder()
            .set_encrypted(field_bool(root, "encrypted"))
            .set_volume_size(i32_of(d, root, "volume_size")?)
            .set_volume_type(field_str(root, "volume_type").map(VolumeType::from))
            .set_kms_key_id(field_str(root, "kms_key_id").map(str::to_owned))
            .set_delete_on_termination(field_bool(root, "delete_on_termination"))
            .build();
        call = call.block_device_mappings(
            BlockDeviceMapping::builder()
                .device_name(device)
                .ebs(ebs)
                .build(),
        );
    }
    let out = call
        .send()
        .await
        .map_err(api_err(SERVICE, "RunInstances"))?;
    let id = out
        .instances()
        .first()
        .and_then(|i| i.instance_id())
        .ok_or_else(|| ProviderError::missing(SERVICE, "RunInstances", "instance"))?;
    Ok(Handle::new(id))
}

async fn describe(p: &Ec2Provider, id: &str) -> Result<Option<Instance>, ProviderError> {
    let out = found(
        p.client
            .describe_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeInstances")),
    )?;
    Ok(out.and_then(|o| {
        o.reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(id))
            .cloned()
    }))
}

fn primary_interface_id(i: &Instance) -> Option<String> {
    i.network_interfaces()
        .iter()
        .find(|n| n.attachment().and_then(|a| a.device_index()) == Some(0))
        .and_then(|n| n.network_interface_id().map(str::to_owned))
}

fn is_gone(i: &Instance) -> bool {
    matches!(
        i.state().and_then(|s| s.name()),
        Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown)
    )
}

async fn termination_protected(p: &Ec2Provider, id: &str) -> Result<Option<bool>, ProviderError> {
    let out = p
        .client
        .describe_instance_attribute()
        .instance_id(id)
        .attribute(InstanceAttributeName::DisableApiTermination)
        .send()
        .await
        .map_err(api_err(SERVICE, "DescribeInstanceAttribute"))?;
    Ok(out.disable_api_termination().and_then(|b| b.value()))
}

pub(super) async fn read(p: &Ec2Provider, handle: &Handle) -> Result<Option<Live>, ProviderError> {
    let id = handle.provider_id.as_str();
    let Some(i) = describe(p, id).await? else {
        return Ok(None);
    };
    if is_gone(&i) {
        return Ok(None);
    }
    // The primary interface carries the groups in a VPC; the instance's own list is the fallback.
    let primary = i
        .network_interfaces()
        .iter()
        .find(|n| n.attachment().and_then(|a| a.device_index()) == Some(0));
    let mut groups: Vec<&str> = primary
        .map(|n| n.groups().iter().filter_map(|g| g.group_id()).collect())
        .unwrap_or_default();
    if groups.is_empty() {
        groups = i
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id())
            .collect();
    }
    let root = match i.root_device_name() {
        Some(name) => read_root(p, &i, name).await?,
        None => None,
    };
    let metadata = i.metadata_options().map(|m| {
        Obj::new()
            .opt("http_tokens", m.http_tokens().map(|t| t.as_str()))
            .opt("http_endpoint", m.http_endpoint().map(|t| t.as_str()))
            .opt(
                "http_put_response_hop_limit",
                m.http_put_response_hop_limit(),
            )
            .opt(
                "instance_metadata_tags",
                m.instance_metadata_tags().map(|t| t.as_str()),
            )
            .build()
    });
    let monitoring = i
        .monitoring()
        .and_then(|m| m.state())
        .map(|s| matches!(s.as_str(), "enabled" | "pending"));
    let mut props = Obj::new()
        .opt("ami", i.image_id())
        .opt("instance_type", i.instance_type().map(|t| t.as_str()))
        .opt("subnet_id", i.subnet_id())
        .opt("vpc_security_group_ids", Some(groups))
        .opt(
            "associate_public_ip_address",
            Some(i.public_ip_address().is_some_and(|a| !a.is_empty())),
        )
        .opt(
            "iam_instance_profile",
            i.iam_instance_profile().and_then(|p| p.arn()),
        )
        .opt("monitoring", monitoring)
        .opt("ebs_optimized", i.ebs_optimized())
        .opt(
            "disable_api_termination",
            termination_protected(p, id).await?,
        )
        .opt("root_block_device", root)
        .opt("metadata_options", metadata)
        .build();
    normalize(&mut props);
    Ok(Some(Live {
        handle: handle.clone(),
        properties: props,
        tags: tag_map(i.tags()),
    }))
}

async fn read_root(
    p: &Ec2Provider,
    i: &Instance,
    device: &str,
) -> Result<Option<Value>, ProviderError> {
    let Some(mapping) = i
        .block_device_mappings()
        .iter()
        .find(|m| m.device_name() == Some(device))
    else {
        return Ok(None);
    };
    let ebs = mapping.ebs();
    let Some(volume_id) = ebs.and_then(|e| e.volume_id()) else {
        return Ok(None);
    };
    let out = p
        .client
        .describe_volumes()
        .volume_ids(volume_id)
        .send()
        .await
        .map_err(api_err(SERVICE, "DescribeVolumes"))?;
    let Some(v) = out.volumes().first() else {
        return Ok(None);
    };
    Ok(Some(
        Obj::new()
            .opt("encrypted", v.encrypted())
            .opt("volume_size", v.size())
            .opt("volume_type", v.volume_type().map(|t| t.as_str()))
            .opt("kms_key_id", v.kms_key_id())
            .opt(
                "delete_on_termination",
                ebs.and_then(|e| e.delete_on_termination()),
            )
            .build(),
    ))
}

async fn wait_state(
    p: &Ec2Provider,
    id: &str,
    want: InstanceStateName,
) -> Result<(), ProviderError> {
    let what = format!("instance {id} to be {}", want.as_str());
    wait_for("DescribeInstances", &what, p.settle_timeout, || {
        let want = want.clone();
        async move {
            Ok(match describe(p, id).await? {
                None => want == InstanceStateName::Terminated,
                Some(i) => i.state().and_then(|s| s.name()) == Some(&want),
            })
        }
    })
    .await
}

pub(super) async fn update(
    p: &Ec2Provider,
    d: &Desired,
    handle: &Handle,
    changed: &[String],
) -> Result<Handle, ProviderError> {
    let id = handle.provider_id.as_str();
    let props = &d.properties;
    let has = |name: &str| changed.iter().any(|c| c == name);
    let live = read(p, handle)
        .await?
        .ok_or_else(|| invalid(d, format!("instance {id} no longer exists")))?;

    if has("instance_type") || has("ebs_optimized") {
        p.client
            .stop_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(api_err(SERVICE, "StopInstances"))?;
        wait_state(p, id, InstanceStateName::Stopped).await?;
        if has("instance_type") {
            p.client
                .modify_instance_attribute()
                .instance_id(id)
                .instance_type(
                    aws_sdk_ec2::types::AttributeValue::builder()
                        .value(d.str_prop("instance_type")?)
                        .build(),
                )
                .send()
                .await
                .map_err(api_err(SERVICE, "ModifyInstanceAttribute"))?;
        }
        if has("ebs_optimized") {
            p.client
                .modify_instance_attribute()
                .instance_id(id)
                .ebs_optimized(
                    AttributeBooleanValue::builder()
                        .value(field_bool(props, "ebs_optimized").unwrap_or(false))
                        .build(),
                )
                .send()
                .await
                .map_err(api_err(SERVICE, "ModifyInstanceAttribute"))?;
        }
        p.client
            .start_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(api_err(SERVICE, "StartInstances"))?;
    }
    if has("vpc_security_group_ids") {
        // In a VPC the groups belong to the primary network interface.
        let eni = describe(p, id)
            .await?
            .and_then(|i| primary_interface_id(&i))
            .ok_or_else(|| invalid(d, format!("instance {id} has no primary network interface")))?;
        p.client
            .modify_network_interface_attribute()
            .network_interface_id(eni)
            .set_groups(Some(strings_of(props, "vpc_security_group_ids")))
            .send()
            .await
            .map_err(api_err(SERVICE, "ModifyNetworkInterfaceAttribute"))?;
    }
    if has("disable_api_termination") {
        set_termination_protection(
            p,
            id,
            field_bool(props, "disable_api_termination").unwrap_or(false),
        )
        .await?;
    }
    if has("monitoring") {
        if field_bool(props, "monitoring") == Some(true) {
            p.client
                .monitor_instances()
                .instance_ids(id)
                .send()
                .await
                .map_err(api_err(SERVICE, "MonitorInstances"))?;
        } else {
            p.client
                .unmonitor_instances()
                .instance_ids(id)
                .send()
                .await
                .map_err(api_err(SERVICE, "UnmonitorInstances"))?;
        }
    }
    if has("metadata_options")
        && let Some(m) = d.prop("metadata_options")
    {
        p.client
            .modify_instance_metadata_options()
            .instance_id(id)
            .set_http_tokens(field_str(m, "http_tokens").map(HttpTokensState::from))
            .set_http_endpoint(
                field_str(m, "http_endpoint").map(InstanceMetadataEndpointState::from),
            )
            .set_http_put_response_hop_limit(i32_of(d, m, "http_put_response_hop_limit")?)
            .set_instance_metadata_tags(
                field_str(m, "instance_metadata_tags").map(InstanceMetadataTagsState::from),
            )
            .send()
            .await
            .map_err(api_err(SERVICE, "ModifyInstanceMetadataOptions"))?;
    }
    if has("tags") {
        super::sync_tags(p, id, &live.tags, d).await?;
    }
    Ok(handle.clone())
}

async fn set_termination_protection(
    p: &Ec2Provider,
    id: &str,
    on: bool,
) -> Result<(), ProviderError> {
    p.client
        .modify_instance_attribute()
        .instance_id(id)
        .disable_api_termination(AttributeBooleanValue::builder().value(on).build())
        .send()
        .await
        .map_err(api_err(SERVICE, "ModifyInstanceAttribute"))?;
    Ok(())
}

/// Lifts termination protection (the document asked for the deletion), terminates, and waits
/// until the instance is gone so its subnet and groups can go next.
pub(super) async fn delete(p: &Ec2Provider, handle: &Handle) -> Result<(), ProviderError> {
    let id = handle.provider_id.as_str();
    let Some(i) = describe(p, id).await? else {
        return Ok(());
    };
    if i.state().and_then(|s| s.name()) == Some(&InstanceStateName::Terminated) {
        return Ok(());
    }
    if termination_protected(p, id).await? == Some(true) {
        set_termination_protection(p, id, false).await?;
    }
    p.client
        .terminate_instances()
        .instance_ids(id)
        .send()
        .await
        .map_err(api_err(SERVICE, "TerminateInstances"))?;
    wait_state(p, id, InstanceStateName::Terminated).await
}

/// The instance tagged for this resource that is not terminated.
pub(super) async fn find(p: &Ec2Provider, d: &Desired) -> Result<Option<Handle>, ProviderError> {
    let out = p
        .client
        .describe_instances()
        .filters(owner_filter(d))
        .send()
        .await
        .map_err(api_err(SERVICE, "DescribeInstances"))?;
    let live: BTreeMap<&str, &Instance> = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| !is_gone(i))
        .filter_map(|i| Some((i.instance_id()?, i)))
        .collect();
    Ok(live.keys().next().map(|id| Handle::new(*id)))
}
