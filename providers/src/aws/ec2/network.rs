//! VPCs, subnets, internet gateways, route tables and their associations, Elastic IPs, NAT
//! gateways and network ACLs.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    AttributeBooleanValue, ConnectivityType, DomainType, NatGatewayState, PortRange, ResourceType,
    RuleAction, Tenancy, VpcAttributeName,
};
use serde_json::{Value, json};

use super::{
    Ec2Provider, Obj, SERVICE, api_err, field_bool, field_i64, field_str, filter, found, i32_of,
    invalid, owner_filter, strings_of, sync_tags, tag_map, tag_spec, wait_for,
};
use crate::provider::{Desired, Handle, Live, ProviderError};

pub(super) async fn create(p: &Ec2Provider, d: &Desired) -> Result<Handle, ProviderError> {
    let props = &d.properties;
    match d.type_name.as_str() {
        "aws_vpc" => {
            let out = p
                .client
                .create_vpc()
                .cidr_block(d.str_prop("cidr_block")?)
                .set_instance_tenancy(field_str(props, "instance_tenancy").map(Tenancy::from))
                .tag_specifications(tag_spec(ResourceType::Vpc, d))
                .send()
                .await
                .map_err(api_err(SERVICE, "CreateVpc"))?;
            let id = out
                .vpc()
                .and_then(|v| v.vpc_id())
                .ok_or_else(|| ProviderError::missing(SERVICE, "CreateVpc", "VpcId"))?
                .to_owned();
            set_vpc_dns(p, &id, props, true).await?;
            Ok(Handle::new(id))
        }
        "aws_subnet" => {
            let out = p
                .client
                .create_subnet()
                .vpc_id(d.str_prop("vpc_id")?)
                .cidr_block(d.str_prop("cidr_block")?)
                .set_availability_zone(field_str(props, "availability_zone").map(str::to_owned))
                .tag_specifications(tag_spec(ResourceType::Subnet, d))
                .send()
                .await
                .map_err(api_err(SERVICE, "CreateSubnet"))?;
            let id = out
                .subnet()
                .and_then(|s| s.subnet_id())
                .ok_or_else(|| ProviderError::missing(SERVICE, "CreateSubnet", "SubnetId"))?
                .to_owned();
            if field_bool(props, "map_public_ip_on_launch") == Some(true) {
                set_map_public_ip(p, &id, true).await?;
            }
            Ok(Handle::new(id))
        }
        "aws_internet_gateway" => {
            let out = p
                .client
                .create_internet_gateway()
                .tag_specifications(tag_spec(ResourceType::InternetGateway, d))
                .send()
                .await
                .map_err(api_err(SERVICE, "CreateInternetGateway"))?;
            let id = out
                .internet_gateway()
                .and_then(|g| g.internet_gateway_id())
                .ok_or_else(|| {
                    ProviderError::missing(SERVICE, "CreateInternetGateway", "InternetGatewayId")
                })?
                .to_owned();
            if let Some(vpc) = field_str(props, "vpc_id") {
                attach_igw(p, &id, vpc).await?;
            }
            Ok(Handle::new(id))
        }
        "aws_route_table" => {
            let out = p
                .client
                .create_route_table()
                .vpc_id(d.str_prop("vpc_id")?)
                .tag_specifications(tag_spec(ResourceType::RouteTable, d))
                .send()
                .await
                .map_err(api_err(SERVICE, "CreateRouteTable"))?;
            let id = out
                .route_table()
                .and_then(|t| t.route_table_id())
                .ok_or_else(|| ProviderError::missing(SERVICE, "CreateRouteTable", "RouteTableId"))?
                .to_owned();
            for route in routes_of(d)? {
                put_route(p, &id, &route, false).await?;
            }
            Ok(Handle::new(id))
        }
        "aws_route_table_association" => {
            let out = p
                .client
                .associate_route_table()
                .subnet_id(d.str_prop("subnet_id")?)
                .route_table_id(d.str_prop("route_table_id")?)
                .send()
                .await
                .map_err(api_err(SERVICE, "AssociateRouteTable"))?;
            let id = out.association_id().ok_or_else(|| {
                ProviderError::missing(SERVICE, "AssociateRouteTable", "AssociationId")
            })?;
            Ok(Handle::new(id))
        }
        "aws_eip" => {
            let out = p
                .client
                .allocate_address()
                .domain(DomainType::from(
                    field_str(props, "domain").unwrap_or("vpc"),
                ))
                .tag_specifications(tag_spec(ResourceType::ElasticIp, d))
                .send()
                .await
                .map_err(api_err(SERVICE, "AllocateAddress"))?;
            let id = out.allocation_id().ok_or_else(|| {
                ProviderError::missing(SERVICE, "AllocateAddress", "AllocationId")
            })?;
            let mut handle = Handle::new(id);
            if let Some(ip) = out.public_ip() {
                handle.attributes.insert("public_ip".into(), ip.into());
            }
            Ok(handle)
        }
        "aws_nat_gateway" => {
            let out = p
                .client
                .create_nat_gateway()
                .subnet_id(d.str_prop("subnet_id")?)
                .set_allocation_id(field_str(props, "allocation_id").map(str::to_owned))
                .set_connectivity_type(
                    field_str(props, "connectivity_type").map(ConnectivityType::from),
                )
                .tag_specifications(tag_spec(ResourceType::Natgateway, d))
                .send()
                .await
                .map_err(api_err(SERVICE, "CreateNatGateway"))?;
            let id = out
                .nat_gateway()
                .and_then(|n| n.nat_gateway_id())
                .ok_or_else(|| ProviderError::missing(SERVICE, "CreateNatGateway", "NatGatewayId"))?
                .to_owned();
            Ok(Handle::new(id))
        }
        "aws_network_acl" => {
            let out = p
                .client
                .create_network_acl()
                .vpc_id(d.str_prop("vpc_id")?)
                .tag_specifications(tag_spec(ResourceType::NetworkAcl, d))
                .send()
                .await
                .map_err(api_err(SERVICE, "CreateNetworkAcl"))?;
            let id = out
                .network_acl()
                .and_then(|a| a.network_acl_id())
                .ok_or_else(|| ProviderError::missing(SERVICE, "CreateNetworkAcl", "NetworkAclId"))?
                .to_owned();
            for entry in acl_entries_of(d)? {
                put_acl_entry(p, &id, &entry, false).await?;
            }
            for subnet in strings_of(props, "subnet_ids") {
                move_subnet_acl(p, &subnet, &id).await?;
            }
            Ok(Handle::new(id))
        }
        other => Err(invalid(d, format!("type `{other}` is not an EC2 type"))),
    }
}

pub(super) async fn read(
    p: &Ec2Provider,
    type_name: &str,
    handle: &Handle,
) -> Result<Option<Live>, ProviderError> {
    let id = handle.provider_id.as_str();
    let live = |properties: Value, tags| Live {
        handle: handle.clone(),
        properties,
        tags,
    };
    match type_name {
        "aws_vpc" => {
            let Some(out) = found(
                p.client
                    .describe_vpcs()
                    .vpc_ids(id)
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "DescribeVpcs")),
            )?
            else {
                return Ok(None);
            };
            let Some(vpc) = out.vpcs().first() else {
                return Ok(None);
            };
            let support = vpc_attribute(p, id, VpcAttributeName::EnableDnsSupport).await?;
            let hostnames = vpc_attribute(p, id, VpcAttributeName::EnableDnsHostnames).await?;
            let props = Obj::new()
                .opt("cidr_block", vpc.cidr_block())
                .opt("enable_dns_support", support)
                .opt("enable_dns_hostnames", hostnames)
                .opt(
                    "instance_tenancy",
                    vpc.instance_tenancy().map(|t| t.as_str()),
                )
                .build();
            Ok(Some(live(props, tag_map(vpc.tags()))))
        }
        "aws_subnet" => {
            let Some(out) = found(
                p.client
                    .describe_subnets()
                    .subnet_ids(id)
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "DescribeSubnets")),
            )?
            else {
                return Ok(None);
            };
            let Some(s) = out.subnets().first() else {
                return Ok(None);
            };
            let props = Obj::new()
                .opt("vpc_id", s.vpc_id())
                .opt("cidr_block", s.cidr_block())
                .opt("availability_zone", s.availability_zone())
                .opt("map_public_ip_on_launch", s.map_public_ip_on_launch())
                .build();
            Ok(Some(live(props, tag_map(s.tags()))))
        }
        "aws_internet_gateway" => {
            let Some(out) = found(
                p.client
                    .describe_internet_gateways()
                    .internet_gateway_ids(id)
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "DescribeInternetGateways")),
            )?
            else {
                return Ok(None);
            };
            let Some(g) = out.internet_gateways().first() else {
                return Ok(None);
            };
            let props = Obj::new()
                .opt("vpc_id", g.attachments().first().and_then(|a| a.vpc_id()))
                .build();
            Ok(Some(live(props, tag_map(g.tags()))))
        }
        "aws_route_table" => {
            let Some(out) = found(
                p.client
                    .describe_route_tables()
                    .route_table_ids(id)
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "DescribeRouteTables")),
            )?
            else {
                return Ok(None);
            };
            let Some(t) = out.route_tables().first() else {
                return Ok(None);
            };
            let routes: Vec<Value> = t
                .routes()
                .iter()
                .filter(|r| {
                    r.origin().map(|o| o.as_str()) == Some("CreateRoute")
                        && r.gateway_id() != Some("local")
                })
                .map(|r| {
                    let gateway = r.gateway_id();
                    let endpoint = gateway.filter(|g| g.starts_with("vpce-"));
                    Obj::new()
                        .opt("cidr_block", r.destination_cidr_block())
                        .opt("ipv6_cidr_block", r.destination_ipv6_cidr_block())
                        .opt("gateway_id", gateway.filter(|_| endpoint.is_none()))
                        .opt("nat_gateway_id", r.nat_gateway_id())
                        .opt("vpc_endpoint_id", endpoint)
                        .build()
                })
                .collect();
            let mut props = Obj::new()
                .opt("vpc_id", t.vpc_id())
                .opt("route", Some(routes))
                .build();
            normalize_route_table(&mut props);
            Ok(Some(live(props, tag_map(t.tags()))))
        }
        "aws_route_table_association" => {
            let Some(out) = found(
                p.client
                    .describe_route_tables()
                    .filters(filter("association.route-table-association-id", id))
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "DescribeRouteTables")),
            )?
            else {
                return Ok(None);
            };
            let assoc = out
                .route_tables()
                .iter()
                .flat_map(|t| t.associations())
                .find(|a| a.route_table_association_id() == Some(id));
            let Some(a) = assoc else {
                return Ok(None);
            };
            let props = Obj::new()
                .opt("subnet_id", a.subnet_id())
                .opt("route_table_id", a.route_table_id())
                .build();
            Ok(Some(live(props, BTreeMap::new())))
        }
        "aws_eip" => {
            let Some(out) = found(
                p.client
                    .describe_addresses()
                    .allocation_ids(id)
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "DescribeAddresses")),
            )?
            else {
                return Ok(None);
            };
            let Some(a) = out.addresses().first() else {
                return Ok(None);
            };
            let props = Obj::new()
                .opt("domain", a.domain().map(|d| d.as_str()))
                .build();
            Ok(Some(live(props, tag_map(a.tags()))))
        }
        "aws_nat_gateway" => {
            let Some(n) = nat_gateway(p, id).await? else {
                return Ok(None);
            };
            if matches!(
                n.state(),
                Some(NatGatewayState::Deleted | NatGatewayState::Failed)
            ) {
                return Ok(None);
            }
            let props = Obj::new()
                .opt(
                    "allocation_id",
                    n.nat_gateway_addresses()
                        .first()
                        .and_then(|a| a.allocation_id()),
                )
                .opt("subnet_id", n.subnet_id())
                .opt(
                    "connectivity_type",
                    n.connectivity_type().map(|c| c.as_str()),
                )
                .build();
            Ok(Some(live(props, tag_map(n.tags()))))
        }
        "aws_network_acl" => {
            let Some(out) = found(
                p.client
                    .describe_network_acls()
                    .network_acl_ids(id)
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "DescribeNetworkAcls")),
            )?
            else {
                return Ok(None);
            };
            let Some(acl) = out.network_acls().first() else {
                return Ok(None);
            };
            let mut ingress = Vec::new();
            let mut egress = Vec::new();
            for e in acl.entries() {
                let rule_no = e.rule_number().unwrap_or_default();
                // The default deny rules every ACL carries (IPv4 and IPv6).
                if rule_no >= 32767 {
                    continue;
                }
                let range = e.port_range();
                let entry = Obj::new()
                    .opt("rule_no", Some(rule_no))
                    .opt("protocol", e.protocol())
                    .opt("action", e.rule_action().map(|a| a.as_str()))
                    .opt("cidr_block", e.cidr_block())
                    .opt("ipv6_cidr_block", e.ipv6_cidr_block())
                    .opt("from_port", Some(range.and_then(|r| r.from()).unwrap_or(0)))
                    .opt("to_port", Some(range.and_then(|r| r.to()).unwrap_or(0)))
                    .build();
                if e.egress() == Some(true) {
                    egress.push(entry);
                } else {
                    ingress.push(entry);
                }
            }
            let subnets: Vec<&str> = acl
                .associations()
                .iter()
                .filter_map(|a| a.subnet_id())
                .collect();
            let mut props = Obj::new()
                .opt("vpc_id", acl.vpc_id())
                .opt("subnet_ids", Some(subnets))
                .opt("ingress", Some(ingress))
                .opt("egress", Some(egress))
                .build();
            normalize_network_acl(&mut props);
            Ok(Some(live(props, tag_map(acl.tags()))))
        }
        other => Err(ProviderError::Invalid {
            resource: handle.provider_id.clone(),
            message: format!("type `{other}` is not an EC2 type"),
        }),
    }
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
    let mut handle = handle.clone();
    match d.type_name.as_str() {
        "aws_vpc" => set_vpc_dns(p, id, props, false).await?,
        "aws_subnet" if has("map_public_ip_on_launch") => {
            let on = field_bool(props, "map_public_ip_on_launch").unwrap_or(false);
            set_map_public_ip(p, id, on).await?;
        }
        "aws_internet_gateway" if has("vpc_id") => {
            let live = read(p, &d.type_name, &handle).await?;
            if let Some(old) = live
                .as_ref()
                .and_then(|l| field_str(&l.properties, "vpc_id"))
            {
                detach_igw(p, id, old).await?;
            }
            if let Some(vpc) = field_str(props, "vpc_id") {
                attach_igw(p, id, vpc).await?;
            }
        }
        "aws_route_table" if has("route") => {
            let live = read(p, &d.type_name, &handle).await?;
            let old = live
                .as_ref()
                .and_then(|l| l.properties.get("route"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let old: BTreeMap<(String, String), Value> =
                old.into_iter().map(|r| (route_key(&r), r)).collect();
            let new: BTreeMap<(String, String), Value> = routes_of(d)?
                .into_iter()
                .map(|r| (route_key(&r), r))
                .collect();
            for (key, route) in &old {
                if !new.contains_key(key) {
                    delete_route(p, id, route).await?;
                }
            }
            for (key, route) in &new {
                match old.get(key) {
                    None => put_route(p, id, route, false).await?,
                    Some(o) if o != route => put_route(p, id, route, true).await?,
                    Some(_) => {}
                }
            }
        }
        "aws_route_table_association" if has("route_table_id") => {
            let out = p
                .client
                .replace_route_table_association()
                .association_id(id)
                .route_table_id(d.str_prop("route_table_id")?)
                .send()
                .await
                .map_err(api_err(SERVICE, "ReplaceRouteTableAssociation"))?;
            let new_id = out.new_association_id().ok_or_else(|| {
                ProviderError::missing(SERVICE, "ReplaceRouteTableAssociation", "NewAssociationId")
            })?;
            handle = Handle::new(new_id);
        }
        "aws_network_acl" => {
            let live = read(p, &d.type_name, &handle)
                .await?
                .ok_or_else(|| invalid(d, format!("network ACL {id} no longer exists")))?;
            if has("ingress") || has("egress") {
                let key = |e: &Value| {
                    (
                        field_bool(e, "egress") == Some(true),
                        field_i64(e, "rule_no").unwrap_or_default(),
                    )
                };
                let old: BTreeMap<(bool, i64), Value> = entries_with_direction(&live.properties)
                    .into_iter()
                    .map(|e| (key(&e), e))
                    .collect();
                let new: BTreeMap<(bool, i64), Value> = acl_entries_of(d)?
                    .into_iter()
                    .map(|e| (key(&e), e))
                    .collect();
                for ((egress, rule_no), _) in old.iter().filter(|(k, _)| !new.contains_key(*k)) {
                    p.client
                        .delete_network_acl_entry()
                        .network_acl_id(id)
                        .egress(*egress)
                        .rule_number(i32::try_from(*rule_no).unwrap_or_default())
                        .send()
                        .await
                        .map_err(api_err(SERVICE, "DeleteNetworkAclEntry"))?;
                }
                for (k, entry) in &new {
                    match old.get(k) {
                        None => put_acl_entry(p, id, entry, false).await?,
                        Some(o) if o != entry => put_acl_entry(p, id, entry, true).await?,
                        Some(_) => {}
                    }
                }
            }
            if has("subnet_ids") {
                let old = strings_of(&live.properties, "subnet_ids");
                let new = strings_of(props, "subnet_ids");
                let vpc = field_str(&live.properties, "vpc_id").unwrap_or_default();
                for s in old.iter().filter(|s| !new.contains(s)) {
                    let default = default_acl(p, vpc).await?;
                    move_subnet_acl(p, s, &default).await?;
                }
                for s in new.iter().filter(|s| !old.contains(s)) {
                    move_subnet_acl(p, s, id).await?;
                }
            }
        }
        _ => {}
    }
    if has("tags") && d.type_name != "aws_route_table_association" {
        let live = read(p, &d.type_name, &handle)
            .await?
            .ok_or_else(|| invalid(d, format!("{} no longer exists", handle.provider_id)))?;
        sync_tags(p, &handle.provider_id, &live.tags, d).await?;
    }
    Ok(handle)
}

pub(super) async fn delete(
    p: &Ec2Provider,
    type_name: &str,
    handle: &Handle,
) -> Result<(), ProviderError> {
    let id = handle.provider_id.as_str();
    match type_name {
        "aws_vpc" => {
            p.client
                .delete_vpc()
                .vpc_id(id)
                .send()
                .await
                .map_err(api_err(SERVICE, "DeleteVpc"))?;
        }
        "aws_subnet" => {
            p.client
                .delete_subnet()
                .subnet_id(id)
                .send()
                .await
                .map_err(api_err(SERVICE, "DeleteSubnet"))?;
        }
        "aws_internet_gateway" => {
            if let Some(live) = read(p, type_name, handle).await?
                && let Some(vpc) = field_str(&live.properties, "vpc_id")
            {
                detach_igw(p, id, vpc).await?;
            }
            p.client
                .delete_internet_gateway()
                .internet_gateway_id(id)
                .send()
                .await
                .map_err(api_err(SERVICE, "DeleteInternetGateway"))?;
        }
        "aws_route_table" => {
            p.client
                .delete_route_table()
                .route_table_id(id)
                .send()
                .await
                .map_err(api_err(SERVICE, "DeleteRouteTable"))?;
        }
        "aws_route_table_association" => {
            p.client
                .disassociate_route_table()
                .association_id(id)
                .send()
                .await
                .map_err(api_err(SERVICE, "DisassociateRouteTable"))?;
        }
        "aws_eip" => {
            p.client
                .release_address()
                .allocation_id(id)
                .send()
                .await
                .map_err(api_err(SERVICE, "ReleaseAddress"))?;
        }
        "aws_nat_gateway" => {
            p.client
                .delete_nat_gateway()
                .nat_gateway_id(id)
                .send()
                .await
                .map_err(api_err(SERVICE, "DeleteNatGateway"))?;
            // Its address and subnet stay in use until it is gone.
            wait_for(
                "DescribeNatGateways",
                &format!("NAT gateway {id} to be deleted"),
                p.settle_timeout,
                || async {
                    Ok(nat_gateway(p, id)
                        .await?
                        .is_none_or(|n| n.state() == Some(&NatGatewayState::Deleted)))
                },
            )
            .await?;
        }
        "aws_network_acl" => {
            if let Some(live) = read(p, type_name, handle).await? {
                let subnets = strings_of(&live.properties, "subnet_ids");
                if !subnets.is_empty() {
                    let vpc = field_str(&live.properties, "vpc_id").unwrap_or_default();
                    let default = default_acl(p, vpc).await?;
                    for s in &subnets {
                        move_subnet_acl(p, s, &default).await?;
                    }
                }
            }
            p.client
                .delete_network_acl()
                .network_acl_id(id)
                .send()
                .await
                .map_err(api_err(SERVICE, "DeleteNetworkAcl"))?;
        }
        other => {
            return Err(ProviderError::Invalid {
                resource: id.to_owned(),
                message: format!("type `{other}` is not an EC2 type"),
            });
        }
    }
    Ok(())
}

pub(super) async fn find(p: &Ec2Provider, d: &Desired) -> Result<Option<Handle>, ProviderError> {
    let tagged = owner_filter(d);
    let id: Option<String> = match d.type_name.as_str() {
        "aws_vpc" => p
            .client
            .describe_vpcs()
            .filters(tagged)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeVpcs"))?
            .vpcs()
            .first()
            .and_then(|v| v.vpc_id().map(str::to_owned)),
        "aws_subnet" => p
            .client
            .describe_subnets()
            .filters(tagged)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeSubnets"))?
            .subnets()
            .first()
            .and_then(|v| v.subnet_id().map(str::to_owned)),
        "aws_internet_gateway" => p
            .client
            .describe_internet_gateways()
            .filters(tagged)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeInternetGateways"))?
            .internet_gateways()
            .first()
            .and_then(|v| v.internet_gateway_id().map(str::to_owned)),
        "aws_route_table" => p
            .client
            .describe_route_tables()
            .filters(tagged)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeRouteTables"))?
            .route_tables()
            .first()
            .and_then(|v| v.route_table_id().map(str::to_owned)),
        "aws_route_table_association" => {
            // Untaggable: the association of this subnet with this table is unique.
            let subnet = d.str_prop("subnet_id")?;
            found(
                p.client
                    .describe_route_tables()
                    .route_table_ids(d.str_prop("route_table_id")?)
                    .send()
                    .await
                    .map_err(api_err(SERVICE, "DescribeRouteTables")),
            )?
            .and_then(|out| {
                out.route_tables()
                    .iter()
                    .flat_map(|t| t.associations())
                    .find(|a| a.subnet_id() == Some(subnet))
                    .and_then(|a| a.route_table_association_id().map(str::to_owned))
            })
        }
        "aws_eip" => p
            .client
            .describe_addresses()
            .filters(tagged)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeAddresses"))?
            .addresses()
            .first()
            .and_then(|v| v.allocation_id().map(str::to_owned)),
        "aws_nat_gateway" => p
            .client
            .describe_nat_gateways()
            .filter(tagged)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeNatGateways"))?
            .nat_gateways()
            .iter()
            .find(|n| {
                !matches!(
                    n.state(),
                    Some(
                        NatGatewayState::Deleted
                            | NatGatewayState::Deleting
                            | NatGatewayState::Failed
                    )
                )
            })
            .and_then(|v| v.nat_gateway_id().map(str::to_owned)),
        "aws_network_acl" => p
            .client
            .describe_network_acls()
            .filters(tagged)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeNetworkAcls"))?
            .network_acls()
            .first()
            .and_then(|v| v.network_acl_id().map(str::to_owned)),
        other => return Err(invalid(d, format!("type `{other}` is not an EC2 type"))),
    };
    Ok(id.map(Handle::new))
}

/// Routes sorted by destination, each with only the keys it sets.
pub(super) fn normalize_route_table(props: &mut Value) {
    if let Some(Value::Array(routes)) = props.get_mut("route") {
        for r in routes.iter_mut() {
            drop_empty(r);
        }
        routes.sort_by_key(route_key);
    }
}

/// Rules sorted by number, protocols by name (`tcp`, `udp`, `icmp`, `-1` for all), ports 0
/// for "all protocols"; subnets sorted.
pub(super) fn normalize_network_acl(props: &mut Value) {
    for dir in ["ingress", "egress"] {
        if let Some(Value::Array(entries)) = props.get_mut(dir) {
            for e in entries.iter_mut() {
                drop_empty(e);
                if let Some(Value::String(proto)) = e.get_mut("protocol") {
                    *proto = protocol_name(proto).to_owned();
                }
                if field_str(e, "protocol") == Some("-1")
                    && let Value::Object(m) = e
                {
                    m.insert("from_port".into(), json!(0));
                    m.insert("to_port".into(), json!(0));
                }
            }
            entries.sort_by_key(|e| field_i64(e, "rule_no").unwrap_or_default());
        }
    }
    if let Some(Value::Array(subnets)) = props.get_mut("subnet_ids") {
        subnets.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
}

/// `6` → `tcp`, `17` → `udp`, `1` → `icmp`, `all` → `-1`; anything else as given.
pub(super) fn protocol_name(p: &str) -> &str {
    match p.to_ascii_lowercase().as_str() {
        "6" | "tcp" => "tcp",
        "17" | "udp" => "udp",
        "1" | "icmp" => "icmp",
        "58" | "icmpv6" => "icmpv6",
        "-1" | "all" => "-1",
        _ => p,
    }
}

/// The protocol number network ACL entries take.
fn protocol_number(p: &str) -> &str {
    match protocol_name(p) {
        "tcp" => "6",
        "udp" => "17",
        "icmp" => "1",
        "icmpv6" => "58",
        other => other,
    }
}

fn drop_empty(v: &mut Value) {
    if let Value::Object(m) = v {
        m.retain(|_, x| match x {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        });
    }
}

fn route_key(r: &Value) -> (String, String) {
    (
        field_str(r, "cidr_block").unwrap_or_default().to_owned(),
        field_str(r, "ipv6_cidr_block")
            .unwrap_or_default()
            .to_owned(),
    )
}

fn routes_of(d: &Desired) -> Result<Vec<Value>, ProviderError> {
    let mut props = d.properties.clone();
    normalize_route_table(&mut props);
    let routes = match props.get("route") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(invalid(d, "`route` must be a list")),
    };
    for r in &routes {
        if field_str(r, "cidr_block").is_none() && field_str(r, "ipv6_cidr_block").is_none() {
            return Err(invalid(
                d,
                "every route needs `cidr_block` or `ipv6_cidr_block`",
            ));
        }
    }
    Ok(routes)
}

async fn put_route(
    p: &Ec2Provider,
    table: &str,
    r: &Value,
    replace: bool,
) -> Result<(), ProviderError> {
    let cidr = field_str(r, "cidr_block").map(str::to_owned);
    let cidr6 = field_str(r, "ipv6_cidr_block").map(str::to_owned);
    let gateway = field_str(r, "gateway_id").map(str::to_owned);
    let nat = field_str(r, "nat_gateway_id").map(str::to_owned);
    let endpoint = field_str(r, "vpc_endpoint_id").map(str::to_owned);
    if replace {
        // ReplaceRoute has no VpcEndpointId: an endpoint route is a gateway route.
        p.client
            .replace_route()
            .route_table_id(table)
            .set_destination_cidr_block(cidr)
            .set_destination_ipv6_cidr_block(cidr6)
            .set_gateway_id(gateway.or(endpoint))
            .set_nat_gateway_id(nat)
            .send()
            .await
            .map_err(api_err(SERVICE, "ReplaceRoute"))?;
    } else {
        p.client
            .create_route()
            .route_table_id(table)
            .set_destination_cidr_block(cidr)
            .set_destination_ipv6_cidr_block(cidr6)
            .set_gateway_id(gateway)
            .set_nat_gateway_id(nat)
            .set_vpc_endpoint_id(endpoint)
            .send()
            .await
            .map_err(api_err(SERVICE, "CreateRoute"))?;
    }
    Ok(())
}

async fn delete_route(p: &Ec2Provider, table: &str, r: &Value) -> Result<(), ProviderError> {
    p.client
        .delete_route()
        .route_table_id(table)
        .set_destination_cidr_block(field_str(r, "cidr_block").map(str::to_owned))
        .set_destination_ipv6_cidr_block(field_str(r, "ipv6_cidr_block").map(str::to_owned))
        .send()
        .await
        .map_err(api_err(SERVICE, "DeleteRoute"))?;
    Ok(())
}

/// The desired entries, canonical, each marked with its direction (`egress: bool`).
fn acl_entries_of(d: &Desired) -> Result<Vec<Value>, ProviderError> {
    let mut props = d.properties.clone();
    normalize_network_acl(&mut props);
    for dir in ["ingress", "egress"] {
        for e in props
            .get(dir)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if field_i64(e, "rule_no").is_none() || field_str(e, "protocol").is_none() {
                return Err(invalid(
                    d,
                    format!("every `{dir}` entry needs `rule_no` and `protocol`"),
                ));
            }
            i32_of(d, e, "from_port")?;
            i32_of(d, e, "to_port")?;
        }
    }
    Ok(entries_with_direction(&props))
}

fn entries_with_direction(props: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for (dir, egress) in [("ingress", false), ("egress", true)] {
        for e in props
            .get(dir)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let mut e = e.clone();
            if let Value::Object(m) = &mut e {
                m.insert("egress".into(), Value::Bool(egress));
            }
            out.push(e);
        }
    }
    out
}

async fn put_acl_entry(
    p: &Ec2Provider,
    acl: &str,
    e: &Value,
    replace: bool,
) -> Result<(), ProviderError> {
    let rule_no = i32::try_from(field_i64(e, "rule_no").unwrap_or_default()).unwrap_or_default();
    let protocol = protocol_number(field_str(e, "protocol").unwrap_or("-1")).to_owned();
    let ports = PortRange::builder()
        .from(i32::try_from(field_i64(e, "from_port").unwrap_or(0)).unwrap_or_default())
        .to(i32::try_from(field_i64(e, "to_port").unwrap_or(0)).unwrap_or_default())
        .build();
    let action = RuleAction::from(field_str(e, "action").unwrap_or("allow"));
    let egress = field_bool(e, "egress") == Some(true);
    let cidr = field_str(e, "cidr_block").map(str::to_owned);
    let cidr6 = field_str(e, "ipv6_cidr_block").map(str::to_owned);
    if replace {
        p.client
            .replace_network_acl_entry()
            .network_acl_id(acl)
            .rule_number(rule_no)
            .protocol(protocol)
            .rule_action(action)
            .egress(egress)
            .set_cidr_block(cidr)
            .set_ipv6_cidr_block(cidr6)
            .port_range(ports)
            .send()
            .await
            .map_err(api_err(SERVICE, "ReplaceNetworkAclEntry"))?;
    } else {
        p.client
            .create_network_acl_entry()
            .network_acl_id(acl)
            .rule_number(rule_no)
            .protocol(protocol)
            .rule_action(action)
            .egress(egress)
            .set_cidr_block(cidr)
            .set_ipv6_cidr_block(cidr6)
            .port_range(ports)
            .send()
            .await
            .map_err(api_err(SERVICE, "CreateNetworkAclEntry"))?;
    }
    Ok(())
}

/// Moves `subnet` from whichever ACL holds it now to `acl` (every subnet has exactly one).
async fn move_subnet_acl(p: &Ec2Provider, subnet: &str, acl: &str) -> Result<(), ProviderError> {
    let out = p
        .client
        .describe_network_acls()
        .filters(filter("association.subnet-id", subnet))
        .send()
        .await
        .map_err(api_err(SERVICE, "DescribeNetworkAcls"))?;
    let assoc = out
        .network_acls()
        .iter()
        .flat_map(|a| a.associations())
        .find(|a| a.subnet_id() == Some(subnet))
        .and_then(|a| a.network_acl_association_id())
        .ok_or_else(|| ProviderError::Api {
            service: super::SERVICE,
            operation: "DescribeNetworkAcls",
            code: None,
            status: None,
            message: format!("subnet {subnet} has no network ACL association"),
        })?;
    p.client
        .replace_network_acl_association()
        .association_id(assoc)
        .network_acl_id(acl)
        .send()
        .await
        .map_err(api_err(SERVICE, "ReplaceNetworkAclAssociation"))?;
    Ok(())
}

async fn default_acl(p: &Ec2Provider, vpc: &str) -> Result<String, ProviderError> {
    p.client
        .describe_network_acls()
        .filters(filter("vpc-id", vpc))
        .filters(filter("default", "true"))
        .send()
        .await
        .map_err(api_err(SERVICE, "DescribeNetworkAcls"))?
        .network_acls()
        .first()
        .and_then(|a| a.network_acl_id().map(str::to_owned))
        .ok_or_else(|| {
            ProviderError::missing(
                SERVICE,
                "DescribeNetworkAcls",
                "the VPC's default network ACL",
            )
        })
}

async fn nat_gateway(
    p: &Ec2Provider,
    id: &str,
) -> Result<Option<aws_sdk_ec2::types::NatGateway>, ProviderError> {
    Ok(found(
        p.client
            .describe_nat_gateways()
            .nat_gateway_ids(id)
            .send()
            .await
            .map_err(api_err(SERVICE, "DescribeNatGateways")),
    )?
    .and_then(|out| out.nat_gateways().first().cloned()))
}

/// Sets the VPC's DNS attributes (one per call, as EC2 requires); on create only those the
/// document gives.
async fn set_vpc_dns(
    p: &Ec2Provider,
    vpc: &str,
    props: &Value,
    creating: bool,
) -> Result<(), ProviderError> {
    for (key, name) in [
        ("enable_dns_support", VpcAttributeName::EnableDnsSupport),
        ("enable_dns_hostnames", VpcAttributeName::EnableDnsHostnames),
    ] {
        let Some(want) = field_bool(props, key) else {
            continue;
        };
        if !creating && vpc_attribute(p, vpc, name.clone()).await? == Some(want) {
            continue;
        }
        let value = AttributeBooleanValue::builder().value(want).build();
        let call = p.client.modify_vpc_attribute().vpc_id(vpc);
        let call = match name {
            VpcAttributeName::EnableDnsSupport => call.enable_dns_support(value),
            _ => call.enable_dns_hostnames(value),
        };
        call.send()
            .await
            .map_err(api_err(SERVICE, "ModifyVpcAttribute"))?;
    }
    Ok(())
}

async fn vpc_attribute(
    p: &Ec2Provider,
    vpc: &str,
    name: VpcAttributeName,
) -> Result<Option<bool>, ProviderError> {
    let out = p
        .client
        .describe_vpc_attribute()
        .vpc_id(vpc)
        .attribute(name.clone())
        .send()
        .await
        .map_err(api_err(SERVICE, "DescribeVpcAttribute"))?;
    let v = match name {
        VpcAttributeName::EnableDnsSupport => out.enable_dns_support(),
        _ => out.enable_dns_hostnames(),
    };
    Ok(v.and_then(|b| b.value()))
}

async fn set_map_public_ip(p: &Ec2Provider, subnet: &str, on: bool) -> Result<(), ProviderError> {
    p.client
        .modify_subnet_attribute()
        .subnet_id(subnet)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build())
        .send()
        .await
        .map_err(api_err(SERVICE, "ModifySubnetAttribute"))?;
    Ok(())
}

async fn attach_igw(p: &Ec2Provider, igw: &str, vpc: &str) -> Result<(), ProviderError> {
    p.client
        .attach_internet_gateway()
        .internet_gateway_id(igw)
        .vpc_id(vpc)
        .send()
        .await
        .map_err(api_err(SERVICE, "AttachInternetGateway"))?;
    Ok(())
}

async fn detach_igw(p: &Ec2Provider, igw: &str, vpc: &str) -> Result<(), ProviderError> {
    p.client
        .detach_internet_gateway()
        .internet_gateway_id(igw)
        .vpc_id(vpc)
        .send()
        .await
        .map_err(api_err(SERVICE, "DetachInternetGateway"))?;
    Ok(())
}
