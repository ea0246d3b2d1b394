//! Instances in an Aurora cluster (`aws_rds_cluster_instance`).
//!
//! An Aurora instance takes its engine version, storage, backups and security groups from its
//! cluster: `engine_version` is read back (RDS reports the cluster's), but an update that would
//! change it is refused with a pointer to the cluster.

use aws_sdk_rds::client::Waiters;
use aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput;
use aws_sdk_rds::types::DbInstance;
use serde_json::Value;

use super::{
    RdsProvider, SERVICE, check_handled, check_known, create_tags, found, live_tags, lower,
    named_handle, opt_i32, sync_tags, waited, without_owner,
};
use crate::aws::doc::{Obj, check_owner, invalid, opt_bool, opt_str};
use crate::provider::{Desired, Handle, Live, OWNER_TAG, ProviderError, api_err};

/// What RDS cannot change on an existing cluster instance.
pub(super) const REPLACE_ON_CHANGE: &[&str] = &[
    "identifier",
    "cluster_identifier",
    "engine",
    "db_subnet_group_name",
    "availability_zone",
];

/// Steers the update; RDS does not keep it.
pub(super) const WRITE_ONLY: &[&str] = &["apply_immediately"];

const PROPS: &[&str] = &[
    "identifier",
    "cluster_identifier",
    "instance_class",
    "engine",
    "engine_version",
    "publicly_accessible",
    "db_subnet_group_name",
    "db_parameter_group_name",
    "availability_zone",
    "promotion_tier",
    "performance_insights_enabled",
    "performance_insights_kms_key_id",
    "performance_insights_retention_period",
    "monitoring_interval",
    "monitoring_role_arn",
    "auto_minor_version_upgrade",
    "ca_cert_identifier",
    "preferred_maintenance_window",
    "copy_tags_to_snapshot",
    "apply_immediately",
];

const UPDATABLE: &[&str] = &[
    "instance_class",
    "publicly_accessible",
    "db_parameter_group_name",
    "promotion_tier",
    "performance_insights_enabled",
    "performance_insights_kms_key_id",
    "performance_insights_retention_period",
    "monitoring_interval",
    "monitoring_role_arn",
    "auto_minor_version_upgrade",
    "ca_cert_identifier",
    "preferred_maintenance_window",
    "copy_tags_to_snapshot",
    "tags",
];

pub(super) fn normalize(props: &mut Value) {
    for key in [
        "identifier",
        "cluster_identifier",
        "db_subnet_group_name",
        "db_parameter_group_name",
        "preferred_maintenance_window",
    ] {
        lower(props, key);
    }
}

pub(super) async fn create(p: &RdsProvider, d: &Desired) -> Result<Handle, ProviderError> {
    check_known(d, PROPS)?;
    let out = p
        .client
        .create_db_instance()
        .db_instance_identifier(d.str_prop("identifier")?)
        .db_cluster_identifier(d.str_prop("cluster_identifier")?)
        .db_instance_class(d.str_prop("instance_class")?)
        .engine(d.str_prop("engine")?)
        .set_engine_version(opt_str(d, "engine_version")?.map(str::to_owned))
        .set_publicly_accessible(opt_bool(d, "publicly_accessible")?)
        .set_db_subnet_group_name(opt_str(d, "db_subnet_group_name")?.map(str::to_owned))
        .set_db_parameter_group_name(opt_str(d, "db_parameter_group_name")?.map(str::to_owned))
        .set_availability_zone(opt_str(d, "availability_zone")?.map(str::to_owned))
        .set_promotion_tier(opt_i32(d, "promotion_tier")?)
        .set_enable_performance_insights(opt_bool(d, "performance_insights_enabled")?)
        .set_performance_insights_kms_key_id(
            opt_str(d, "performance_insights_kms_key_id")?.map(str::to_owned),
        )
        .set_performance_insights_retention_period(opt_i32(
            d,
            "performance_insights_retention_period",
        )?)
        .set_monitoring_interval(opt_i32(d, "monitoring_interval")?)
        .set_monitoring_role_arn(opt_str(d, "monitoring_role_arn")?.map(str::to_owned))
        .set_auto_minor_version_upgrade(opt_bool(d, "auto_minor_version_upgrade")?)
        .set_ca_certificate_identifier(opt_str(d, "ca_cert_identifier")?.map(str::to_owned))
        .set_preferred_maintenance_window(
            opt_str(d, "preferred_maintenance_window")?.map(str::to_owned),
        )
        .set_copy_tags_to_snapshot(opt_bool(d, "copy_tags_to_snapshot")?)
        .set_tags(Some(create_tags(d)))
        .send()
        .await
        .map_err(api_err(SERVICE, "CreateDBInstance"))?;
    let i = out
        .db_instance()
        .ok_or_else(|| ProviderError::missing(SERVICE, "CreateDBInstance", "DBInstance"))?;
    let id = i.db_instance_identifier().ok_or_else(|| {
        ProviderError::missing(SERVICE, "CreateDBInstance", "DBInstanceIdentifier")
    })?;
    wait_available(p, id).await?;
    Ok(named_handle(id, i.db_instance_arn()))
}

async fn wait_available(p: &RdsProvider, id: &str) -> Result<(), ProviderError> {
    let result = p
        .client
        .wait_until_db_instance_available()
        .db_instance_identifier(id)
        .wait(p.timeout)
        .await;
    waited(
        "DescribeDBInstances",
        &format!("instance {id} to be available"),
        result,
        |out: &DescribeDbInstancesOutput| statuses(out.db_instances()),
    )
}

fn statuses(instances: &[DbInstance]) -> String {
    instances
        .iter()
        .map(|i| i.db_instance_status().unwrap_or("unknown"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn describe(p: &RdsProvider, id: &str) -> Result<Option<DbInstance>, ProviderError> {
    let out = found(
        p.client
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeDBInstances")),
    )?;
    Ok(out.and_then(|o| o.db_instances().first().cloned()))
}

/// An instance in the stack document's shape.
fn document(i: &DbInstance) -> Value {
    let m = Obj::new()
        .opt("identifier", i.db_instance_identifier().map(Value::from))
        .opt(
            "cluster_identifier",
            i.db_cluster_identifier().map(Value::from),
        )
        .opt("instance_class", i.db_instance_class().map(Value::from))
        .opt("engine", i.engine().map(Value::from))
        .opt("engine_version", i.engine_version().map(Value::from))
        .opt(
            "publicly_accessible",
            i.publicly_accessible().map(Value::from),
        )
        .opt(
            "db_subnet_group_name",
            i.db_subnet_group()
                .and_then(|g| g.db_subnet_group_name())
                .map(Value::from),
        )
        .opt(
            "db_parameter_group_name",
            i.db_parameter_groups()
                .first()
                .and_then(|g| g.db_parameter_group_name())
                .map(Value::from),
        )
        .opt("availability_zone", i.availability_zone().map(Value::from))
        .opt("promotion_tier", i.promotion_tier().map(Value::from))
        .opt(
            "performance_insights_enabled",
            i.performance_insights_enabled().map(Value::from),
        )
        .opt(
            "performance_insights_kms_key_id",
            i.performance_insights_kms_key_id().map(Value::from),
        )
        .opt(
            "performance_insights_retention_period",
            i.performance_insights_retention_period().map(Value::from),
        )
        .opt(
            "monitoring_interval",
            i.monitoring_interval().map(Value::from),
        )
        .opt(
            "monitoring_role_arn",
            i.monitoring_role_arn().map(Value::from),
        )
        .opt(
            "auto_minor_version_upgrade",
            i.auto_minor_version_upgrade().map(Value::from),
        )
        .opt(
            "ca_cert_identifier",
            i.ca_certificate_identifier().map(Value::from),
        )
        .opt(
            "preferred_maintenance_window",
            i.preferred_maintenance_window()
                .map(|w| Value::from(w.to_lowercase())),
        )
        .opt(
            "copy_tags_to_snapshot",
            i.copy_tags_to_snapshot().map(Value::from),
        );
    m.build()
}

pub(super) async fn read(p: &RdsProvider, handle: &Handle) -> Result<Option<Live>, ProviderError> {
    let Some(i) = describe(p, &handle.provider_id).await? else {
        return Ok(None);
    };
    if i.db_instance_status() == Some("deleting") {
        return Ok(None);
    }
    let tags = match i.db_instance_arn() {
        Some(arn) => without_owner(live_tags(p, arn).await?),
        None => Default::default(),
    };
    Ok(Some(Live {
        handle: handle.clone(),
        properties: document(&i),
        tags,
    }))
}

pub(super) async fn update(
    p: &RdsProvider,
    d: &Desired,
    handle: &Handle,
    changed: &[String],
) -> Result<Handle, ProviderError> {
    check_known(d, PROPS)?;
    let changed: Vec<String> = changed
        .iter()
        .filter(|c| !WRITE_ONLY.contains(&c.as_str()))
        .cloned()
        .collect();
    if changed.iter().any(|c| c == "engine_version") {
        return Err(invalid(
            d,
            "an Aurora instance runs its cluster's engine version: change `engine_version` on \
             the aws_rds_cluster, then here to match",
        ));
    }
    check_handled(d, &changed, UPDATABLE)?;
    let id = handle.provider_id.as_str();
    let has = |k: &str| changed.iter().any(|c| c == k);
    let mut m = p
        .client
        .modify_db_instance()
        .db_instance_identifier(id)
        .set_apply_immediately(opt_bool(d, "apply_immediately")?);
    let mut any = false;
    if has("instance_class") {
        m = m.set_db_instance_class(opt_str(d, "instance_class")?.map(str::to_owned));
        any = true;
    }
    if has("publicly_accessible") {
        m = m.set_publicly_accessible(opt_bool(d, "publicly_accessible")?);
        any = true;
    }
    if has("db_parameter_group_name") {
        m = m
            .set_db_parameter_group_name(opt_str(d, "db_parameter_group_name")?.map(str::to_owned));
        any = true;
    }
    if has("promotion_tier") {
        m = m.set_promotion_tier(opt_i32(d, "promotion_tier")?);
        any = true;
    }
    if has("performance_insights_enabled")
        || has("performance_insights_kms_key_id")
        || has("performance_insights_retention_period")
    {
        m = m
            .set_enable_performance_insights(opt_bool(d, "performance_insights_enabled")?)
            .set_performance_insights_kms_key_id(
                opt_str(d, "performance_insights_kms_key_id")?.map(str::to_owned),
            )
            .set_performance_insights_retention_period(opt_i32(
                d,
                "performance_insights_retention_period",
            )?);
        any = true;
    }
    if has("monitoring_interval") || has("monitoring_role_arn") {
        m = m
            .set_monitoring_interval(opt_i32(d, "monitoring_interval")?)
            .set_monitoring_role_arn(opt_str(d, "monitoring_role_arn")?.map(str::to_owned));
        any = true;
    }
    if has("auto_minor_version_upgrade") {
        m = m.set_auto_minor_version_upgrade(opt_bool(d, "auto_minor_version_upgrade")?);
        any = true;
    }
    if has("ca_cert_identifier") {
        m = m.set_ca_certificate_identifier(opt_str(d, "ca_cert_identifier")?.map(str::to_owned));
        any = true;
    }
    if has("preferred_maintenance_window") {
        m = m.set_preferred_maintenance_window(
            opt_str(d, "preferred_maintenance_window")?.map(str::to_owned),
        );
        any = true;
    }
    if has("copy_tags_to_snapshot") {
        m = m.set_copy_tags_to_snapshot(opt_bool(d, "copy_tags_to_snapshot")?);
        any = true;
    }
    if any {
        m.send()
            .await
            .map_err(api_err(SERVICE, "ModifyDBInstance"))?;
        wait_available(p, id).await?;
    }
    let live = describe(p, id)
        .await?
        .ok_or_else(|| invalid(d, format!("instance {id} no longer exists")))?;
    if has("tags")
        && let Some(arn) = live.db_instance_arn()
    {
        sync_tags(p, d, arn).await?;
    }
    Ok(named_handle(id, live.db_instance_arn()))
}

pub(super) async fn delete(p: &RdsProvider, handle: &Handle) -> Result<(), ProviderError> {
    let id = handle.provider_id.as_str();
    let Some(i) = describe(p, id).await? else {
        return Ok(());
    };
    if i.db_instance_status() != Some("deleting") {
        // An instance of a cluster has no snapshot of its own: the cluster's backups cover it.
        p.client
            .delete_db_instance()
            .db_instance_identifier(id)
            .skip_final_snapshot(true)
            .send()
            .await
            .map_err(api_err(SERVICE, "DeleteDBInstance"))?;
    }
    let result = p
        .client
        .wait_until_db_instance_deleted()
        .db_instance_identifier(id)
        .wait(p.timeout)
        .await;
    waited(
        "DescribeDBInstances",
        &format!("instance {id} to be deleted"),
        result,
        |out: &DescribeDbInstancesOutput| statuses(out.db_instances()),
    )
}

pub(super) async fn find(p: &RdsProvider, d: &Desired) -> Result<Option<Handle>, ProviderError> {
    let id = d.str_prop("identifier")?.to_lowercase();
    let Some(i) = describe(p, &id).await? else {
        return Ok(None);
    };
    if i.db_instance_status() == Some("deleting") {
        return Ok(None);
    }
    if let Some(arn) = i.db_instance_arn() {
        let tags = live_tags(p, arn).await?;
        check_owner(
            d,
            tags.get(OWNER_TAG).map(String::as_str),
            &format!("DB instance {id}"),
        )?;
    }
    if i.db_instance_status() == Some("creating") {
        wait_available(p, &id).await?;
    }
    Ok(Some(named_handle(&id, i.db_instance_arn())))
}
