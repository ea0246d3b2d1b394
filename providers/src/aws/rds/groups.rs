//! DB subnet groups and Aurora cluster parameter groups.
//!
//! A parameter group's `parameter` list holds only the parameters the document sets
//! (`{name, value, apply_method}`); a read asks RDS for the user-set parameters only
//! (`Source=user`), so the engine defaults never show up as differences. A parameter dropped from
//! the document is reset to its default (`ResetDBClusterParameterGroup`), with the apply method
//! it was set with.

use std::collections::BTreeMap;

use aws_sdk_rds::types::{ApplyMethod, Parameter};
use serde_json::{Value, json};

use super::{
    RdsProvider, SERVICE, check_handled, check_known, create_tags, found, live_tags, lower,
    named_handle, sort_strings, sorted, sync_tags, without_owner,
};
use crate::aws::doc::{changed, check_owner, field_str, invalid, opt_str, opt_str_list};
use crate::provider::{Desired, Handle, Live, OWNER_TAG, ProviderError, api_err};

const SUBNET_GROUP_PROPS: &[&str] = &["name", "description", "subnet_ids"];
const PARAMETER_GROUP_PROPS: &[&str] = &["name", "family", "description", "parameter"];
/// RDS takes at most 20 parameters in one modify or reset call.
const PARAMETERS_PER_CALL: usize = 20;

pub(super) fn normalize_subnet_group(props: &mut Value) {
    lower(props, "name");
    sort_strings(props, "subnet_ids");
}

pub(super) fn normalize_parameter_group(props: &mut Value) {
    lower(props, "name");
    if let Some(Value::Array(list)) = props.get_mut("parameter") {
        for p in list.iter_mut() {
            let Some(obj) = p.as_object_mut() else {
                continue;
            };
            // RDS returns every value as a string; `immediate` is what a create sends when the
            // document names no apply method.
            if let Some(v) = obj.get_mut("value")
                && !v.is_string()
                && !v.is_null()
            {
                let text = match &*v {
                    Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
                    other => other.to_string(),
                };
                *v = Value::String(text);
            }
            obj.entry("apply_method")
                .or_insert_with(|| Value::String("immediate".into()));
        }
        list.sort_by(|a, b| field_str(a, "name").cmp(&field_str(b, "name")));
    }
}

// ---------------------------------------------------------------------------------------------
// Subnet groups

pub(super) async fn create_subnet_group(
    p: &RdsProvider,
    d: &Desired,
) -> Result<Handle, ProviderError> {
    check_known(d, SUBNET_GROUP_PROPS)?;
    let out = p
        .client
        .create_db_subnet_group()
        .db_subnet_group_name(d.str_prop("name")?)
        .db_subnet_group_description(opt_str(d, "description")?.unwrap_or("Managed by Tollgate"))
        .set_subnet_ids(opt_str_list(d, "subnet_ids")?)
        .set_tags(Some(create_tags(d)))
        .send()
        .await
        .map_err(api_err(SERVICE, "CreateDBSubnetGroup"))?;
    let g = out
        .db_subnet_group()
        .ok_or_else(|| ProviderError::missing(SERVICE, "CreateDBSubnetGroup", "DBSubnetGroup"))?;
    let name = g.db_subnet_group_name().ok_or_else(|| {
        ProviderError::missing(SERVICE, "CreateDBSubnetGroup", "DBSubnetGroupName")
    })?;
    Ok(named_handle(name, g.db_subnet_group_arn()))
}

async fn describe_subnet_group(
    p: &RdsProvider,
    name: &str,
) -> Result<Option<aws_sdk_rds::types::DbSubnetGroup>, ProviderError> {
    let out = found(
        p.client
            .describe_db_subnet_groups()
            .db_subnet_group_name(name)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeDBSubnetGroups")),
    )?;
    Ok(out.and_then(|o| o.db_subnet_groups().first().cloned()))
}

pub(super) async fn read_subnet_group(
    p: &RdsProvider,
    handle: &Handle,
) -> Result<Option<Live>, ProviderError> {
    let Some(g) = describe_subnet_group(p, &handle.provider_id).await? else {
        return Ok(None);
    };
    let subnets: Vec<String> = g
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_identifier().map(str::to_owned))
        .collect();
    let mut props = serde_json::Map::new();
    if let Some(n) = g.db_subnet_group_name() {
        props.insert("name".into(), json!(n));
    }
    if let Some(desc) = g.db_subnet_group_description() {
        props.insert("description".into(), json!(desc));
    }
    props.insert("subnet_ids".into(), sorted(subnets));
    let tags = match g.db_subnet_group_arn() {
        Some(arn) => without_owner(live_tags(p, arn).await?),
        None => BTreeMap::new(),
    };
    Ok(Some(Live {
        handle: handle.clone(),
        properties: Value::Object(props),
        tags,
    }))
}

pub(super) async fn update_subnet_group(
    p: &RdsProvider,
    d: &Desired,
    handle: &Handle,
    changes: &[String],
) -> Result<Handle, ProviderError> {
    check_known(d, SUBNET_GROUP_PROPS)?;
    check_handled(d, changes, &["description", "subnet_ids", "tags"])?;
    if changed(changes, "description") || changed(changes, "subnet_ids") {
        // ModifyDBSubnetGroup takes the whole subnet list every time.
        p.client
            .modify_db_subnet_group()
            .db_subnet_group_name(&handle.provider_id)
            .set_db_subnet_group_description(opt_str(d, "description")?.map(str::to_owned))
            .set_subnet_ids(opt_str_list(d, "subnet_ids")?)
            .send()
            .await
            .map_err(api_err(SERVICE, "ModifyDBSubnetGroup"))?;
    }
    let g = describe_subnet_group(p, &handle.provider_id)
        .await?
        .ok_or_else(|| invalid(d, format!("subnet group {} is gone", handle.provider_id)))?;
    if changed(changes, "tags")
        && let Some(arn) = g.db_subnet_group_arn()
    {
        sync_tags(p, d, arn).await?;
    }
    Ok(named_handle(&handle.provider_id, g.db_subnet_group_arn()))
}

pub(super) async fn find_subnet_group(
    p: &RdsProvider,
    d: &Desired,
) -> Result<Option<Handle>, ProviderError> {
    let name = d.str_prop("name")?.to_lowercase();
    let Some(g) = describe_subnet_group(p, &name).await? else {
        return Ok(None);
    };
    if let Some(arn) = g.db_subnet_group_arn() {
        let tags = live_tags(p, arn).await?;
        check_owner(
            d,
            tags.get(OWNER_TAG).map(String::as_str),
            &format!("DB subnet group {name}"),
        )?;
    }
    Ok(Some(named_handle(&name, g.db_subnet_group_arn())))
}

// ---------------------------------------------------------------------------------------------
// Cluster parameter groups

/// One entry of a document's `parameter` list.
#[derive(Debug, Clone, PartialEq)]
struct Param {
    name: String,
    value: String,
    apply_method: String,
}

impl Param {
    fn to_sdk(&self) -> Parameter {
        Parameter::builder()
            .parameter_name(&self.name)
            .parameter_value(&self.value)
            .apply_method(ApplyMethod::from(self.apply_method.as_str()))
            .build()
    }
}

/// The document's parameters, in canonical form, by name.
fn desired_params(d: &Desired) -> Result<BTreeMap<String, Param>, ProviderError> {
    let mut props = d.properties.clone();
    normalize_parameter_group(&mut props);
    let list = match props.get("parameter") {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(invalid(d, "`parameter` must be a list")),
    };
    let mut out = BTreeMap::new();
    for (i, entry) in list.iter().enumerate() {
        let Some(obj) = entry.as_object() else {
            return Err(invalid(d, format!("`parameter[{i}]` must be an object")));
        };
        if let Some(k) = obj
            .keys()
            .find(|k| !["name", "value", "apply_method"].contains(&k.as_str()))
        {
            return Err(invalid(
                d,
                format!("`parameter[{i}].{k}` is not supported (name, value, apply_method)"),
            ));
        }
        let (Some(name), Some(value)) = (field_str(entry, "name"), field_str(entry, "value"))
        else {
            return Err(invalid(
                d,
                format!("`parameter[{i}]` needs a string `name` and a `value`"),
            ));
        };
        let apply_method = field_str(entry, "apply_method").unwrap_or("immediate");
        if !["immediate", "pending-reboot"].contains(&apply_method) {
            return Err(invalid(
                d,
                format!(
                    "`parameter[{i}].apply_method` must be `immediate` or `pending-reboot`, \
                     not `{apply_method}`"
                ),
            ));
        }
        let p = Param {
            name: name.to_owned(),
            value: value.to_owned(),
            apply_method: apply_method.to_owned(),
        };
        if out.insert(name.to_owned(), p).is_some() {
            return Err(invalid(
                d,
                format!("parameter `{name}` is set twice in `parameter`"),
            ));
        }
    }
    Ok(out)
}

/// The parameters set on the group (source `user`), by name.
async fn live_params(
    p: &RdsProvider,
    name: &str,
) -> Result<Option<BTreeMap<String, Param>>, ProviderError> {
    let mut out = BTreeMap::new();
    let mut marker = None;
    loop {
        let Some(page) = found(
            p.client
                .describe_db_cluster_parameters()
                .db_cluster_parameter_group_name(name)
                .source("user")
                .set_marker(marker)
                .send()
                .await
                .map_err(api_err(SERVICE, "DescribeDBClusterParameters")),
        )?
        else {
            return Ok(None);
        };
        for param in page.parameters() {
            // Only what a user set; a server that ignores the `Source` filter still labels the
            // engine's defaults.
            if param.source().is_some_and(|s| s != "user") {
                continue;
            }
            let (Some(n), Some(v)) = (param.parameter_name(), param.parameter_value()) else {
                continue;
            };
            out.insert(
                n.to_owned(),
                Param {
                    name: n.to_owned(),
                    value: v.to_owned(),
                    apply_method: param
                        .apply_method()
                        .map(|m| m.as_str().to_owned())
                        .unwrap_or_default(),
                },
            );
        }
        marker = page.marker().map(str::to_owned);
        if marker.is_none() {
            return Ok(Some(out));
        }
    }
}

async fn modify_params(
    p: &RdsProvider,
    name: &str,
    params: &[&Param],
) -> Result<(), ProviderError> {
    for chunk in params.chunks(PARAMETERS_PER_CALL) {
        p.client
            .modify_db_cluster_parameter_group()
            .db_cluster_parameter_group_name(name)
            .set_parameters(Some(chunk.iter().map(|p| p.to_sdk()).collect()))
            .send()
            .await
            .map_err(api_err(SERVICE, "ModifyDBClusterParameterGroup"))?;
    }
    Ok(())
}

pub(super) async fn create_parameter_group(
    p: &RdsProvider,
    d: &Desired,
) -> Result<Handle, ProviderError> {
    check_known(d, PARAMETER_GROUP_PROPS)?;
    let params = desired_params(d)?;
    let out = p
        .client
        .create_db_cluster_parameter_group()
        .db_cluster_parameter_group_name(d.str_prop("name")?)
        .db_parameter_group_family(d.str_prop("family")?)
        .description(opt_str(d, "description")?.unwrap_or("Managed by Tollgate"))
        .set_tags(Some(create_tags(d)))
        .send()
        .await
        .map_err(api_err(SERVICE, "CreateDBClusterParameterGroup"))?;
    let g = out.db_cluster_parameter_group().ok_or_else(|| {
        ProviderError::missing(
            SERVICE,
            "CreateDBClusterParameterGroup",
            "DBClusterParameterGroup",
        )
    })?;
    let name = g.db_cluster_parameter_group_name().ok_or_else(|| {
        ProviderError::missing(
            SERVICE,
            "CreateDBClusterParameterGroup",
            "DBClusterParameterGroupName",
        )
    })?;
    let list: Vec<&Param> = params.values().collect();
    modify_params(p, name, &list).await?;
    Ok(named_handle(name, g.db_cluster_parameter_group_arn()))
}

async fn describe_parameter_group(
    p: &RdsProvider,
    name: &str,
) -> Result<Option<aws_sdk_rds::types::DbClusterParameterGroup>, ProviderError> {
    let out = found(
        p.client
            .describe_db_cluster_parameter_groups()
            .db_cluster_parameter_group_name(name)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeDBClusterParameterGroups")),
    )?;
    Ok(out.and_then(|o| o.db_cluster_parameter_groups().first().cloned()))
}

pub(super) async fn read_parameter_group(
    p: &RdsProvider,
    handle: &Handle,
) -> Result<Option<Live>, ProviderError> {
    let Some(g) = describe_parameter_group(p, &handle.provider_id).await? else {
        return Ok(None);
    };
    let Some(params) = live_params(p, &handle.provider_id).await? else {
        return Ok(None);
    };
    let mut props = serde_json::Map::new();
    if let Some(n) = g.db_cluster_parameter_group_name() {
        props.insert("name".into(), json!(n));
    }
    if let Some(f) = g.db_parameter_group_family() {
        props.insert("family".into(), json!(f));
    }
    if let Some(desc) = g.description() {
        props.insert("description".into(), json!(desc));
    }
    props.insert(
        "parameter".into(),
        Value::Array(
            params
                .values()
                .map(|p| {
                    let mut o = serde_json::Map::new();
                    o.insert("name".into(), json!(p.name));
                    o.insert("value".into(), json!(p.value));
                    if !p.apply_method.is_empty() {
                        o.insert("apply_method".into(), json!(p.apply_method));
                    }
                    Value::Object(o)
                })
                .collect(),
        ),
    );
    let tags = match g.db_cluster_parameter_group_arn() {
        Some(arn) => without_owner(live_tags(p, arn).await?),
        None => BTreeMap::new(),
    };
    Ok(Some(Live {
        handle: handle.clone(),
        properties: Value::Object(props),
        tags,
    }))
}

pub(super) async fn update_parameter_group(
    p: &RdsProvider,
    d: &Desired,
    handle: &Handle,
    changes: &[String],
) -> Result<Handle, ProviderError> {
    check_known(d, PARAMETER_GROUP_PROPS)?;
    check_handled(d, changes, &["parameter", "tags"])?;
    let name = handle.provider_id.as_str();
    if changed(changes, "parameter") {
        let want = desired_params(d)?;
        let have = live_params(p, name)
            .await?
            .ok_or_else(|| invalid(d, format!("cluster parameter group {name} is gone")))?;
        let set: Vec<&Param> = want
            .values()
            .filter(|w| have.get(&w.name) != Some(*w))
            .collect();
        let reset: Vec<&Param> = have
            .values()
            .filter(|h| !want.contains_key(&h.name))
            .collect();
        modify_params(p, name, &set).await?;
        for chunk in reset.chunks(PARAMETERS_PER_CALL) {
            p.client
                .reset_db_cluster_parameter_group()
                .db_cluster_parameter_group_name(name)
                .set_parameters(Some(
                    chunk
                        .iter()
                        .map(|h| {
                            Parameter::builder()
                                .parameter_name(&h.name)
                                .apply_method(ApplyMethod::from(if h.apply_method.is_empty() {
                                    "pending-reboot"
                                } else {
                                    h.apply_method.as_str()
                                }))
                                .build()
                        })
                        .collect(),
                ))
                .send()
                .await
                .map_err(api_err(SERVICE, "ResetDBClusterParameterGroup"))?;
        }
    }
    let g = describe_parameter_group(p, name)
        .await?
        .ok_or_else(|| invalid(d, format!("cluster parameter group {name} is gone")))?;
    if changed(changes, "tags")
        && let Some(arn) = g.db_cluster_parameter_group_arn()
    {
        sync_tags(p, d, arn).await?;
    }
    Ok(named_handle(name, g.db_cluster_parameter_group_arn()))
}

pub(super) async fn find_parameter_group(
    p: &RdsProvider,
    d: &Desired,
) -> Result<Option<Handle>, ProviderError> {
    let name = d.str_prop("name")?.to_lowercase();
    let Some(g) = describe_parameter_group(p, &name).await? else {
        return Ok(None);
    };
    if let Some(arn) = g.db_cluster_parameter_group_arn() {
        let tags = live_tags(p, arn).await?;
        check_owner(
            d,
            tags.get(OWNER_TAG).map(String::as_str),
            &format!("DB cluster parameter group {name}"),
        )?;
    }
    Ok(Some(named_handle(
        &name,
        g.db_cluster_parameter_group_arn(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_normalize_sorted_with_default_apply_method_and_string_values() {
        let mut props = json!({"name": "PG", "parameter": [
            {"name": "b", "value": 1000},
            {"name": "a", "value": "x", "apply_method": "pending-reboot"}
        ]});
        normalize_parameter_group(&mut props);
        assert_eq!(
            props,
            json!({"name": "pg", "parameter": [
                {"name": "a", "value": "x", "apply_method": "pending-reboot"},
                {"name": "b", "value": "1000", "apply_method": "immediate"}
            ]})
        );
    }
}
