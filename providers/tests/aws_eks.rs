//! `aws_eks_cluster`, `aws_eks_node_group` and `aws_eks_addon`.
//!
//! moto 5.2.1's EKS backend serves clusters and node groups (create, describe,
//! UpdateClusterConfig, UpdateNodegroupConfig, delete; tags on clusters), so the cluster and
//! node-group round trips run against moto, with the shipped `stacks/cluster-system.json`
//! resources (references replaced by real ids of roles, subnets, a security group and a key made
//! in the same moto). moto lacks add-ons, UpdateClusterVersion and pod identity associations, does
//! not keep a cluster's `accessConfig` or `upgradePolicy` (nor a node group's `updateConfig` at creation),
//! replaces (rather than merges) a
//! cluster's VPC configuration on UpdateClusterConfig, and tags clusters only. Those paths run
//! against a small in-memory EKS in this file that speaks EKS's documented REST-JSON protocol
//! (paths such as `POST /clusters/{name}/updates`, errors as `x-amzn-errortype`) and refuses what
//! EKS refuses: more than one kind of change per UpdateClusterConfig, a version jump of more than
//! one minor version.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ec2_kms_support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ec2_kms_support::{assert_gone, assert_live, differences};
use serde_json::{Value, json};
use tollgate_providers::aws::AwsClients;
use tollgate_providers::aws::eks::{self, EksProvider};
use tollgate_providers::{Desired, Handle, Provider, ProviderError, ProviderSet};
use tollgate_testkit::Moto;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A resource of a shipped stack, `${…}` references replaced by `refs`, as apply hands it over.
fn shipped(stack: &str, id: &str, refs: &[(&str, &str)]) -> Desired {
    let path = format!("{}/../stacks/{stack}.json", env!("CARGO_MANIFEST_DIR"));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let r = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("{stack} has no `{id}`"))
        .clone();
    let mut text = r["properties"].to_string();
    for (name, value) in refs {
        text = text.replace(&format!("${{{name}}}"), value);
    }
    assert!(!text.contains("${"), "unresolved reference in {id}: {text}");
    Desired {
        stack: stack.into(),
        id: id.into(),
        type_name: r["type"].as_str().unwrap().into(),
        properties: serde_json::from_str(&text).unwrap(),
        tags: serde_json::from_value(r["tags"].clone()).unwrap_or_default(),
    }
}

/// Differences except `skip` (fields the emulator does not keep).
fn differences_except(
    p: &dyn Provider,
    d: &Desired,
    live: &tollgate_providers::Live,
    skip: &[&str],
) -> Vec<String> {
    let mut out: Vec<String> = differences(p, d, live)
        .into_iter()
        .filter(|f| !skip.contains(&f.as_str()))
        .collect();
    out.sort();
    out
}

/// moto does not keep a cluster's `accessConfig` and `upgradePolicy` (real EKS returns both).
const MOTO_CLUSTER_GAPS: &[&str] = &["access_config", "upgrade_policy"];
/// moto's CreateNodegroup drops `updateConfig` (UpdateNodegroupConfig sets it).
const MOTO_NODE_GROUP_GAPS: &[&str] = &["update_config"];

async fn moto_ids(clients: &AwsClients) -> Vec<(&'static str, String)> {
    let role = |name: &'static str, service: &'static str| {
        let iam = clients.iam.clone();
        async move {
            let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]});
            iam.create_role()
                .role_name(name)
                .assume_role_policy_document(policy.to_string())
                .send()
                .await
                .unwrap()
                .role()
                .unwrap()
                .arn()
                .to_owned()
        }
    };
    let cluster_role = role("wer1-prod-system-cluster", "eks.amazonaws.com").await;
    let node_role = role("wer1-prod-system-node", "ec2.amazonaws.com").await;
    let vpc = clients
        .ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    let mut ids = vec![("cluster-role", cluster_role), ("node-role", node_role)];
    for (i, (name, az)) in [
        ("networking.private-a", "eu-west-1a"),
        ("networking.private-b", "eu-west-1b"),
        ("networking.private-c", "eu-west-1c"),
    ]
    .into_iter()
    .enumerate()
    {
        let subnet = clients
            .ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.0.{}.0/19", 32 * (i + 1)))
            .availability_zone(az)
            .send()
            .await
            .unwrap();
        ids.push((
            name,
            subnet.subnet().unwrap().subnet_id().unwrap().to_owned(),
        ));
    }
    let sg = clients
        .ec2
        .create_security_group()
        .group_name("wer1-prod-system-cluster")
        .description("EKS control plane")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    ids.push(("cluster-sg", sg));
    let key = clients.kms.create_key().send().await.unwrap();
    ids.push((
        "eks-key",
        key.key_metadata().unwrap().arn().unwrap().to_owned(),
    ));
    ids
}

fn refs<'a>(ids: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    ids.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_and_node_group_round_trip_against_moto() {
    let moto = Moto::start();
    let clients = AwsClients::from_sdk(moto.sdk_config());
    let mut set = ProviderSet::new();
    eks::register(&mut set, &clients);
    for t in eks::TYPES {
        assert!(set.get(t).is_some(), "{t} is registered");
    }
    let p = EksProvider::new(clients.eks.clone());
    let ids = moto_ids(&clients).await;
    let mut refs = refs(&ids);

    // Cluster: the shipped document, created, read back, adopted, updated.
    let mut cluster = shipped("cluster-system", "cluster", &refs);
    assert_eq!(p.find(&cluster).await.unwrap(), None);
    let ch = p.create(&cluster).await.expect("create cluster");
    assert_eq!(ch.provider_id, "wer1-prod-system");
    assert_eq!(
        ch.reference, "wer1-prod-system",
        "references resolve to the name"
    );
    assert!(
        ch.attributes["arn"].ends_with(":cluster/wer1-prod-system"),
        "{ch:?}"
    );
    let live = p.read("aws_eks_cluster", &ch).await.unwrap().unwrap();
    assert_eq!(
        differences_except(&p, &cluster, &live, MOTO_CLUSTER_GAPS),
        Vec::<String>::new(),
        "live: {:#}",
        live.properties
    );
    assert_eq!(live.tags, cluster.tags);
    // public_access_cidrs is meaningless with the public endpoint off and is left out.
    assert!(
        live.properties["vpc_config"]
            .get("public_access_cidrs")
            .is_none()
    );
    assert_eq!(p.find(&cluster).await.unwrap(), Some(ch.clone()));

    // Another stack claiming the same name is refused, not adopted.
    let mut other = cluster.clone();
    other.stack = "cluster-compute".into();
    let err = p.find(&other).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("belongs to `cluster-system/cluster`"),
        "{err}"
    );

    cluster.properties["enabled_cluster_log_types"] = json!(["audit", "api", "authenticator"]);
    cluster.tags.insert("reviewed".into(), "2026-11".into());
    cluster.tags.remove("stack");
    let live = p.read("aws_eks_cluster", &ch).await.unwrap().unwrap();
    let changed = differences_except(&p, &cluster, &live, MOTO_CLUSTER_GAPS);
    assert_eq!(changed, ["enabled_cluster_log_types", "tags"]);
    p.update(&cluster, &ch, &changed)
        .await
        .expect("update cluster");
    let live = p.read("aws_eks_cluster", &ch).await.unwrap().unwrap();
    assert_eq!(
        differences_except(&p, &cluster, &live, MOTO_CLUSTER_GAPS),
        Vec::<String>::new(),
        "live: {:#}",
        live.properties
    );
    assert_eq!(
        live.properties["enabled_cluster_log_types"],
        json!(["api", "audit", "authenticator"])
    );

    // A version jump of two minor versions is refused before any call.
    let mut jump = cluster.clone();
    jump.properties["version"] = json!("1.34");
    let err = p.update(&jump, &ch, &["version".into()]).await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Invalid { message, .. } if message.contains("one minor version")),
        "{err}"
    );
    // Immutable properties are refused in place (a plan replaces the cluster).
    let err = p
        .update(&cluster, &ch, &["encryption_config".into()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("must be replaced"), "{err}");

    // Node groups: `${cluster}` resolves to the cluster's name.
    refs.push(("cluster", "wer1-prod-system"));
    let mut ng = shipped("cluster-system", "ng-system", &refs);
    assert_eq!(p.find(&ng).await.unwrap(), None);
    let nh = p.create(&ng).await.expect("create node group");
    assert_eq!(nh.provider_id, "wer1-prod-system:system");
    assert!(
        nh.reference.contains(":nodegroup/wer1-prod-system/system/"),
        "{nh:?}"
    );
    let live = p.read("aws_eks_node_group", &nh).await.unwrap().unwrap();
    assert_eq!(
        differences_except(&p, &ng, &live, MOTO_NODE_GROUP_GAPS),
        Vec::<String>::new(),
        "live: {:#}",
        live.properties
    );
    assert_eq!(live.tags, ng.tags);
    assert_eq!(p.find(&ng).await.unwrap(), Some(nh.clone()));
    let platform = shipped("cluster-system", "ng-platform", &refs);
    let ph = p.create(&platform).await.expect("create second node group");
    let live = p.read("aws_eks_node_group", &ph).await.unwrap().unwrap();
    assert_eq!(
        differences_except(&p, &platform, &live, MOTO_NODE_GROUP_GAPS),
        Vec::<String>::new()
    );

    // Scale, relabel, retaint, change the surge: one UpdateNodegroupConfig.
    ng.properties["scaling_config"] = json!({"desired_size": 4, "min_size": 3, "max_size": 8});
    ng.properties["update_config"] = json!({"max_unavailable": 1});
    ng.properties["labels"] = json!({"wer1.io/pool": "system", "wer1.io/tier": "critical"});
    ng.properties["taint"] = json!([
        {"key": "CriticalAddonsOnly", "value": "yes", "effect": "NO_SCHEDULE"},
        {"key": "wer1.io/drain", "value": "true", "effect": "PREFER_NO_SCHEDULE"}
    ]);
    let live = p.read("aws_eks_node_group", &nh).await.unwrap().unwrap();
    let changed = differences_except(&p, &ng, &live, &[]);
    assert_eq!(
        changed,
        ["labels", "scaling_config", "taint", "update_config"]
    );
    p.update(&ng, &nh, &changed)
        .await
        .expect("update node group");
    assert_live(&p, &ng, &nh).await;
    // Removing a label and a taint.
    ng.properties["labels"] = json!({"wer1.io/tier": "critical"});
    ng.properties["taint"] =
        json!([{"key": "wer1.io/drain", "value": "true", "effect": "PREFER_NO_SCHEDULE"}]);
    p.update(&ng, &nh, &["labels".into(), "taint".into()])
        .await
        .expect("remove label and taint");
    assert_live(&p, &ng, &nh).await;

    // moto tags clusters only: a node group's TagResource answers not found there (EKS tags node
    // groups). The provider reports it as the TagResource failure it is.
    let mut retag = ng.clone();
    retag.tags.insert("reviewed".into(), "2026-11".into());
    let err = p.update(&retag, &nh, &["tags".into()]).await.unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::Api {
                operation: "TagResource",
                ..
            }
        ),
        "{err:?}"
    );

    // EKS refuses to delete a cluster that still has node groups; apply deletes them first.
    let err = p.delete("aws_eks_cluster", &ch).await.unwrap_err();
    assert_eq!(err.code(), Some("ResourceInUseException"), "{err}");
    assert_gone(&p, "aws_eks_node_group", &nh).await;
    assert_gone(&p, "aws_eks_node_group", &ph).await;
    assert_eq!(p.find(&ng).await.unwrap(), None);
    assert_gone(&p, "aws_eks_cluster", &ch).await;
    assert_eq!(p.find(&cluster).await.unwrap(), None);
    // A node group of a cluster that is gone is gone too.
    assert!(p.read("aws_eks_node_group", &nh).await.unwrap().is_none());
}

#[tokio::test]
async fn unsupported_properties_are_refused_by_name() {
    // No endpoint is needed: the documents are refused before any call.
    let sdk = tollgate_testkit::sdk_config_for("http://127.0.0.1:9");
    let p = EksProvider::new(aws_sdk_eks::Client::new(&sdk));
    let ids: Vec<(&str, &str)> = vec![
        ("cluster-role", "arn:aws:iam::123456789012:role/c"),
        ("node-role", "arn:aws:iam::123456789012:role/n"),
        ("networking.private-a", "subnet-a"),
        ("networking.private-b", "subnet-b"),
        ("networking.private-c", "subnet-c"),
        ("cluster-sg", "sg-1"),
        ("eks-key", "arn:aws:kms:eu-west-1:123456789012:key/k"),
        ("cluster", "wer1-prod-system"),
        ("ebs-csi-role", "arn:aws:iam::123456789012:role/e"),
    ];
    let mut ng = shipped("cluster-system", "ng-system", &ids);
    ng.properties["launch_template"] = json!({"id": "lt-1", "version": "1"});
    let err = p.create(&ng).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("`launch_template` is not supported"),
        "{err}"
    );

    let mut cluster = shipped("cluster-system", "cluster", &ids);
    cluster.properties["vpc_config"]["ipv6_cidr"] = json!("::/0");
    let err = p.create(&cluster).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("`vpc_config.ipv6_cidr` is not supported"),
        "{err}"
    );

    let mut cluster = shipped("cluster-system", "cluster", &ids);
    cluster.properties["enabled_cluster_log_types"] = json!(["api", "kubelet"]);
    let err = p.create(&cluster).await.unwrap_err();
    assert!(err.to_string().contains("`kubelet`"), "{err}");

    let mut addon = shipped("cluster-system", "addon-ebs-csi", &ids);
    addon.properties["pod_identity_association"][0]["namespace"] = json!("kube-system");
    let err = p.create(&addon).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("`pod_identity_association[0].namespace` is not supported"),
        "{err}"
    );

    // Canonical forms: a configuration string of JSON equals the object; set-like lists sorted.
    let mut a = json!({"configuration_values": "{\"env\":{\"A\":\"1\"}}"});
    p.normalize("aws_eks_addon", &mut a);
    assert_eq!(a["configuration_values"], json!({"env": {"A": "1"}}));
    let mut c = json!({"vpc_config": {"subnet_ids": ["b", "a"], "endpoint_public_access": true,
        "public_access_cidrs": ["10.0.0.0/8", "0.0.0.0/0"]}, "enabled_cluster_log_types": ["audit", "api"]});
    p.normalize("aws_eks_cluster", &mut c);
    assert_eq!(
        c,
        json!({"vpc_config": {"subnet_ids": ["a", "b"], "endpoint_public_access": true,
            "endpoint_private_access": false, "public_access_cidrs": ["0.0.0.0/0", "10.0.0.0/8"]},
            "enabled_cluster_log_types": ["api", "audit"]})
    );
    assert_eq!(
        p.write_only("aws_eks_addon"),
        ["resolve_conflicts_on_create", "resolve_conflicts_on_update"]
    );
    assert!(
        p.replace_on_change("aws_eks_cluster")
            .contains(&"encryption_config")
    );
    assert!(!p.replace_on_change("aws_eks_cluster").contains(&"version"));
}

// ---------------------------------------------------------------------------------------------
// A local EKS for what moto lacks.

const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-west-1";

#[derive(Default)]
struct State {
    clusters: BTreeMap<String, Value>,
    /// (cluster, add-on) → Addon JSON
    addons: BTreeMap<(String, String), Value>,
    /// (cluster, node group) → Nodegroup JSON (created and tagged only: moto serves the rest)
    nodegroups: BTreeMap<(String, String), Value>,
    /// association id → association JSON
    associations: BTreeMap<String, Value>,
    next_id: u32,
    /// Operation names, in order.
    calls: Vec<String>,
}

#[derive(Default, Clone)]
struct FakeEks(Arc<Mutex<State>>);

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json")
}

fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("x-amzn-errortype", code)
        .set_body_raw(json!({"message": message}).to_string(), "application/json")
}

fn not_found(what: &str) -> ResponseTemplate {
    error(
        404,
        "ResourceNotFoundException",
        &format!("No {what} found."),
    )
}

/// Fills the fields EKS fills when a create leaves them out.
fn new_cluster(body: &Value) -> Value {
    let name = body["name"].as_str().unwrap_or_default();
    let mut c = body.clone();
    c["arn"] = json!(format!("arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{name}"));
    c["status"] = json!("ACTIVE");
    if c.get("version").is_none() {
        c["version"] = json!("1.33");
    }
    let vpc = &mut c["resourcesVpcConfig"];
    vpc["vpcId"] = json!("vpc-0fake");
    vpc["clusterSecurityGroupId"] = json!("sg-0eksmanaged");
    for (k, v) in [
        ("endpointPublicAccess", json!(true)),
        ("endpointPrivateAccess", json!(false)),
        ("publicAccessCidrs", json!(["0.0.0.0/0"])),
        ("securityGroupIds", json!([])),
    ] {
        if vpc.get(k).is_none() {
            vpc[k] = v;
        }
    }
    if c.get("logging").is_none() {
        c["logging"] = json!({"clusterLogging": [{"types": ["api", "audit", "authenticator",
            "controllerManager", "scheduler"], "enabled": false}]});
    }
    if c.get("kubernetesNetworkConfig").is_none() {
        c["kubernetesNetworkConfig"] = json!({"serviceIpv4Cidr": "10.100.0.0/16"});
    }
    if c["kubernetesNetworkConfig"].get("ipFamily").is_none() {
        c["kubernetesNetworkConfig"]["ipFamily"] = json!("ipv4");
    }
    let access = c.get("accessConfig").cloned().unwrap_or(json!({}));
    c["accessConfig"] = json!({
        "authenticationMode": access.get("authenticationMode").cloned().unwrap_or(json!("CONFIG_MAP")),
        "bootstrapClusterCreatorAdminPermissions":
            access.get("bootstrapClusterCreatorAdminPermissions").cloned().unwrap_or(json!(true)),
    });
    if c.get("upgradePolicy").is_none() {
        c["upgradePolicy"] = json!({"supportType": "EXTENDED"});
    }
    if let Some(o) = c.as_object_mut() {
        o.remove("clientRequestToken");
    }
    c
}

/// Applies UpdateClusterConfig as EKS does: one kind of change per call, fields merged.
fn update_config(c: &mut Value, body: &Value) -> Result<&'static str, ResponseTemplate> {
    let mut kinds = Vec::new();
    if let Some(v) = body.get("resourcesVpcConfig") {
        let net = v.get("subnetIds").is_some() || v.get("securityGroupIds").is_some();
        let endpoint = v.get("endpointPublicAccess").is_some()
            || v.get("endpointPrivateAccess").is_some()
            || v.get("publicAccessCidrs").is_some();
        if net {
            kinds.push("VpcConfigUpdate");
        }
        if endpoint {
            kinds.push("EndpointAccessUpdate");
        }
    }
    for (k, kind) in [
        ("logging", "LoggingUpdate"),
        ("accessConfig", "AccessConfigUpdate"),
        ("upgradePolicy", "UpgradePolicyUpdate"),
    ] {
        if body.get(k).is_some() {
            kinds.push(kind);
        }
    }
    if kinds.len() != 1 {
        return Err(error(
            400,
            "InvalidParameterException",
            &format!("Only one type of update can be allowed, got {kinds:?}"),
        ));
    }
    if let Some(v) = body.get("resourcesVpcConfig").and_then(Value::as_object) {
        for (k, x) in v {
            c["resourcesVpcConfig"][k] = x.clone();
        }
    }
    if let Some(l) = body["logging"]["clusterLogging"].as_array() {
        // Each setup moves its types to enabled or disabled.
        let mut enabled: Vec<String> = c["logging"]["clusterLogging"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["enabled"] == json!(true))
            .flat_map(|s| s["types"].as_array().cloned().unwrap_or_default())
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect();
        for s in l {
            for t in s["types"].as_array().into_iter().flatten() {
                let t = t.as_str().unwrap_or_default().to_owned();
                enabled.retain(|x| *x != t);
                if s["enabled"] == json!(true) {
                    enabled.push(t);
                }
            }
        }
        let disabled: Vec<&str> = [
            "api",
            "audit",
            "authenticator",
            "controllerManager",
            "scheduler",
        ]
        .into_iter()
        .filter(|t| !enabled.iter().any(|e| e == t))
        .collect();
        c["logging"] = json!({"clusterLogging": [
            {"types": enabled, "enabled": true}, {"types": disabled, "enabled": false}]});
    }
    if let Some(m) = body["accessConfig"].get("authenticationMode") {
        c["accessConfig"]["authenticationMode"] = m.clone();
    }
    if let Some(u) = body.get("upgradePolicy") {
        c["upgradePolicy"] = u.clone();
    }
    Ok(kinds[0])
}

impl FakeEks {
    fn calls(&self) -> Vec<String> {
        self.0.lock().unwrap().calls.clone()
    }

    fn update_answer(st: &mut State, kind: &str) -> ResponseTemplate {
        st.next_id += 1;
        ok(
            json!({"update": {"id": format!("u-{}", st.next_id), "status": "InProgress", "type": kind}}),
        )
    }

    fn set_associations(st: &mut State, cluster: &str, list: &Value) -> Vec<Value> {
        let mut arns = Vec::new();
        for a in list.as_array().into_iter().flatten() {
            st.next_id += 1;
            let id = format!("a-{:017}", st.next_id);
            let arn =
                format!("arn:aws:eks:{REGION}:{ACCOUNT}:podidentityassociation/{cluster}/{id}");
            st.associations.insert(
                id.clone(),
                json!({"clusterName": cluster, "namespace": "kube-system",
                    "serviceAccount": a["serviceAccount"], "roleArn": a["roleArn"],
                    "associationArn": arn, "associationId": id}),
            );
            arns.push(json!(arn));
        }
        arns
    }

    fn respond_to(&self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(json!({}));
        let segs: Vec<String> = req
            .url
            .path_segments()
            .into_iter()
            .flatten()
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let method = req.method.as_str();
        let mut st = self.0.lock().unwrap();
        let op = match (method, segs.as_slice()) {
            ("POST", ["clusters"]) => "CreateCluster",
            ("GET", ["clusters", _]) => "DescribeCluster",
            ("DELETE", ["clusters", _]) => "DeleteCluster",
            ("POST", ["clusters", _, "update-config"]) => "UpdateClusterConfig",
            ("POST", ["clusters", _, "updates"]) => "UpdateClusterVersion",
            ("POST", ["clusters", _, "node-groups"]) => "CreateNodegroup",
            ("GET", ["clusters", _, "node-groups", _]) => "DescribeNodegroup",
            ("DELETE", ["clusters", _, "node-groups", _]) => "DeleteNodegroup",
            ("POST", ["clusters", _, "addons"]) => "CreateAddon",
            ("GET", ["clusters", _, "addons", _]) => "DescribeAddon",
            ("POST", ["clusters", _, "addons", _, "update"]) => "UpdateAddon",
            ("DELETE", ["clusters", _, "addons", _]) => "DeleteAddon",
            ("GET", ["clusters", _, "pod-identity-associations", _]) => {
                "DescribePodIdentityAssociation"
            }
            ("POST", ["tags", _]) => "TagResource",
            ("DELETE", ["tags", _]) => "UntagResource",
            _ => return ResponseTemplate::new(501),
        };
        st.calls.push(op.to_owned());
        let cluster = segs.get(1).copied().unwrap_or_default().to_owned();
        let addon_key = (
            cluster.clone(),
            segs.get(3).copied().unwrap_or_default().to_owned(),
        );
        match op {
            "CreateCluster" => {
                let name = body["name"].as_str().unwrap_or_default().to_owned();
                if st.clusters.contains_key(&name) {
                    return error(409, "ResourceInUseException", "Cluster already exists");
                }
                let c = new_cluster(&body);
                st.clusters.insert(name, c.clone());
                ok(json!({"cluster": c}))
            }
            "DescribeCluster" => match st.clusters.get(&cluster) {
                Some(c) => ok(json!({"cluster": c})),
                None => not_found(&format!("cluster found for name: {cluster}")),
            },
            "DeleteCluster" => {
                if st.addons.keys().any(|(c, _)| *c == cluster) {
                    // EKS deletes add-ons with their cluster; this fake wants them gone first
                    // so the test sees the provider delete them.
                    return error(409, "ResourceInUseException", "Cluster has add-ons");
                }
                match st.clusters.remove(&cluster) {
                    Some(mut c) => {
                        c["status"] = json!("DELETING");
                        ok(json!({"cluster": c}))
                    }
                    None => not_found("cluster"),
                }
            }
            "UpdateClusterConfig" => {
                let Some(c) = st.clusters.get_mut(&cluster) else {
                    return not_found("cluster");
                };
                match update_config(c, &body) {
                    Ok(kind) => Self::update_answer(&mut st, kind),
                    Err(e) => e,
                }
            }
            "UpdateClusterVersion" => {
                let Some(c) = st.clusters.get_mut(&cluster) else {
                    return not_found("cluster");
                };
                let minor = |v: &Value| {
                    v.as_str()
                        .and_then(|s| s.split_once('.'))
                        .and_then(|(_, m)| m.parse::<u32>().ok())
                        .unwrap_or_default()
                };
                if minor(&body["version"]) != minor(&c["version"]) + 1 {
                    return error(
                        400,
                        "InvalidParameterException",
                        "Unsupported Kubernetes minor version update",
                    );
                }
                c["version"] = body["version"].clone();
                Self::update_answer(&mut st, "VersionUpdate")
            }
            "CreateNodegroup" => {
                if !st.clusters.contains_key(&cluster) {
                    return not_found("cluster");
                }
                let name = body["nodegroupName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let mut n = body.clone();
                n["clusterName"] = json!(cluster);
                n["status"] = json!("ACTIVE");
                n["nodegroupArn"] = json!(format!(
                    "arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/{cluster}/{name}/0f1e2d3c"
                ));
                if let Some(o) = n.as_object_mut() {
                    o.remove("clientRequestToken");
                }
                st.nodegroups.insert((cluster.clone(), name), n.clone());
                ok(json!({"nodegroup": n}))
            }
            "DescribeNodegroup" => match st.nodegroups.get(&addon_key) {
                Some(n) => ok(json!({"nodegroup": n})),
                None => not_found("node group"),
            },
            "DeleteNodegroup" => match st.nodegroups.remove(&addon_key) {
                Some(n) => ok(json!({"nodegroup": n})),
                None => not_found("node group"),
            },
            "CreateAddon" => {
                if !st.clusters.contains_key(&cluster) {
                    return not_found("cluster");
                }
                let name = body["addonName"].as_str().unwrap_or_default().to_owned();
                let key = (cluster.clone(), name.clone());
                if st.addons.contains_key(&key) {
                    return error(409, "ResourceInUseException", "Addon already exists");
                }
                let arns =
                    Self::set_associations(&mut st, &cluster, &body["podIdentityAssociations"]);
                st.next_id += 1;
                let mut a = json!({
                    "addonName": name, "clusterName": cluster,
                    // `broken` stands for an add-on that never becomes healthy.
                    "status": match name.as_str() {
                        "broken" => "DEGRADED",
                        // `slow` stands for an add-on that takes longer than the provider waits.
                        "slow" => "CREATING",
                        _ => "ACTIVE",
                    },
                    "health": {"issues": if name == "broken" {
                        json!([{"code": "InsufficientNumberOfReplicas", "message": "no nodes"}])
                    } else { json!([]) }},
                    "addonVersion": body.get("addonVersion").cloned().unwrap_or(json!("v1.0.0-eksbuild.1")),
                    "addonArn": format!("arn:aws:eks:{REGION}:{ACCOUNT}:addon/{cluster}/{name}/{}", st.next_id),
                    "tags": body.get("tags").cloned().unwrap_or(json!({})),
                    "podIdentityAssociations": arns,
                });
                for k in ["serviceAccountRoleArn", "configurationValues"] {
                    if let Some(v) = body.get(k) {
                        a[k] = v.clone();
                    }
                }
                st.addons.insert(key, a.clone());
                ok(json!({"addon": a}))
            }
            "DescribeAddon" => match st.addons.get(&addon_key) {
                Some(a) => ok(json!({"addon": a})),
                None => not_found("addon"),
            },
            "UpdateAddon" => {
                if !st.addons.contains_key(&addon_key) {
                    return not_found("addon");
                }
                let arns = body
                    .get("podIdentityAssociations")
                    .map(|l| Self::set_associations(&mut st, &cluster, l));
                let a = st.addons.get_mut(&addon_key).expect("checked");
                for k in [
                    "addonVersion",
                    "serviceAccountRoleArn",
                    "configurationValues",
                ] {
                    if let Some(v) = body.get(k) {
                        a[k] = v.clone();
                    }
                }
                if let Some(arns) = arns {
                    a["podIdentityAssociations"] = json!(arns);
                }
                Self::update_answer(&mut st, "AddonUpdate")
            }
            "DeleteAddon" => match st.addons.remove(&addon_key) {
                Some(a) => ok(json!({"addon": a})),
                None => not_found("addon"),
            },
            "DescribePodIdentityAssociation" => {
                match st
                    .associations
                    .get(segs.get(3).copied().unwrap_or_default())
                {
                    Some(a) => ok(json!({"association": a})),
                    None => not_found("association"),
                }
            }
            _ => {
                // Tags, by ARN.
                let arn = segs.get(1).copied().unwrap_or_default();
                let State {
                    clusters,
                    addons,
                    nodegroups,
                    ..
                } = &mut *st;
                let target = clusters
                    .values_mut()
                    .chain(addons.values_mut())
                    .chain(nodegroups.values_mut())
                    .find(|o| o["arn"] == arn || o["addonArn"] == arn || o["nodegroupArn"] == arn);
                let Some(o) = target else {
                    return not_found("resource");
                };
                if op == "TagResource" {
                    for (k, v) in body["tags"].as_object().into_iter().flatten() {
                        o["tags"][k] = v.clone();
                    }
                } else {
                    for (k, v) in req.url.query_pairs() {
                        if k == "tagKeys"
                            && let Some(t) = o["tags"].as_object_mut()
                        {
                            t.remove(v.as_ref());
                        }
                    }
                }
                ok(json!({}))
            }
        }
    }
}

struct Responder(FakeEks);

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        self.0.respond_to(req)
    }
}

fn count(calls: &[String], op: &str) -> usize {
    calls.iter().filter(|c| *c == op).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_upgrade_and_addons_against_a_local_eks_server() {
    let server = MockServer::start().await;
    let fake = FakeEks::default();
    Mock::given(wiremock::matchers::any())
        .respond_with(Responder(fake.clone()))
        .mount(&server)
        .await;
    let sdk = tollgate_testkit::sdk_config_for(&server.uri());
    let p = EksProvider::new(aws_sdk_eks::Client::new(&sdk));
    let ids: Vec<(&str, &str)> = vec![
        (
            "cluster-role",
            "arn:aws:iam::123456789012:role/wer1-prod-compute-cluster",
        ),
        (
            "node-role",
            "arn:aws:iam::123456789012:role/wer1-prod-compute-node",
        ),
        ("networking.private-a", "subnet-0a"),
        ("networking.private-b", "subnet-0b"),
        ("networking.private-c", "subnet-0c"),
        ("cluster-sg", "sg-0cluster"),
        (
            "eks-key",
            "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ),
        ("cluster", "wer1-prod-compute"),
        (
            "ebs-csi-role",
            "arn:aws:iam::123456789012:role/wer1-prod-compute-ebs-csi",
        ),
    ];

    // The whole cluster document reads back, access_config and upgrade_policy included.
    let mut cluster = shipped("cluster-compute", "cluster", &ids);
    let ch = p.create(&cluster).await.expect("create cluster");
    assert_eq!(ch.reference, "wer1-prod-compute");
    assert_live(&p, &cluster, &ch).await;
    assert_eq!(p.find(&cluster).await.unwrap(), Some(ch.clone()));

    // Upgrade one minor version and change every in-place setting at once.
    cluster.properties["version"] = json!("1.33");
    cluster.properties["vpc_config"]["subnet_ids"] = json!(["subnet-0a", "subnet-0b"]);
    cluster.properties["vpc_config"]["endpoint_public_access"] = json!(true);
    cluster.properties["vpc_config"]["public_access_cidrs"] = json!(["203.0.113.0/24"]);
    cluster.properties["enabled_cluster_log_types"] = json!(["api", "audit"]);
    cluster.properties["access_config"]["authentication_mode"] = json!("API_AND_CONFIG_MAP");
    cluster.properties["upgrade_policy"]["support_type"] = json!("EXTENDED");
    cluster.tags.insert("reviewed".into(), "2026-11".into());
    cluster.tags.remove("stack");
    let live = p.read("aws_eks_cluster", &ch).await.unwrap().unwrap();
    let changed = differences_except(&p, &cluster, &live, &[]);
    assert_eq!(
        changed,
        [
            "access_config",
            "enabled_cluster_log_types",
            "tags",
            "upgrade_policy",
            "version",
            "vpc_config"
        ]
    );
    let before = fake.calls().len();
    p.update(&cluster, &ch, &changed)
        .await
        .expect("update cluster");
    let calls = fake.calls()[before..].to_vec();
    assert_eq!(count(&calls, "UpdateClusterVersion"), 1, "{calls:?}");
    // Subnets, endpoint access, logging, access mode, upgrade policy: one kind per call.
    assert_eq!(count(&calls, "UpdateClusterConfig"), 5, "{calls:?}");
    assert_eq!(
        count(&calls, "TagResource") + count(&calls, "UntagResource"),
        2,
        "{calls:?}"
    );
    assert!(
        !calls
            .iter()
            .any(|c| c == "CreateCluster" || c == "DeleteCluster"),
        "a version change is an upgrade, never a replacement: {calls:?}"
    );
    assert_live(&p, &cluster, &ch).await;
    // The bootstrap admin flag is creation-only.
    let mut bootstrap = cluster.clone();
    bootstrap.properties["access_config"]["bootstrap_cluster_creator_admin_permissions"] =
        json!(true);
    let err = p
        .update(&bootstrap, &ch, &["access_config".into()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("creation only"), "{err}");

    // Add-ons: the shipped vpc-cni (configuration values) and ebs-csi (pod identity).
    let mut cni = shipped("cluster-compute", "addon-vpc-cni", &ids);
    assert_eq!(p.find(&cni).await.unwrap(), None);
    let cni_h = p.create(&cni).await.expect("create vpc-cni");
    assert_eq!(cni_h.provider_id, "wer1-prod-compute:vpc-cni");
    assert!(
        cni_h
            .reference
            .starts_with("arn:aws:eks:eu-west-1:123456789012:addon/wer1-prod-compute/vpc-cni/")
    );
    let live = assert_live(&p, &cni, &cni_h).await;
    assert!(live.properties.get("resolve_conflicts_on_create").is_none());
    assert_eq!(
        live.properties["configuration_values"]["env"]["WARM_PREFIX_TARGET"],
        "1"
    );
    assert_eq!(p.find(&cni).await.unwrap(), Some(cni_h.clone()));

    let mut csi = shipped("cluster-compute", "addon-ebs-csi", &ids);
    let csi_h = p.create(&csi).await.expect("create ebs-csi");
    let live = assert_live(&p, &csi, &csi_h).await;
    assert_eq!(
        live.properties["pod_identity_association"],
        json!([{"role_arn": "arn:aws:iam::123456789012:role/wer1-prod-compute-ebs-csi",
                "service_account": "ebs-csi-controller-sa"}])
    );

    // Update in place: version, configuration, associations, tags.
    cni.properties["addon_version"] = json!("v1.19.3-eksbuild.1");
    cni.properties["configuration_values"]["env"]["WARM_PREFIX_TARGET"] = json!("2");
    cni.tags.insert("reviewed".into(), "2026-11".into());
    let live = p.read("aws_eks_addon", &cni_h).await.unwrap().unwrap();
    let changed = differences_except(&p, &cni, &live, &[]);
    assert_eq!(changed, ["addon_version", "configuration_values", "tags"]);
    let before = fake.calls().len();
    p.update(&cni, &cni_h, &changed)
        .await
        .expect("update vpc-cni");
    let calls = fake.calls()[before..].to_vec();
    assert_eq!(count(&calls, "UpdateAddon"), 1, "{calls:?}");
    assert!(
        !calls
            .iter()
            .any(|c| c == "DeleteAddon" || c == "CreateAddon"),
        "{calls:?}"
    );
    assert_live(&p, &cni, &cni_h).await;

    csi.properties["pod_identity_association"] = json!([
        {"role_arn": "arn:aws:iam::123456789012:role/wer1-prod-compute-ebs-csi", "service_account": "ebs-csi-node-sa"},
        {"role_arn": "arn:aws:iam::123456789012:role/wer1-prod-compute-ebs-csi", "service_account": "ebs-csi-controller-sa"}
    ]);
    p.update(&csi, &csi_h, &["pod_identity_association".into()])
        .await
        .expect("update ebs-csi");
    assert_live(&p, &csi, &csi_h).await;

    // An add-on that never becomes ACTIVE: the wait stops at DEGRADED and says why.
    let mut broken = cni.clone();
    broken.id = "addon-broken".into();
    broken.properties["addon_name"] = json!("broken");
    let err = p.create(&broken).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("DEGRADED")
            && text.contains("InsufficientNumberOfReplicas")
            && text.contains("CreateAddon"),
        "{text}"
    );

    // A wait that runs out says how long it waited for what.
    let quick = EksProvider::with_timeouts(
        aws_sdk_eks::Client::new(&sdk),
        eks::Timeouts {
            addon: std::time::Duration::from_secs(1),
            ..eks::Timeouts::default()
        },
    );
    let mut slow = cni.clone();
    slow.id = "addon-slow".into();
    slow.properties["addon_name"] = json!("slow");
    let err = quick.create(&slow).await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Transport { operation: "CreateAddon", message, .. }
            if message.contains("gave up after") && message.contains("`slow` of `wer1-prod-compute` to be ACTIVE")),
        "{err:?}"
    );

    // A node group's document as EKS keeps it (moto drops `updateConfig` at creation and cannot
    // tag node groups): read equals desired, then a retag.
    let mut ng = shipped("cluster-compute", "ng-memory", &ids);
    let nh = p.create(&ng).await.expect("create node group");
    assert_live(&p, &ng, &nh).await;
    ng.tags.insert("reviewed".into(), "2026-11".into());
    ng.tags.remove("stack");
    let before = fake.calls().len();
    p.update(&ng, &nh, &["tags".into()])
        .await
        .expect("retag node group");
    let calls = fake.calls()[before..].to_vec();
    assert_eq!(calls, ["DescribeNodegroup", "UntagResource", "TagResource"]);
    assert_live(&p, &ng, &nh).await;
    assert_gone(&p, "aws_eks_node_group", &nh).await;

    // Deletes: add-ons, then the cluster; deleting again succeeds.
    assert_gone(&p, "aws_eks_addon", &cni_h).await;
    assert_gone(&p, "aws_eks_addon", &csi_h).await;
    for name in ["broken", "slow"] {
        p.delete(
            "aws_eks_addon",
            &Handle::new(format!("wer1-prod-compute:{name}")),
        )
        .await
        .unwrap();
    }
    assert_gone(&p, "aws_eks_cluster", &ch).await;
    assert_eq!(p.find(&cluster).await.unwrap(), None);
    // An add-on of a cluster that is gone reads as gone and deletes as done.
    assert!(p.read("aws_eks_addon", &cni_h).await.unwrap().is_none());
}
