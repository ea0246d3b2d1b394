//! Security groups with their rules inline, as Terraform's `aws_security_group` lists them.
//!
//! EC2 keeps rules per source (one CIDR, one IPv6 CIDR or one group, each with its own
//! description); a document rule bundles sources that share protocol, ports and description.
//! Both sides are taken apart into single-source rules, compared as sets, and put back together
//! in one canonical order, so the document's order and grouping do not matter. A group's default
//! "allow all" egress rule is removed unless the document lists it, as Terraform does.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{
    IpPermission, IpRange, Ipv6Range, ResourceType, SecurityGroup, UserIdGroupPair,
};
use serde_json::Value;

use super::network::protocol_name;
use super::{
    Ec2Provider, Obj, SERVICE, api_err, field_bool, field_i64, field_str, filter, found,
    owner_filter, strings_of, tag_map, tag_spec,
};
use crate::provider::{Desired, Handle, Live, ProviderError};

const REVOKE_ON_DELETE: &str = "revoke_rules_on_delete";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    Cidr(String),
    Cidr6(String),
    Group(String),
    SelfRef,
}

/// One rule with one source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Atom {
    protocol: String,
    from: i64,
    to: i64,
    description: String,
    source: Source,
}

#[derive(Debug, Default, Clone, PartialEq)]
struct Rules {
    ingress: BTreeSet<Atom>,
    egress: BTreeSet<Atom>,
}

/// Takes the document's rules apart into single-source rules.
fn atoms_of(rules: Option<&Value>) -> BTreeSet<Atom> {
    let mut out = BTreeSet::new();
    for r in rules.and_then(Value::as_array).into_iter().flatten() {
        let protocol = protocol_name(field_str(r, "protocol").unwrap_or("-1")).to_owned();
        let (from, to) = if protocol == "-1" {
            (0, 0)
        } else {
            (
                field_i64(r, "from_port").unwrap_or(0),
                field_i64(r, "to_port").unwrap_or(0),
            )
        };
        let description = field_str(r, "description").unwrap_or_default().to_owned();
        let atom = |source| Atom {
            protocol: protocol.clone(),
            from,
            to,
            description: description.clone(),
            source,
        };
        out.extend(
            strings_of(r, "cidr_blocks")
                .into_iter()
                .map(|c| atom(Source::Cidr(c))),
        );
        out.extend(
            strings_of(r, "ipv6_cidr_blocks")
                .into_iter()
                .map(|c| atom(Source::Cidr6(c))),
        );
        out.extend(
            strings_of(r, "security_groups")
                .into_iter()
                .map(|g| atom(Source::Group(g))),
        );
        if field_bool(r, "self") == Some(true) {
            out.insert(atom(Source::SelfRef));
        }
    }
    out
}

/// Puts single-source rules back together: one rule per protocol, ports and description.
fn rules_of(atoms: &BTreeSet<Atom>) -> Value {
    let mut groups: BTreeMap<(&str, i64, i64, &str), Vec<&Source>> = BTreeMap::new();
    for a in atoms {
        groups
            .entry((&a.protocol, a.from, a.to, &a.description))
            .or_default()
            .push(&a.source);
    }
    let rules: Vec<Value> = groups
        .into_iter()
        .map(|((protocol, from, to, description), sources)| {
            let pick = |f: fn(&Source) -> Option<&String>| -> Option<Vec<String>> {
                let v: Vec<String> = sources.iter().filter_map(|s| f(s)).cloned().collect();
                (!v.is_empty()).then_some(v)
            };
            Obj::new()
                .opt(
                    "description",
                    (!description.is_empty()).then_some(description),
                )
                .opt("from_port", Some(from))
                .opt("to_port", Some(to))
                .opt("protocol", Some(protocol))
                .opt(
                    "cidr_blocks",
                    pick(|s| match s {
                        Source::Cidr(c) => Some(c),
                        _ => None,
                    }),
                )
                .opt(
                    "ipv6_cidr_blocks",
                    pick(|s| match s {
                        Source::Cidr6(c) => Some(c),
                        _ => None,
                    }),
                )
                .opt(
                    "security_groups",
                    pick(|s| match s {
                        Source::Group(g) => Some(g),
                        _ => None,
                    }),
                )
                .opt(
                    "self",
                    sources
                        .iter()
                        .any(|s| **s == Source::SelfRef)
                        .then_some(true),
                )
                .build()
        })
        .collect();
    Value::Array(rules)
}

/// Canonical `ingress` and `egress` (see the module comment).
pub(super) fn normalize(props: &mut Value) {
    if let Value::Object(m) = props {
        for dir in ["ingress", "egress"] {
            if let Some(rules) = m.get(dir) {
                let canonical = rules_of(&atoms_of(Some(rules)));
                m.insert(dir.to_owned(), canonical);
            }
        }
    }
}

fn atoms_from_permissions(group_id: &str, perms: &[IpPermission]) -> BTreeSet<Atom> {
    let mut out = BTreeSet::new();
    for p in perms {
        let protocol = protocol_name(p.ip_protocol().unwrap_or("-1")).to_owned();
        let (from, to) = if protocol == "-1" {
            (0, 0)
        } else {
            (
                i64::from(p.from_port().unwrap_or(0)),
                i64::from(p.to_port().unwrap_or(0)),
            )
        };
        let atom = |description: Option<&str>, source| Atom {
            protocol: protocol.clone(),
            from,
            to,
            description: description.unwrap_or_default().to_owned(),
            source,
        };
        for r in p.ip_ranges() {
            if let Some(c) = r.cidr_ip() {
                out.insert(atom(r.description(), Source::Cidr(c.to_owned())));
            }
        }
        for r in p.ipv6_ranges() {
            if let Some(c) = r.cidr_ipv6() {
                out.insert(atom(r.description(), Source::Cidr6(c.to_owned())));
            }
        }
        for g in p.user_id_group_pairs() {
            if let Some(id) = g.group_id() {
                let source = if id == group_id {
                    Source::SelfRef
                } else {
                    Source::Group(id.to_owned())
                };
                out.insert(atom(g.description(), source));
            }
        }
    }
    out
}

fn permission(group_id: &str, a: &Atom) -> IpPermission {
    let mut b = IpPermission::builder().ip_protocol(&a.protocol);
    if a.protocol != "-1" {
        b = b
            .from_port(i32::try_from(a.from).unwrap_or_default())
            .to_port(i32::try_from(a.to).unwrap_or_default());
    }
    let description = (!a.description.is_empty()).then(|| a.description.clone());
    match &a.source {
        Source::Cidr(c) => b.ip_ranges(
            IpRange::builder()
                .cidr_ip(c)
                .set_description(description)
                .build(),
        ),
        Source::Cidr6(c) => b.ipv6_ranges(
            Ipv6Range::builder()
                .cidr_ipv6(c)
                .set_description(description)
                .build(),
        ),
        Source::Group(g) => b.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(g)
                .set_description(description)
                .build(),
        ),
        Source::SelfRef => b.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(group_id)
                .set_description(description)
                .build(),
        ),
    }
    .build()
}

async fn describe(p: &Ec2Provider, id: &str) -> Result<Option<SecurityGroup>, ProviderError> {
    Ok(found(
        p.client
            .describe_security_groups()
            .group_ids(id)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeSecurityGroups")),
    )?
    .and_then(|out| out.security_groups().first().cloned()))
}

fn live_rules(g: &SecurityGroup, id: &str) -> Rules {
    Rules {
        ingress: atoms_from_permissions(id, g.ip_permissions()),
        egress: atoms_from_permissions(id, g.ip_permissions_egress()),
    }
}

/// Revokes the live rules the document does not list, then authorizes the missing ones.
async fn sync_rules(
    p: &Ec2Provider,
    id: &str,
    live: &Rules,
    want: &Rules,
) -> Result<(), ProviderError> {
    let perms = |set: &BTreeSet<Atom>, other: &BTreeSet<Atom>| -> Vec<IpPermission> {
        set.difference(other).map(|a| permission(id, a)).collect()
    };
    let revoke_in = perms(&live.ingress, &want.ingress);
    let revoke_eg = perms(&live.egress, &want.egress);
    let add_in = perms(&want.ingress, &live.ingress);
    let add_eg = perms(&want.egress, &live.egress);
    if !revoke_in.is_empty() {
        p.client
            .revoke_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(revoke_in))
            .send()
            .await
            .map_err(api_err(SERVICE, "RevokeSecurityGroupIngress"))?;
    }
    if !revoke_eg.is_empty() {
        p.client
            .revoke_security_group_egress()
            .group_id(id)
            .set_ip_permissions(Some(revoke_eg))
            .send()
            .await
            .map_err(api_err(SERVICE, "RevokeSecurityGroupEgress"))?;
    }
    if !add_in.is_empty() {
        p.client
            .authorize_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(add_in))
            .send()
            .await
            .map_err(api_err(SERVICE, "AuthorizeSecurityGroupIngress"))?;
    }
    if !add_eg.is_empty() {
        p.client
            .authorize_security_group_egress()
            .group_id(id)
            .set_ip_permissions(Some(add_eg))
            .send()
            .await
            .map_err(api_err(SERVICE, "AuthorizeSecurityGroupEgress"))?;
    }
    Ok(())
}

fn wanted(d: &Desired) -> Rules {
    Rules {
        ingress: atoms_of(d.prop("ingress")),
        egress: atoms_of(d.prop("egress")),
    }
}

fn handle_for(id: &str, d: &Desired) -> Handle {
    let mut h = Handle::new(id);
    if field_bool(&d.properties, REVOKE_ON_DELETE) == Some(true) {
        h.attributes.insert(REVOKE_ON_DELETE.into(), "true".into());
    }
    h
}

pub(super) async fn create(p: &Ec2Provider, d: &Desired) -> Result<Handle, ProviderError> {
    let out = p
        .client
        .create_security_group()
        .group_name(d.str_prop("name")?)
        .description(field_str(&d.properties, "description").unwrap_or("Managed by Tollgate"))
        .set_vpc_id(field_str(&d.properties, "vpc_id").map(str::to_owned))
        .tag_specifications(tag_spec(ResourceType::SecurityGroup, d))
        .send()
        .await
        .map_err(api_err(SERVICE, "CreateSecurityGroup"))?;
    let id = out
        .group_id()
        .ok_or_else(|| ProviderError::missing(SERVICE, "CreateSecurityGroup", "GroupId"))?;
    let live = describe(p, id)
        .await?
        .map(|g| live_rules(&g, id))
        .unwrap_or_default();
    sync_rules(p, id, &live, &wanted(d)).await?;
    Ok(handle_for(id, d))
}

pub(super) async fn read(p: &Ec2Provider, handle: &Handle) -> Result<Option<Live>, ProviderError> {
    let id = handle.provider_id.as_str();
    let Some(g) = describe(p, id).await? else {
        return Ok(None);
    };
    let rules = live_rules(&g, id);
    let props = Obj::new()
        .opt("name", g.group_name())
        .opt("description", g.description())
        .opt("vpc_id", g.vpc_id())
        .opt("ingress", Some(rules_of(&rules.ingress)))
        .opt("egress", Some(rules_of(&rules.egress)))
        .build();
    Ok(Some(Live {
        handle: handle.clone(),
        properties: props,
        tags: tag_map(g.tags()),
    }))
}

pub(super) async fn update(
    p: &Ec2Provider,
    d: &Desired,
    handle: &Handle,
    changed: &[String],
) -> Result<Handle, ProviderError> {
    let id = handle.provider_id.as_str();
    let g = describe(p, id)
        .await?
        .ok_or_else(|| ProviderError::Invalid {
            resource: d.address(),
            message: format!("security group {id} no longer exists"),
        })?;
    if changed.iter().any(|c| c == "ingress" || c == "egress") {
        sync_rules(p, id, &live_rules(&g, id), &wanted(d)).await?;
    }
    if changed.iter().any(|c| c == "tags") {
        super::sync_tags(p, id, &tag_map(g.tags()), d).await?;
    }
    Ok(handle_for(id, d))
}

pub(super) async fn delete(p: &Ec2Provider, handle: &Handle) -> Result<(), ProviderError> {
    let id = handle.provider_id.as_str();
    if handle
        .attributes
        .get(REVOKE_ON_DELETE)
        .is_some_and(|v| v == "true")
        && let Some(g) = describe(p, id).await?
    {
        sync_rules(p, id, &live_rules(&g, id), &Rules::default()).await?;
    }
    p.client
        .delete_security_group()
        .group_id(id)
        .send()
        .await
        .map_err(api_err(SERVICE, "DeleteSecurityGroup"))?;
    Ok(())
}

/// By name within the VPC (unique there), else by [`crate::provider::OWNER_TAG`].
pub(super) async fn find(p: &Ec2Provider, d: &Desired) -> Result<Option<Handle>, ProviderError> {
    let mut call = p.client.describe_security_groups();
    call = match (
        field_str(&d.properties, "name"),
        field_str(&d.properties, "vpc_id"),
    ) {
        (Some(name), Some(vpc)) => call
            .filters(filter("group-name", name))
            .filters(filter("vpc-id", vpc)),
        _ => call.filters(owner_filter(d)),
    };
    let out = call
        .send()
        .await
        .map_err(api_err(SERVICE, "DescribeSecurityGroups"))?;
    Ok(out
        .security_groups()
        .first()
        .and_then(|g| g.group_id())
        .map(|id| handle_for(id, d)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalize_merges_order_and_spelling() {
        let mut a = json!({"ingress": [
            {"from_port": 443, "to_port": 443, "protocol": "6", "cidr_blocks": ["10.0.0.0/8", "0.0.0.0/0"], "description": "x"},
            {"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["10.1.0.0/16"]}
        ]});
        let mut b = json!({"ingress": [
            {"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["10.1.0.0/16"], "ipv6_cidr_blocks": []},
            {"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"], "description": "x"},
            {"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["10.0.0.0/8"], "description": "x"}
        ]});
        normalize(&mut a);
        normalize(&mut b);
        assert_eq!(a, b);
        assert_eq!(
            a["ingress"][1]["cidr_blocks"],
            json!(["0.0.0.0/0", "10.0.0.0/8"])
        );
    }

    #[test]
    fn all_protocols_have_no_ports() {
        let mut a = json!({"egress": [{"from_port": 0, "to_port": 65535, "protocol": "all", "cidr_blocks": ["0.0.0.0/0"]}]});
        normalize(&mut a);
        assert_eq!(
            a,
            json!({"egress": [{"from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": ["0.0.0.0/0"]}]})
        );
    }
}
