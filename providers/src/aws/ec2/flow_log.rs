//! VPC flow logs (`aws_flow_log`) delivered to CloudWatch Logs or S3.
//!
//! EC2 cannot modify a flow log: every property is in [`REPLACE_ON_CHANGE`], so only its tags are
//! ever updated in place. One flow log watches one VPC (`vpc_id`) or one subnet (`subnet_id`).
//! `log_destination` takes the destination's ARN, which is what a reference to a log group or a
//! bucket resolves to; `iam_role_arn` is the role EC2 assumes to deliver to CloudWatch Logs.

use super::{
    Ec2Provider, Obj, SERVICE, api_err, field_str, found, i32_of, invalid, owner_filter, sync_tags,
    tag_map, tag_spec,
};
use crate::provider::{Desired, Handle, Live, ProviderError};
use aws_sdk_ec2::types::{FlowLogsResourceType, LogDestinationType, ResourceType, TrafficType};

/// The properties this type takes. All of them are fixed at creation.
pub(super) const REPLACE_ON_CHANGE: &[&str] = &[
    "vpc_id",
    "subnet_id",
    "traffic_type",
    "log_destination_type",
    "log_destination",
    "iam_role_arn",
    "max_aggregation_interval",
    "log_format",
];

/// The watched resource: its type for `CreateFlowLogs` and its id.
fn watched(d: &Desired) -> Result<(FlowLogsResourceType, String), ProviderError> {
    let props = &d.properties;
    match (field_str(props, "vpc_id"), field_str(props, "subnet_id")) {
        (Some(vpc), None) => Ok((FlowLogsResourceType::Vpc, vpc.to_owned())),
        (None, Some(subnet)) => Ok((FlowLogsResourceType::Subnet, subnet.to_owned())),
        _ => Err(invalid(
            d,
            "a flow log watches exactly one of `vpc_id` or `subnet_id`",
        )),
    }
}

/// Refuses properties this provider would otherwise drop on the floor.
fn check_known(d: &Desired) -> Result<(), ProviderError> {
    if let Some(obj) = d.properties.as_object()
        && let Some(unknown) = obj
            .keys()
            .find(|k| !REPLACE_ON_CHANGE.contains(&k.as_str()))
    {
        return Err(invalid(
            d,
            format!("`{unknown}` is not a property Tollgate can set on a flow log"),
        ));
    }
    Ok(())
}

pub(super) async fn create(p: &Ec2Provider, d: &Desired) -> Result<Handle, ProviderError> {
    check_known(d)?;
    let props = &d.properties;
    let (resource_type, resource_id) = watched(d)?;
    let out = p
        .client
        .create_flow_logs()
        .resource_type(resource_type)
        .resource_ids(resource_id)
        .traffic_type(TrafficType::from(
            field_str(props, "traffic_type").unwrap_or("ALL"),
        ))
        .set_log_destination_type(
            field_str(props, "log_destination_type").map(LogDestinationType::from),
        )
        .set_log_destination(field_str(props, "log_destination").map(str::to_owned))
        .set_deliver_logs_permission_arn(field_str(props, "iam_role_arn").map(str::to_owned))
        .set_max_aggregation_interval(i32_of(d, props, "max_aggregation_interval")?)
        .set_log_format(field_str(props, "log_format").map(str::to_owned))
        .tag_specifications(tag_spec(ResourceType::VpcFlowLog, d))
        .send()
        .await
        .map_err(api_err(SERVICE, "CreateFlowLogs"))?;
    if let Some(failure) = out.unsuccessful().first() {
        let why = failure
            .error()
            .and_then(|e| e.message())
            .unwrap_or("no reason given");
        return Err(invalid(d, format!("EC2 refused the flow log: {why}")));
    }
    let id = out
        .flow_log_ids()
        .first()
        .ok_or_else(|| ProviderError::missing(SERVICE, "CreateFlowLogs", "FlowLogIds"))?;
    Ok(Handle::new(id.clone()))
}

pub(super) async fn read(p: &Ec2Provider, handle: &Handle) -> Result<Option<Live>, ProviderError> {
    let Some(out) = found(
        p.client
            .describe_flow_logs()
            .flow_log_ids(&handle.provider_id)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeFlowLogs")),
    )?
    else {
        return Ok(None);
    };
    let Some(fl) = out.flow_logs().first() else {
        return Ok(None);
    };
    let resource = fl.resource_id().unwrap_or_default();
    let watched_key = if resource.starts_with("subnet-") {
        "subnet_id"
    } else {
        "vpc_id"
    };
    let props = Obj::new()
        .opt(watched_key, fl.resource_id())
        .opt("traffic_type", fl.traffic_type().map(|t| t.as_str()))
        .opt(
            "log_destination_type",
            fl.log_destination_type().map(|t| t.as_str()),
        )
        .opt("log_destination", fl.log_destination())
        .opt("iam_role_arn", fl.deliver_logs_permission_arn())
        .opt("max_aggregation_interval", fl.max_aggregation_interval())
        .opt("log_format", fl.log_format())
        .build();
    Ok(Some(Live {
        handle: handle.clone(),
        properties: props,
        tags: tag_map(fl.tags()),
    }))
}

/// Only tags change in place; the caller refuses anything in [`REPLACE_ON_CHANGE`] first.
pub(super) async fn update(
    p: &Ec2Provider,
    d: &Desired,
    handle: &Handle,
    changed: &[String],
) -> Result<Handle, ProviderError> {
    if changed.iter().any(|c| c == "tags") {
        let live = read(p, handle).await?.map(|l| l.tags).unwrap_or_default();
        sync_tags(p, &handle.provider_id, &live, d).await?;
    }
    Ok(handle.clone())
}

pub(super) async fn delete(p: &Ec2Provider, handle: &Handle) -> Result<(), ProviderError> {
    let out = p
        .client
        .delete_flow_logs()
        .flow_log_ids(&handle.provider_id)
        .send()
        .await
        .map_err(api_err(SERVICE, "DeleteFlowLogs"))?;
    // EC2 reports an unknown id in the answer's `Unsuccessful` list rather than as an error.
    match out.unsuccessful().first() {
        None => Ok(()),
        Some(u) => {
            let code = u.error().and_then(|e| e.code()).unwrap_or_default();
            if code.ends_with("NotFound") {
                Ok(())
            } else {
                Err(ProviderError::Api {
                    service: SERVICE,
                    operation: "DeleteFlowLogs",
                    code: Some(code.to_owned()),
                    status: None,
                    message: u
                        .error()
                        .and_then(|e| e.message())
                        .unwrap_or("no reason given")
                        .to_owned(),
                })
            }
        }
    }
}

pub(super) async fn find(p: &Ec2Provider, d: &Desired) -> Result<Option<Handle>, ProviderError> {
    let out = p
        .client
        .describe_flow_logs()
        .filter(owner_filter(d))
        .send()
        .await
        .map_err(api_err(SERVICE, "DescribeFlowLogs"))?;
    Ok(out
        .flow_logs()
        .first()
        .and_then(|f| f.flow_log_id())
        .map(|id| Handle::new(id.to_owned())))
}
