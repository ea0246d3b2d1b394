//! Shared by the EC2, KMS, SNS and CloudWatch Logs round-trip tests: documents, and the
//! field-by-field comparison a plan makes (desired normalised, write-only fields skipped).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use serde_json::Value;
use tollgate_providers::{Desired, Live, Provider};

pub fn desired(id: &str, type_name: &str, properties: Value, tags: &[(&str, &str)]) -> Desired {
    Desired {
        stack: "t".into(),
        id: id.into(),
        type_name: type_name.into(),
        properties,
        tags: tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// The top-level properties (and `tags`) where `live` differs from `d`.
pub fn differences(p: &dyn Provider, d: &Desired, live: &Live) -> Vec<String> {
    let mut want = d.properties.clone();
    p.normalize(&d.type_name, &mut want);
    let skip = p.write_only(&d.type_name);
    let mut out: Vec<String> = want
        .as_object()
        .expect("properties are an object")
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .filter(|(k, v)| live.properties.get(k.as_str()) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    if live.tags != d.tags {
        out.push("tags".into());
    }
    out
}

/// Reads `d` back and asserts it matches field by field.
pub async fn assert_live(p: &dyn Provider, d: &Desired, h: &tollgate_providers::Handle) -> Live {
    let live = p
        .read(&d.type_name, h)
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("{} is gone", d.id));
    let diff = differences(p, d, &live);
    assert!(
        diff.is_empty(),
        "{}: live differs in {diff:?}\nlive: {:#}\ntags: {:?}",
        d.id,
        live.properties,
        live.tags
    );
    live
}

/// Applies `d` to `h` (as a plan would: the differing fields), then asserts the read-back.
pub async fn update(
    p: &dyn Provider,
    d: &Desired,
    h: &tollgate_providers::Handle,
) -> tollgate_providers::Handle {
    let live = p
        .read(&d.type_name, h)
        .await
        .expect("read")
        .expect("exists");
    let changed = differences(p, d, &live);
    assert!(!changed.is_empty(), "{}: the update changes nothing", d.id);
    let h = p.update(d, h, &changed).await.expect("update");
    assert_live(p, d, &h).await;
    h
}

pub async fn assert_gone(p: &dyn Provider, type_name: &str, h: &tollgate_providers::Handle) {
    p.delete(type_name, h).await.expect("delete");
    assert!(
        p.read(type_name, h).await.expect("read").is_none(),
        "{type_name} {} still exists",
        h.provider_id
    );
    // Deleting again succeeds.
    p.delete(type_name, h).await.expect("second delete");
}

/// What the data stores' stacks reference, made in moto: a VPC `10.<octet>.0.0/16`, one subnet
/// per zone in `zones` (in that order), a security group per name in `groups`, and a KMS key.
pub struct Network {
    pub vpc: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub key_arn: String,
}

pub async fn network(
    clients: &tollgate_providers::aws::AwsClients,
    octet: u8,
    zones: &[&str],
    groups: &[&str],
) -> Network {
    let vpc = clients
        .ec2
        .create_vpc()
        .cidr_block(format!("10.{octet}.0.0/16"))
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    let mut subnets = Vec::new();
    for (i, zone) in zones.iter().enumerate() {
        let s = clients
            .ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.{octet}.{i}.0/24"))
            .availability_zone(*zone)
            .send()
            .await
            .unwrap();
        subnets.push(s.subnet().unwrap().subnet_id().unwrap().to_owned());
    }
    let mut security_groups = Vec::new();
    for name in groups {
        let g = clients
            .ec2
            .create_security_group()
            .group_name(*name)
            .description(*name)
            .vpc_id(&vpc)
            .send()
            .await
            .unwrap();
        security_groups.push(g.group_id().unwrap().to_owned());
    }
    let key_arn = clients
        .kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    Network {
        vpc,
        subnets,
        security_groups,
        key_arn,
    }
}
