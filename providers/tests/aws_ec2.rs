//! EC2 provider round trips against moto's server: create → read back equals the document →
//! update → read → delete → gone, and find() by the owner tag, for each networking type in one
//! chain (VPC → subnets → gateway → route tables → associations → security group → network
//! ACL → Elastic IP → NAT gateway), for a flow log, a launch template and an instance.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ec2_kms_support;

use ec2_kms_support::{assert_gone, assert_live, desired, update};
use serde_json::json;
use tollgate_providers::Provider;
use tollgate_providers::aws::AwsClients;
use tollgate_providers::aws::ec2::Ec2Provider;
use tollgate_testkit::Moto;

const TAGS: &[(&str, &str)] = &[("owner", "platform"), ("environment", "prod")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networking_chain_round_trips() {
    let moto = Moto::start();
    let clients = AwsClients::from_sdk(moto.sdk_config());
    let p = Ec2Provider::new(clients.ec2.clone());

    // VPC
    let mut vpc = desired(
        "vpc",
        "aws_vpc",
        json!({"cidr_block": "10.0.0.0/16", "enable_dns_support": true,
               "enable_dns_hostnames": true, "instance_tenancy": "default"}),
        TAGS,
    );
    let vpc_h = p.create(&vpc).await.expect("create vpc");
    assert!(vpc_h.reference.starts_with("vpc-"));
    assert_live(&p, &vpc, &vpc_h).await;
    assert_eq!(p.find(&vpc).await.unwrap(), Some(vpc_h.clone()));
    vpc.properties["enable_dns_hostnames"] = json!(false);
    vpc.tags.insert("cost-center".into(), "cc-platform".into());
    vpc.tags.remove("environment");
    update(&p, &vpc, &vpc_h).await;
    let vpc_id = vpc_h.reference.clone();

    // Subnets
    let subnet = |id: &str, cidr: &str, az: &str| {
        desired(
            id,
            "aws_subnet",
            json!({"vpc_id": vpc_id, "cidr_block": cidr, "availability_zone": az,
                   "map_public_ip_on_launch": false}),
            TAGS,
        )
    };
    let mut sub_a = subnet("public-a", "10.0.0.0/22", "eu-west-1a");
    let sub_b = subnet("public-b", "10.0.4.0/22", "eu-west-1b");
    let a_h = p.create(&sub_a).await.expect("create subnet a");
    let b_h = p.create(&sub_b).await.expect("create subnet b");
    assert_live(&p, &sub_a, &a_h).await;
    assert_live(&p, &sub_b, &b_h).await;
    assert_eq!(p.find(&sub_b).await.unwrap(), Some(b_h.clone()));
    sub_a.properties["map_public_ip_on_launch"] = json!(true);
    update(&p, &sub_a, &a_h).await;
    assert_eq!(
        p.replace_on_change("aws_subnet"),
        &["vpc_id", "cidr_block", "availability_zone"]
    );

    // Internet gateway
    let igw = desired(
        "igw",
        "aws_internet_gateway",
        json!({"vpc_id": vpc_id}),
        TAGS,
    );
    let igw_h = p.create(&igw).await.expect("create igw");
    assert_live(&p, &igw, &igw_h).await;
    assert_eq!(p.find(&igw).await.unwrap(), Some(igw_h.clone()));

    // Route tables: routes in document order; the read comes back in canonical order.
    let mut rt = desired(
        "public-rt",
        "aws_route_table",
        json!({"vpc_id": vpc_id, "route": [
            {"ipv6_cidr_block": "::/0", "gateway_id": igw_h.reference},
            {"cidr_block": "0.0.0.0/0", "gateway_id": igw_h.reference}
        ]}),
        TAGS,
    );
    let rt_h = p.create(&rt).await.expect("create route table");
    assert_live(&p, &rt, &rt_h).await;
    assert_eq!(p.find(&rt).await.unwrap(), Some(rt_h.clone()));
    rt.properties["route"] = json!([
        {"cidr_block": "0.0.0.0/0", "gateway_id": igw_h.reference},
        {"cidr_block": "192.168.0.0/16", "gateway_id": igw_h.reference}
    ]);
    update(&p, &rt, &rt_h).await;
    let rt2 = desired(
        "private-rt",
        "aws_route_table",
        json!({"vpc_id": vpc_id, "route": []}),
        TAGS,
    );
    let rt2_h = p.create(&rt2).await.expect("create second route table");
    assert_live(&p, &rt2, &rt2_h).await;

    // Association: moving it to another table is an in-place change with a new id.
    let mut assoc = desired(
        "public-a-rta",
        "aws_route_table_association",
        json!({"subnet_id": a_h.reference, "route_table_id": rt_h.reference}),
        &[],
    );
    let assoc_h = p.create(&assoc).await.expect("associate");
    assert_live(&p, &assoc, &assoc_h).await;
    assert_eq!(p.find(&assoc).await.unwrap(), Some(assoc_h.clone()));
    assoc.properties["route_table_id"] = json!(rt2_h.reference);
    let assoc_h = update(&p, &assoc, &assoc_h).await;

    // Security group referencing the VPC; rules given out of order and with protocol numbers.
    let mut sg = desired(
        "edge-sg",
        "aws_security_group",
        json!({"name": "wer1-prod-edge", "description": "HTTPS only", "vpc_id": vpc_id,
               "ingress": [{"description": "HTTPS from the internet", "from_port": 443,
                            "to_port": 443, "protocol": "6", "cidr_blocks": ["0.0.0.0/0"],
                            "ipv6_cidr_blocks": ["::/0"]}],
               "egress": [{"description": "Istio health", "from_port": 15021, "to_port": 15021,
                           "protocol": "tcp", "cidr_blocks": ["10.0.0.0/16"]},
                          {"description": "To pods", "from_port": 8443, "to_port": 8443,
                           "protocol": "tcp", "cidr_blocks": ["10.0.0.0/16"]}],
               "revoke_rules_on_delete": true}),
        TAGS,
    );
    let sg_h = p.create(&sg).await.expect("create security group");
    // The default allow-all egress is gone: the read equals the document.
    assert_live(&p, &sg, &sg_h).await;
    assert_eq!(
        p.find(&sg).await.unwrap().map(|h| h.provider_id),
        Some(sg_h.provider_id.clone())
    );
    sg.properties["ingress"] = json!([
        {"description": "HTTPS from the internet", "from_port": 443, "to_port": 443,
         "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]},
        {"description": "SSH from the VPN", "from_port": 22, "to_port": 22, "protocol": "tcp",
         "cidr_blocks": ["10.100.0.0/22"], "self": true}
    ]);
    let sg_h = update(&p, &sg, &sg_h).await;

    // Network ACL holding both subnets.
    let mut acl = desired(
        "public-nacl",
        "aws_network_acl",
        json!({"vpc_id": vpc_id, "subnet_ids": [b_h.reference, a_h.reference],
               "ingress": [
                 {"rule_no": 110, "protocol": "tcp", "action": "allow", "cidr_block": "10.100.0.0/22", "from_port": 22, "to_port": 22},
                 {"rule_no": 100, "protocol": "tcp", "action": "allow", "cidr_block": "0.0.0.0/0", "from_port": 443, "to_port": 443},
                 {"rule_no": 101, "protocol": "tcp", "action": "allow", "ipv6_cidr_block": "::/0", "from_port": 443, "to_port": 443}],
               "egress": [{"rule_no": 100, "protocol": "-1", "action": "allow", "cidr_block": "0.0.0.0/0", "from_port": 0, "to_port": 0}]}),
        TAGS,
    );
    let acl_h = p.create(&acl).await.expect("create network acl");
    assert_live(&p, &acl, &acl_h).await;
    assert_eq!(p.find(&acl).await.unwrap(), Some(acl_h.clone()));
    acl.properties["subnet_ids"] = json!([a_h.reference]);
    acl.properties["ingress"] = json!([
        {"rule_no": 100, "protocol": "tcp", "action": "allow", "cidr_block": "0.0.0.0/0", "from_port": 443, "to_port": 443},
        {"rule_no": 110, "protocol": "udp", "action": "deny", "cidr_block": "10.100.0.0/22", "from_port": 53, "to_port": 53}
    ]);
    update(&p, &acl, &acl_h).await;

    // Elastic IP and NAT gateway.
    let eip = desired("nat-eip-a", "aws_eip", json!({"domain": "vpc"}), TAGS);
    let eip_h = p.create(&eip).await.expect("allocate eip");
    assert!(eip_h.reference.starts_with("eipalloc-"));
    assert_live(&p, &eip, &eip_h).await;
    assert_eq!(
        p.find(&eip).await.unwrap().map(|h| h.provider_id),
        Some(eip_h.provider_id.clone())
    );
    let mut nat = desired(
        "nat-a",
        "aws_nat_gateway",
        json!({"allocation_id": eip_h.reference, "subnet_id": a_h.reference,
               "connectivity_type": "public"}),
        TAGS,
    );
    let nat_h = p.create(&nat).await.expect("create nat gateway");
    assert_live(&p, &nat, &nat_h).await;
    assert_eq!(p.find(&nat).await.unwrap(), Some(nat_h.clone()));
    nat.tags.insert("Name".into(), "nat-a".into());
    update(&p, &nat, &nat_h).await;

    // A NAT route on the private table.
    let mut rt2 = rt2;
    rt2.properties["route"] =
        json!([{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat_h.reference}]);
    update(&p, &rt2, &rt2_h).await;

    // Tear down in reverse dependency order.
    assert_gone(&p, "aws_route_table_association", &assoc_h).await;
    assert_gone(&p, "aws_route_table", &rt2_h).await;
    assert_gone(&p, "aws_nat_gateway", &nat_h).await;
    assert_gone(&p, "aws_eip", &eip_h).await;
    assert_gone(&p, "aws_network_acl", &acl_h).await;
    assert_gone(&p, "aws_security_group", &sg_h).await;
    assert_gone(&p, "aws_route_table", &rt_h).await;
    assert_gone(&p, "aws_internet_gateway", &igw_h).await;
    assert_gone(&p, "aws_subnet", &a_h).await;
    assert_gone(&p, "aws_subnet", &b_h).await;
    assert_gone(&p, "aws_vpc", &vpc_h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_round_trips() {
    let moto = Moto::start();
    let clients = AwsClients::from_sdk(moto.sdk_config());
    let p = Ec2Provider::new(clients.ec2.clone());
    let kms = tollgate_providers::aws::kms::KmsProvider::new(clients.kms.clone());

    let vpc = desired("vpc", "aws_vpc", json!({"cidr_block": "10.1.0.0/16"}), TAGS);
    let vpc_h = p.create(&vpc).await.expect("vpc");
    let sub = desired(
        "sub",
        "aws_subnet",
        json!({"vpc_id": vpc_h.reference, "cidr_block": "10.1.0.0/24"}),
        TAGS,
    );
    let sub_h = p.create(&sub).await.expect("subnet");
    let sg = |id: &str, name: &str| {
        desired(
            id,
            "aws_security_group",
            json!({"name": name, "description": "d", "vpc_id": vpc_h.reference,
                   "ingress": [], "egress": []}),
            TAGS,
        )
    };
    let sg1_h = p.create(&sg("sg1", "bastion-1")).await.expect("sg1");
    let sg2_h = p.create(&sg("sg2", "bastion-2")).await.expect("sg2");
    let key = desired(
        "key",
        "aws_kms_key",
        json!({"description": "root volume"}),
        TAGS,
    );
    let key_h = kms.create(&key).await.expect("key");

    // The document's AMI is used as given; here one the emulator knows (it has the root device
    // name the root volume settings need).
    let ami = clients
        .ec2
        .describe_images()
        .owners("amazon")
        .send()
        .await
        .expect("images")
        .images()
        .iter()
        .find_map(|i| i.image_id().map(str::to_owned))
        .expect("an AMI");
    let mut inst = desired(
        "bastion",
        "aws_instance",
        json!({"ami": ami, "instance_type": "t3.small", "subnet_id": sub_h.reference,
               "vpc_security_group_ids": [sg2_h.reference, sg1_h.reference],
               "associate_public_ip_address": true, "monitoring": true,
               "ebs_optimized": true, "disable_api_termination": false,
               "root_block_device": {"encrypted": true, "volume_size": 20, "volume_type": "gp3",
                                     "kms_key_id": key_h.reference, "delete_on_termination": true},
               "metadata_options": {"http_tokens": "required", "http_endpoint": "enabled",
                                    "http_put_response_hop_limit": 1,
                                    "instance_metadata_tags": "disabled"}}),
        &[("owner", "security"), ("Name", "bastion")],
    );
    let h = p.create(&inst).await.expect("run instance");
    assert!(h.reference.starts_with("i-"));
    assert_live(&p, &inst, &h).await;
    assert_eq!(p.find(&inst).await.unwrap(), Some(h.clone()));

    inst.properties["instance_type"] = json!("t3.medium");
    inst.properties["metadata_options"]["http_put_response_hop_limit"] = json!(2);
    inst.properties["vpc_security_group_ids"] = json!([sg1_h.reference]);
    inst.properties["disable_api_termination"] = json!(true);
    inst.tags.insert("cost-center".into(), "cc-security".into());
    update(&p, &inst, &h).await;

    // Delete lifts the termination protection the document set, then terminates.
    assert_gone(&p, "aws_instance", &h).await;
    assert_eq!(p.find(&inst).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_log_round_trips() {
    use tollgate_providers::aws::logs::LogsProvider;
    let moto = Moto::start();
    let clients = AwsClients::from_sdk(moto.sdk_config());
    let p = Ec2Provider::new(clients.ec2.clone());
    let logs = LogsProvider::new(clients.logs.clone());

    let vpc = desired("vpc", "aws_vpc", json!({"cidr_block": "10.1.0.0/16"}), TAGS);
    let vpc_h = p.create(&vpc).await.expect("create vpc");
    let group = desired(
        "flow-logs",
        "aws_cloudwatch_log_group",
        json!({"name": "/wer1/vpc/flow-logs", "retention_in_days": 30}),
        TAGS,
    );
    let group_h = logs.create(&group).await.expect("create log group");
    let role_arn = "arn:aws:iam::123456789012:role/wer1-flow-logs";

    // The shipped networking stack's flow log, references resolved.
    let mut fl = desired(
        "vpc-flow-log",
        "aws_flow_log",
        json!({"vpc_id": vpc_h.reference, "traffic_type": "ALL",
               "log_destination_type": "cloud-watch-logs",
               "log_destination": group_h.reference, "iam_role_arn": role_arn,
               "max_aggregation_interval": 60}),
        TAGS,
    );
    let h = p.create(&fl).await.expect("create flow log");
    assert!(h.provider_id.starts_with("fl-"), "{h:?}");
    let live = assert_live(&p, &fl, &h).await;
    assert_eq!(live.properties["vpc_id"], json!(vpc_h.reference));
    assert_eq!(p.find(&fl).await.unwrap(), Some(h.clone()));

    // Only tags change in place; every property is fixed at creation.
    fl.tags.insert("cost-center".into(), "cc-platform".into());
    let h = update(&p, &fl, &h).await;
    for prop in [
        "vpc_id",
        "traffic_type",
        "log_destination",
        "max_aggregation_interval",
    ] {
        assert!(
            p.replace_on_change("aws_flow_log").contains(&prop),
            "{prop} must force a replacement"
        );
    }
    let mut changed = fl.clone();
    changed.properties["traffic_type"] = json!("REJECT");
    let err = p
        .update(&changed, &h, &["traffic_type".into()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("replaced"), "{err}");

    // Properties the provider does not know, or two watched resources, are refused.
    let mut odd = fl.clone();
    odd.id = "odd".into();
    odd.properties["destination_options"] = json!({"file_format": "parquet"});
    let err = p.create(&odd).await.unwrap_err();
    assert!(err.to_string().contains("destination_options"), "{err}");
    odd.properties = json!({"vpc_id": vpc_h.reference, "subnet_id": "subnet-1"});
    let err = p.create(&odd).await.unwrap_err();
    assert!(err.to_string().contains("exactly one"), "{err}");

    assert_gone(&p, "aws_flow_log", &h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_template_round_trips() {
    let moto = Moto::start();
    let clients = AwsClients::from_sdk(moto.sdk_config());
    let p = Ec2Provider::new(clients.ec2.clone());
    let vpc = desired("vpc", "aws_vpc", json!({"cidr_block": "10.2.0.0/16"}), TAGS);
    let vpc_h = p.create(&vpc).await.expect("create vpc");
    let sg = desired(
        "runner-sg",
        "aws_security_group",
        json!({"name": "runner", "description": "runners", "vpc_id": vpc_h.reference}),
        TAGS,
    );
    let sg_h = p.create(&sg).await.expect("create sg");

    // The shipped github-runner stack's template, references resolved.
    let mut lt = desired(
        "runner-lt",
        "aws_launch_template",
        json!({
            "name": "wer1-prod-github-runner",
            "description": "Ephemeral GitHub Actions runner",
            "image_id": "ami-0f7d2e9b3c6a15e48",
            "instance_type": "m6i.xlarge",
            "update_default_version": true,
            "ebs_optimized": true,
            "iam_instance_profile": {"name": "wer1-prod-github-runner"},
            "block_device_mappings": [{"device_name": "/dev/xvda", "ebs": {
                "encrypted": true, "volume_size": 100, "volume_type": "gp3",
                "kms_key_id": "arn:aws:kms:eu-west-1:123456789012:key/runner",
                "delete_on_termination": true, "iops": 3000, "throughput": 250}}],
            "network_interfaces": [{"associate_public_ip_address": false,
                "security_groups": [sg_h.reference], "delete_on_termination": true,
                "device_index": 0}],
            "metadata_options": {"http_tokens": "required", "http_endpoint": "enabled",
                "http_put_response_hop_limit": 1, "instance_metadata_tags": "disabled"},
            "monitoring": {"enabled": true}
        }),
        TAGS,
    );
    let h = p.create(&lt).await.expect("create launch template");
    assert!(h.reference.starts_with("lt-"), "{h:?}");
    assert_live(&p, &lt, &h).await;
    assert_eq!(p.find(&lt).await.unwrap(), Some(h.clone()));

    // A change to the launch data is a new version, made the default one.
    lt.properties["instance_type"] = json!("m7i.xlarge");
    lt.properties["block_device_mappings"][0]["ebs"]["volume_size"] = json!(200);
    let h = update(&p, &lt, &h).await;
    let described = clients
        .ec2
        .describe_launch_templates()
        .launch_template_ids(&h.provider_id)
        .send()
        .await
        .unwrap();
    let t = &described.launch_templates()[0];
    assert_eq!(t.latest_version_number(), Some(2));
    assert_eq!(t.default_version_number(), Some(2));
    // Tags change in place. moto's DescribeLaunchTemplates reports the tags a template was
    // created with, so they are checked where moto keeps them current: DescribeTags.
    let mut retagged = lt.clone();
    retagged
        .tags
        .insert("cost-center".into(), "cc-devex".into());
    retagged.tags.remove("environment");
    p.update(&retagged, &h, &["tags".into()])
        .await
        .expect("retag");
    let tags = clients
        .ec2
        .describe_tags()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("resource-id")
                .values(&h.provider_id)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut keys: Vec<&str> = tags.tags().iter().filter_map(|t| t.key()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["cost-center", "owner", "tollgate:resource"]);
    assert!(p.replace_on_change("aws_launch_template").contains(&"name"));
    assert!(
        p.write_only("aws_launch_template")
            .contains(&"update_default_version")
    );

    // Settings the provider does not support are refused, naming them.
    let mut odd = lt.clone();
    odd.properties["metadata_options"]["http_protocol_ipv6"] = json!("enabled");
    let err = p.create(&odd).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("metadata_options.http_protocol_ipv6"),
        "{err}"
    );
    odd.properties = json!({"name": "x", "user_data": "IyEvYmluL3NoCg=="});
    let err = p.create(&odd).await.unwrap_err();
    assert!(err.to_string().contains("properties.user_data"), "{err}");

    assert_gone(&p, "aws_launch_template", &h).await;
    assert_eq!(p.find(&lt).await.unwrap(), None);
}
