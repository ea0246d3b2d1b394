//! Aurora clusters (`aws_rds_cluster`).

use std::collections::BTreeSet;

use aws_sdk_rds::client::Waiters;
use aws_sdk_rds::operation::describe_db_clusters::DescribeDbClustersOutput;
use aws_sdk_rds::types::{CloudwatchLogsExportConfiguration, DbCluster};
use serde_json::Value;

use super::{
    RdsProvider, SERVICE, any_changed, check_handled, check_known, create_tags, found, live_tags,
    lower, opt_i32, sort_strings, sorted, sync_tags, waited, without_owner,
};
use crate::aws::doc::{Obj, check_owner, invalid, opt_bool, opt_str, opt_str_list};
use crate::provider::{Desired, Handle, Live, OWNER_TAG, ProviderError, api_err};

/// What RDS cannot change on an existing cluster.
pub(super) const REPLACE_ON_CHANGE: &[&str] = &[
    "cluster_identifier",
    "engine",
    "engine_mode",
    "database_name",
    "master_username",
    "db_subnet_group_name",
    "storage_encrypted",
    "kms_key_id",
    "availability_zones",
];

/// Steer the create, update or delete; RDS keeps none of them.
pub(super) const WRITE_ONLY: &[&str] = &[
    "skip_final_snapshot",
    "final_snapshot_identifier",
    "apply_immediately",
    "allow_major_version_upgrade",
];

const PROPS: &[&str] = &[
    "cluster_identifier",
    "engine",
    "engine_version",
    "engine_mode",
    "database_name",
    "master_username",
    "manage_master_user_password",
    "master_user_secret_kms_key_id",
    "db_subnet_group_name",
    "db_cluster_parameter_group_name",
    "vpc_security_group_ids",
    "storage_encrypted",
    "kms_key_id",
    "storage_type",
    "port",
    "backup_retention_period",
    "preferred_backup_window",
    "preferred_maintenance_window",
    "deletion_protection",
    "copy_tags_to_snapshot",
    "iam_database_authentication_enabled",
    "enabled_cloudwatch_logs_exports",
    "availability_zones",
    "skip_final_snapshot",
    "final_snapshot_identifier",
    "apply_immediately",
    "allow_major_version_upgrade",
];

/// What an update can change in place (besides the write-only properties).
const UPDATABLE: &[&str] = &[
    "engine_version",
    "manage_master_user_password",
    "master_user_secret_kms_key_id",
    "db_cluster_parameter_group_name",
    "vpc_security_group_ids",
    "storage_type",
    "port",
    "backup_retention_period",
    "preferred_backup_window",
    "preferred_maintenance_window",
    "deletion_protection",
    "copy_tags_to_snapshot",
    "iam_database_authentication_enabled",
    "enabled_cloudwatch_logs_exports",
    "tags",
];

pub(super) fn normalize(props: &mut Value) {
    for key in [
        "cluster_identifier",
        "db_subnet_group_name",
        "db_cluster_parameter_group_name",
        "final_snapshot_identifier",
        "preferred_maintenance_window",
    ] {
        lower(props, key);
    }
    for key in [
        "vpc_security_group_ids",
        "enabled_cloudwatch_logs_exports",
        "availability_zones",
    ] {
        sort_strings(props, key);
    }
}

/// The cluster's handle: its identifier, and what the delete needs to know.
fn handle_for(id: &str, arn: Option<&str>, d: &Desired) -> Result<Handle, ProviderError> {
    let mut h = super::named_handle(id, arn);
    if let Some(skip) = opt_bool(d, "skip_final_snapshot")? {
        h.attributes
            .insert("skip_final_snapshot".into(), skip.to_string());
    }
    if let Some(snap) = opt_str(d, "final_snapshot_identifier")? {
        h.attributes
            .insert("final_snapshot_identifier".into(), snap.to_owned());
    }
    Ok(h)
}

pub(super) async fn create(p: &RdsProvider, d: &Desired) -> Result<Handle, ProviderError> {
    check_known(d, PROPS)?;
    let out = p
        .client
        .create_db_cluster()
        .db_cluster_identifier(d.str_prop("cluster_identifier")?)
        .engine(d.str_prop("engine")?)
        .set_engine_version(opt_str(d, "engine_version")?.map(str::to_owned))
        .set_engine_mode(opt_str(d, "engine_mode")?.map(str::to_owned))
        .set_database_name(opt_str(d, "database_name")?.map(str::to_owned))
        .set_master_username(opt_str(d, "master_username")?.map(str::to_owned))
        .set_manage_master_user_password(opt_bool(d, "manage_master_user_password")?)
        .set_master_user_secret_kms_key_id(
            opt_str(d, "master_user_secret_kms_key_id")?.map(str::to_owned),
        )
        .set_db_subnet_group_name(opt_str(d, "db_subnet_group_name")?.map(str::to_owned))
        .set_db_cluster_parameter_group_name(
            opt_str(d, "db_cluster_parameter_group_name")?.map(str::to_owned),
        )
        .set_vpc_security_group_ids(opt_str_list(d, "vpc_security_group_ids")?)
        .set_storage_encrypted(opt_bool(d, "storage_encrypted")?)
        .set_kms_key_id(opt_str(d, "kms_key_id")?.map(str::to_owned))
        .set_storage_type(opt_str(d, "storage_type")?.map(str::to_owned))
        .set_port(opt_i32(d, "port")?)
        .set_backup_retention_period(opt_i32(d, "backup_retention_period")?)
        .set_preferred_backup_window(opt_str(d, "preferred_backup_window")?.map(str::to_owned))
        .set_preferred_maintenance_window(
            opt_str(d, "preferred_maintenance_window")?.map(str::to_owned),
        )
        .set_deletion_protection(opt_bool(d, "deletion_protection")?)
        .set_copy_tags_to_snapshot(opt_bool(d, "copy_tags_to_snapshot")?)
        .set_enable_iam_database_authentication(opt_bool(d, "iam_database_authentication_enabled")?)
        .set_enable_cloudwatch_logs_exports(opt_str_list(d, "enabled_cloudwatch_logs_exports")?)
        .set_availability_zones(opt_str_list(d, "availability_zones")?)
        .set_tags(Some(create_tags(d)))
        .send()
        .await
        .map_err(api_err(SERVICE, "CreateDBCluster"))?;
    let c = out
        .db_cluster()
        .ok_or_else(|| ProviderError::missing(SERVICE, "CreateDBCluster", "DBCluster"))?;
    let id = c
        .db_cluster_identifier()
        .ok_or_else(|| ProviderError::missing(SERVICE, "CreateDBCluster", "DBClusterIdentifier"))?;
    wait_available(p, id).await?;
    handle_for(id, c.db_cluster_arn(), d)
}

async fn wait_available(p: &RdsProvider, id: &str) -> Result<(), ProviderError> {
    let result = p
        .client
        .wait_until_db_cluster_available()
        .db_cluster_identifier(id)
        .wait(p.timeout)
        .await;
    waited(
        "DescribeDBClusters",
        &format!("cluster {id} to be available"),
        result,
        |out: &DescribeDbClustersOutput| statuses(out.db_clusters()),
    )
}

fn statuses(clusters: &[DbCluster]) -> String {
    clusters
        .iter()
        .map(|c| c.status().unwrap_or("unknown"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn describe(p: &RdsProvider, id: &str) -> Result<Option<DbCluster>, ProviderError> {
    let out = found(
        p.client
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeDBClusters")),
    )?;
    Ok(out.and_then(|o| o.db_clusters().first().cloned()))
}

/// A cluster in the stack document's shape.
fn document(c: &DbCluster) -> Value {
    let m = Obj::new()
        .opt(
            "cluster_identifier",
            c.db_cluster_identifier().map(Value::from),
        )
        .opt("engine", c.engine().map(Value::from))
        .opt("engine_version", c.engine_version().map(Value::from))
        .opt("engine_mode", c.engine_mode().map(Value::from))
        .opt("database_name", c.database_name().map(Value::from))
        .opt("master_username", c.master_username().map(Value::from))
        // RDS has no flag for it: a managed password shows as the secret that holds it.
        .opt(
            "manage_master_user_password",
            Some(Value::Bool(c.master_user_secret().is_some())),
        )
        .opt(
            "master_user_secret_kms_key_id",
            c.master_user_secret()
                .and_then(|s| s.kms_key_id())
                .map(Value::from),
        )
        .opt("db_subnet_group_name", c.db_subnet_group().map(Value::from))
        .opt(
            "db_cluster_parameter_group_name",
            c.db_cluster_parameter_group().map(Value::from),
        )
        .opt(
            "vpc_security_group_ids",
            Some(sorted(
                c.vpc_security_groups()
                    .iter()
                    .filter_map(|g| g.vpc_security_group_id().map(str::to_owned))
                    .collect(),
            )),
        )
        .opt("storage_encrypted", c.storage_encrypted().map(Value::from))
        .opt("kms_key_id", c.kms_key_id().map(Value::from))
        .opt("storage_type", c.storage_type().map(Value::from))
        .opt("port", c.port().map(Value::from))
        .opt(
            "backup_retention_period",
            c.backup_retention_period().map(Value::from),
        )
        .opt(
            "preferred_backup_window",
            c.preferred_backup_window().map(Value::from),
        )
        .opt(
            "preferred_maintenance_window",
            c.preferred_maintenance_window()
                .map(|w| Value::from(w.to_lowercase())),
        )
        .opt(
            "deletion_protection",
            c.deletion_protection().map(Value::from),
        )
        .opt(
            "copy_tags_to_snapshot",
            c.copy_tags_to_snapshot().map(Value::from),
        )
        .opt(
            "iam_database_authentication_enabled",
            c.iam_database_authentication_enabled().map(Value::from),
        )
        .opt(
            "enabled_cloudwatch_logs_exports",
            Some(sorted(c.enabled_cloudwatch_logs_exports().to_vec())),
        )
        .opt(
            "availability_zones",
            Some(sorted(c.availability_zones().to_vec())),
        );
    m.build()
}

pub(super) async fn read(p: &RdsProvider, handle: &Handle) -> Result<Option<Live>, ProviderError> {
    let Some(c) = describe(p, &handle.provider_id).await? else {
        return Ok(None);
    };
    if c.status() == Some("deleting") {
        return Ok(None);
    }
    let tags = match c.db_cluster_arn() {
        Some(arn) => without_owner(live_tags(p, arn).await?),
        None => Default::default(),
    };
    Ok(Some(Live {
        handle: handle.clone(),
        properties: document(&c),
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
    check_handled(d, &changed, UPDATABLE)?;
    let id = handle.provider_id.as_str();
    let live = describe(p, id)
        .await?
        .ok_or_else(|| invalid(d, format!("cluster {id} no longer exists")))?;
    let has = |k: &str| changed.iter().any(|c| c == k);
    let mut m = p
        .client
        .modify_db_cluster()
        .db_cluster_identifier(id)
        .set_apply_immediately(opt_bool(d, "apply_immediately")?);
    let mut any = false;
    if has("engine_version") {
        m = m
            .set_engine_version(opt_str(d, "engine_version")?.map(str::to_owned))
            .set_allow_major_version_upgrade(opt_bool(d, "allow_major_version_upgrade")?);
        any = true;
    }
    if any_changed(
        &changed,
        &[
            "manage_master_user_password",
            "master_user_secret_kms_key_id",
        ],
    ) {
        let managed = live.master_user_secret().is_some();
        match opt_bool(d, "manage_master_user_password")? {
            Some(true) if !managed => {
                m = m
                    .manage_master_user_password(true)
                    .set_master_user_secret_kms_key_id(
                        opt_str(d, "master_user_secret_kms_key_id")?.map(str::to_owned),
                    );
                any = true;
            }
            Some(true) => {
                return Err(invalid(
                    d,
                    "`master_user_secret_kms_key_id` cannot change while RDS manages the \
                     master password: RDS takes a new key only when management is turned on",
                ));
            }
            _ => {
                return Err(invalid(
                    d,
                    "turning `manage_master_user_password` off needs a master password, which \
                     this provider does not take from documents",
                ));
            }
        }
    }
    if has("db_cluster_parameter_group_name") {
        m = m.set_db_cluster_parameter_group_name(
            opt_str(d, "db_cluster_parameter_group_name")?.map(str::to_owned),
        );
        any = true;
    }
    if has("vpc_security_group_ids") {
        m = m.set_vpc_security_group_ids(Some(
            opt_str_list(d, "vpc_security_group_ids")?.unwrap_or_default(),
        ));
        any = true;
    }
    if has("storage_type") {
        m = m.set_storage_type(opt_str(d, "storage_type")?.map(str::to_owned));
        any = true;
    }
    if has("port") {
        m = m.set_port(opt_i32(d, "port")?);
        any = true;
    }
    if has("backup_retention_period") {
        m = m.set_backup_retention_period(opt_i32(d, "backup_retention_period")?);
        any = true;
    }
    if has("preferred_backup_window") {
        m = m
            .set_preferred_backup_window(opt_str(d, "preferred_backup_window")?.map(str::to_owned));
        any = true;
    }
    if has("preferred_maintenance_window") {
        m = m.set_preferred_maintenance_window(
            opt_str(d, "preferred_maintenance_window")?.map(str::to_owned),
        );
        any = true;
    }
    if has("deletion_protection") {
        m = m.set_deletion_protection(opt_bool(d, "deletion_protection")?);
        any = true;
    }
    if has("copy_tags_to_snapshot") {
        m = m.set_copy_tags_to_snapshot(opt_bool(d, "copy_tags_to_snapshot")?);
        any = true;
    }
    if has("iam_database_authentication_enabled") {
        m = m.set_enable_iam_database_authentication(opt_bool(
            d,
            "iam_database_authentication_enabled",
        )?);
        any = true;
    }
    if has("enabled_cloudwatch_logs_exports") {
        let want: BTreeSet<String> = opt_str_list(d, "enabled_cloudwatch_logs_exports")?
            .unwrap_or_default()
            .into_iter()
            .collect();
        let have: BTreeSet<String> = live
            .enabled_cloudwatch_logs_exports()
            .iter()
            .cloned()
            .collect();
        m = m.cloudwatch_logs_export_configuration(
            CloudwatchLogsExportConfiguration::builder()
                .set_enable_log_types(Some(want.difference(&have).cloned().collect()))
                .set_disable_log_types(Some(have.difference(&want).cloned().collect()))
                .build(),
        );
        any = true;
    }
    if any {
        m.send()
            .await
            .map_err(api_err(SERVICE, "ModifyDBCluster"))?;
        wait_available(p, id).await?;
    }
    if has("tags")
        && let Some(arn) = live.db_cluster_arn()
    {
        sync_tags(p, d, arn).await?;
    }
    handle_for(id, live.db_cluster_arn(), d)
}

pub(super) async fn delete(p: &RdsProvider, handle: &Handle) -> Result<(), ProviderError> {
    let id = handle.provider_id.as_str();
    let Some(c) = describe(p, id).await? else {
        return Ok(());
    };
    let refuse = |message: String| ProviderError::Invalid {
        resource: format!("aws_rds_cluster {id}"),
        message,
    };
    if c.status() == Some("deleting") {
        return wait_deleted(p, id).await;
    }
    if c.deletion_protection() == Some(true) {
        return Err(refuse(
            "deletion protection is on, so RDS refuses to delete the cluster (and Tollgate does \
             not turn it off by itself): set `deletion_protection` to false and apply, then \
             delete"
                .into(),
        ));
    }
    let skip = handle
        .attributes
        .get("skip_final_snapshot")
        .is_some_and(|s| s == "true");
    let snapshot = handle.attributes.get("final_snapshot_identifier").cloned();
    if !skip && snapshot.is_none() {
        return Err(refuse(
            "a cluster is deleted with a final snapshot unless `skip_final_snapshot` is true, \
             and the document names no `final_snapshot_identifier`: set one of them and apply \
             before deleting"
                .into(),
        ));
    }
    p.client
        .delete_db_cluster()
        .db_cluster_identifier(id)
        .skip_final_snapshot(skip)
        .set_final_db_snapshot_identifier(if skip { None } else { snapshot })
        .send()
        .await
        .map_err(api_err(SERVICE, "DeleteDBCluster"))?;
    wait_deleted(p, id).await
}

async fn wait_deleted(p: &RdsProvider, id: &str) -> Result<(), ProviderError> {
    let result = p
        .client
        .wait_until_db_cluster_deleted()
        .db_cluster_identifier(id)
        .wait(p.timeout)
        .await;
    waited(
        "DescribeDBClusters",
        &format!("cluster {id} to be deleted"),
        result,
        |out: &DescribeDbClustersOutput| statuses(out.db_clusters()),
    )
}

pub(super) async fn find(p: &RdsProvider, d: &Desired) -> Result<Option<Handle>, ProviderError> {
    let id = d.str_prop("cluster_identifier")?.to_lowercase();
    let Some(c) = describe(p, &id).await? else {
        return Ok(None);
    };
    if c.status() == Some("deleting") {
        return Ok(None);
    }
    if let Some(arn) = c.db_cluster_arn() {
        let tags = live_tags(p, arn).await?;
        check_owner(
            d,
            tags.get(OWNER_TAG).map(String::as_str),
            &format!("DB cluster {id}"),
        )?;
    }
    // A crash right after the create: let it finish, as the create would have.
    if c.status() == Some("creating") {
        wait_available(p, &id).await?;
    }
    handle_for(&id, c.db_cluster_arn(), d).map(Some)
}
