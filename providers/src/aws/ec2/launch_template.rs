//! Launch templates (`aws_launch_template`).
//!
//! A reference to a launch template resolves to its id (`lt-…`), which autoscaling groups take.
//! EC2 never edits a template version: a change to the launch data creates a new version, made
//! the default one when `update_default_version` is true (that flag steers the provider and is not
//! read back). Reads describe the template's latest version. `description` is that version's
//! description; only `name` forces a replacement.
//!
//! The launch data supported is what the stacks use: image, instance type, EBS optimisation, the
//! instance profile, block device mappings with EBS volumes, network interfaces, instance metadata
//! options and detailed monitoring. Any other property is refused, naming it.

use aws_sdk_ec2::types::{
    InstanceType, LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest,
    LaunchTemplateHttpTokensState, LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataEndpointState, LaunchTemplateInstanceMetadataOptionsRequest,
    LaunchTemplateInstanceMetadataTagsState,
    LaunchTemplateInstanceNetworkInterfaceSpecificationRequest, LaunchTemplateVersion,
    LaunchTemplatesMonitoringRequest, RequestLaunchTemplateData, ResourceType, VolumeType,
};
use serde_json::{Map, Value};

use super::{
    Ec2Provider, Obj, SERVICE, api_err, field_bool, field_str, found, i32_of, invalid, strings_of,
    sync_tags, tag_map, tag_spec,
};
use crate::provider::{Desired, Handle, Live, ProviderError};

pub(super) const REPLACE_ON_CHANGE: &[&str] = &["name"];
pub(super) const WRITE_ONLY: &[&str] = &["update_default_version"];

/// Top-level properties, then the keys each nested object takes.
const TOP: &[&str] = &[
    "name",
    "description",
    "update_default_version",
    "image_id",
    "instance_type",
    "ebs_optimized",
    "iam_instance_profile",
    "block_device_mappings",
    "network_interfaces",
    "metadata_options",
    "monitoring",
];
const PROFILE: &[&str] = &["name", "arn"];
const MAPPING: &[&str] = &["device_name", "ebs"];
const EBS: &[&str] = &[
    "encrypted",
    "volume_size",
    "volume_type",
    "kms_key_id",
    "delete_on_termination",
    "iops",
    "throughput",
    "snapshot_id",
];
const INTERFACE: &[&str] = &[
    "associate_public_ip_address",
    "security_groups",
    "delete_on_termination",
    "device_index",
    "subnet_id",
    "description",
];
const METADATA: &[&str] = &[
    "http_tokens",
    "http_endpoint",
    "http_put_response_hop_limit",
    "instance_metadata_tags",
];
const MONITORING: &[&str] = &["enabled"];

/// `value` at `place` must be an object whose keys are all in `known`.
fn object<'a>(
    d: &Desired,
    place: &str,
    value: &'a Value,
    known: &[&str],
) -> Result<&'a Map<String, Value>, ProviderError> {
    let obj = value
        .as_object()
        .ok_or_else(|| invalid(d, format!("`{place}` must be an object")))?;
    if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(invalid(
            d,
            format!("`{place}.{k}` is not a launch-template setting Tollgate supports"),
        ));
    }
    Ok(obj)
}

/// The launch data of `d`, refusing anything this provider would drop.
fn launch_data(d: &Desired) -> Result<RequestLaunchTemplateData, ProviderError> {
    let props = object(d, "properties", &d.properties, TOP)?;
    let v = &d.properties;
    let mut data = RequestLaunchTemplateData::builder()
        .set_image_id(field_str(v, "image_id").map(str::to_owned))
        .set_instance_type(field_str(v, "instance_type").map(InstanceType::from))
        .set_ebs_optimized(field_bool(v, "ebs_optimized"));
    if let Some(p) = props.get("iam_instance_profile") {
        object(d, "iam_instance_profile", p, PROFILE)?;
        data = data.iam_instance_profile(
            LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                .set_name(field_str(p, "name").map(str::to_owned))
                .set_arn(field_str(p, "arn").map(str::to_owned))
                .build(),
        );
    }
    for (i, m) in items(d, v, "block_device_mappings")?.iter().enumerate() {
        let place = format!("block_device_mappings[{i}]");
        object(d, &place, m, MAPPING)?;
        let mut mapping = LaunchTemplateBlockDeviceMappingRequest::builder()
            .set_device_name(field_str(m, "device_name").map(str::to_owned));
        if let Some(e) = m.get("ebs") {
            object(d, &format!("{place}.ebs"), e, EBS)?;
            mapping = mapping.ebs(
                LaunchTemplateEbsBlockDeviceRequest::builder()
                    .set_encrypted(field_bool(e, "encrypted"))
                    .set_volume_size(i32_of(d, e, "volume_size")?)
                    .set_volume_type(field_str(e, "volume_type").map(VolumeType::from))
                    .set_kms_key_id(field_str(e, "kms_key_id").map(str::to_owned))
                    .set_delete_on_termination(field_bool(e, "delete_on_termination"))
                    .set_iops(i32_of(d, e, "iops")?)
                    .set_throughput(i32_of(d, e, "throughput")?)
                    .set_snapshot_id(field_str(e, "snapshot_id").map(str::to_owned))
                    .build(),
            );
        }
        data = data.block_device_mappings(mapping.build());
    }
    for (i, n) in items(d, v, "network_interfaces")?.iter().enumerate() {
        object(d, &format!("network_interfaces[{i}]"), n, INTERFACE)?;
        let groups = strings_of(n, "security_groups");
        data = data.network_interfaces(
            LaunchTemplateInstanceNetworkInterfaceSpecificationRequest::builder()
                .set_associate_public_ip_address(field_bool(n, "associate_public_ip_address"))
                .set_groups((!groups.is_empty()).then_some(groups))
                .set_delete_on_termination(field_bool(n, "delete_on_termination"))
                .set_device_index(i32_of(d, n, "device_index")?)
                .set_subnet_id(field_str(n, "subnet_id").map(str::to_owned))
                .set_description(field_str(n, "description").map(str::to_owned))
                .build(),
        );
    }
    if let Some(m) = props.get("metadata_options") {
        object(d, "metadata_options", m, METADATA)?;
        data = data.metadata_options(
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .set_http_tokens(
                    field_str(m, "http_tokens").map(LaunchTemplateHttpTokensState::from),
                )
                .set_http_endpoint(
                    field_str(m, "http_endpoint")
                        .map(LaunchTemplateInstanceMetadataEndpointState::from),
                )
                .set_http_put_response_hop_limit(i32_of(d, m, "http_put_response_hop_limit")?)
                .set_instance_metadata_tags(
                    field_str(m, "instance_metadata_tags")
                        .map(LaunchTemplateInstanceMetadataTagsState::from),
                )
                .build(),
        );
    }
    if let Some(m) = props.get("monitoring") {
        object(d, "monitoring", m, MONITORING)?;
        data = data.monitoring(
            LaunchTemplatesMonitoringRequest::builder()
                .set_enabled(field_bool(m, "enabled"))
                .build(),
        );
    }
    Ok(data.build())
}

/// The list at `key` (absent → empty).
fn items<'a>(d: &Desired, v: &'a Value, key: &str) -> Result<&'a [Value], ProviderError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(invalid(d, format!("`{key}` must be a list"))),
    }
}

pub(super) async fn create(p: &Ec2Provider, d: &Desired) -> Result<Handle, ProviderError> {
    let data = launch_data(d)?;
    let out = p
        .client
        .create_launch_template()
        .launch_template_name(d.str_prop("name")?)
        .set_version_description(field_str(&d.properties, "description").map(str::to_owned))
        .launch_template_data(data)
        .tag_specifications(tag_spec(ResourceType::LaunchTemplate, d))
        .send()
        .await
        .map_err(api_err(SERVICE, "CreateLaunchTemplate"))?;
    let id = out
        .launch_template()
        .and_then(|t| t.launch_template_id())
        .ok_or_else(|| {
            ProviderError::missing(SERVICE, "CreateLaunchTemplate", "LaunchTemplateId")
        })?;
    Ok(Handle::new(id.to_owned()))
}

pub(super) async fn read(p: &Ec2Provider, handle: &Handle) -> Result<Option<Live>, ProviderError> {
    let id = handle.provider_id.as_str();
    let described = p
        .client
        .describe_launch_templates()
        .launch_template_ids(id)
        .send()
        .await
        .map_err(api_err(SERVICE, "DescribeLaunchTemplates"));
    let template = match described {
        Ok(out) => match out.launch_templates().first() {
            Some(t) => t.clone(),
            None => return Ok(None),
        },
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(versions) = found(
        p.client
            .describe_launch_template_versions()
            .launch_template_id(id)
            .versions("$Latest")
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeLaunchTemplateVersions")),
    )?
    else {
        return Ok(None);
    };
    let Some(version) = versions.launch_template_versions().first() else {
        return Ok(None);
    };
    Ok(Some(Live {
        handle: handle.clone(),
        properties: document(template.launch_template_name(), version),
        tags: tag_map(template.tags()),
    }))
}

/// A version in the stack document's shape; absent settings are left out.
fn document(name: Option<&str>, version: &LaunchTemplateVersion) -> Value {
    let mut doc = Obj::new()
        .opt("name", name)
        .opt("description", version.version_description());
    let Some(data) = version.launch_template_data() else {
        return doc.build();
    };
    doc = doc
        .opt("image_id", data.image_id())
        .opt("instance_type", data.instance_type().map(|t| t.as_str()))
        .opt("ebs_optimized", data.ebs_optimized())
        .opt(
            "iam_instance_profile",
            data.iam_instance_profile()
                .map(|p| Obj::new().opt("name", p.name()).opt("arn", p.arn()).build()),
        );
    let mappings: Vec<Value> = data
        .block_device_mappings()
        .iter()
        .map(|m| {
            Obj::new()
                .opt("device_name", m.device_name())
                .opt(
                    "ebs",
                    m.ebs().map(|e| {
                        Obj::new()
                            .opt("encrypted", e.encrypted())
                            .opt("volume_size", e.volume_size())
                            .opt("volume_type", e.volume_type().map(|t| t.as_str()))
                            .opt("kms_key_id", e.kms_key_id())
                            .opt("delete_on_termination", e.delete_on_termination())
                            .opt("iops", e.iops())
                            .opt("throughput", e.throughput())
                            .opt("snapshot_id", e.snapshot_id())
                            .build()
                    }),
                )
                .build()
        })
        .collect();
    let interfaces: Vec<Value> = data
        .network_interfaces()
        .iter()
        .map(|n| {
            Obj::new()
                .opt(
                    "associate_public_ip_address",
                    n.associate_public_ip_address(),
                )
                .opt(
                    "security_groups",
                    (!n.groups().is_empty()).then(|| n.groups().to_vec()),
                )
                .opt("delete_on_termination", n.delete_on_termination())
                .opt("device_index", n.device_index())
                .opt("subnet_id", n.subnet_id())
                .opt("description", n.description())
                .build()
        })
        .collect();
    doc.opt(
        "block_device_mappings",
        (!mappings.is_empty()).then_some(mappings),
    )
    .opt(
        "network_interfaces",
        (!interfaces.is_empty()).then_some(interfaces),
    )
    .opt(
        "metadata_options",
        data.metadata_options().map(|m| {
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
        }),
    )
    .opt(
        "monitoring",
        data.monitoring()
            .map(|m| Obj::new().opt("enabled", m.enabled()).build()),
    )
    .build()
}

/// A new version carrying the desired launch data (made the default one when
/// `update_default_version` is true), and the tags brought in line.
pub(super) async fn update(
    p: &Ec2Provider,
    d: &Desired,
    handle: &Handle,
    changed: &[String],
) -> Result<Handle, ProviderError> {
    let id = handle.provider_id.as_str();
    if changed.iter().any(|c| c != "tags") {
        let data = launch_data(d)?;
        let out = p
            .client
            .create_launch_template_version()
            .launch_template_id(id)
            .set_version_description(field_str(&d.properties, "description").map(str::to_owned))
            .launch_template_data(data)
            .send()
            .await
            .map_err(api_err(SERVICE, "CreateLaunchTemplateVersion"))?;
        let number = out
            .launch_template_version()
            .and_then(LaunchTemplateVersion::version_number);
        if field_bool(&d.properties, "update_default_version") == Some(true)
            && let Some(n) = number
        {
            p.client
                .modify_launch_template()
                .launch_template_id(id)
                .default_version(n.to_string())
                .send()
                .await
                .map_err(api_err(SERVICE, "ModifyLaunchTemplate"))?;
        }
    }
    if changed.iter().any(|c| c == "tags") {
        let live = read(p, handle).await?.map(|l| l.tags).unwrap_or_default();
        sync_tags(p, id, &live, d).await?;
    }
    Ok(handle.clone())
}

pub(super) async fn delete(p: &Ec2Provider, handle: &Handle) -> Result<(), ProviderError> {
    match p
        .client
        .delete_launch_template()
        .launch_template_id(&handle.provider_id)
        .send()
        .await
        .map_err(api_err(SERVICE, "DeleteLaunchTemplate"))
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Launch template names are unique in an account and region.
pub(super) async fn find(p: &Ec2Provider, d: &Desired) -> Result<Option<Handle>, ProviderError> {
    match p
        .client
        .describe_launch_templates()
        .launch_template_names(d.str_prop("name")?)
        .send()
        .await
        .map_err(api_err(SERVICE, "DescribeLaunchTemplates"))
    {
        Ok(out) => Ok(out
            .launch_templates()
            .first()
            .and_then(|t| t.launch_template_id())
            .map(|id| Handle::new(id.to_owned()))),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}
