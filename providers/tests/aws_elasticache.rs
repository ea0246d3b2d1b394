//! `aws_elasticache_subnet_group` and `aws_elasticache_replication_group`.
//!
//! moto 5.2.1's ElastiCache backend creates, describes, tags and deletes subnet groups and
//! replication groups, but has no ModifyCacheSubnetGroup, DeleteCacheSubnetGroup,
//! ModifyReplicationGroup or Increase/DecreaseReplicaCount; it creates no member cache clusters
//! (so DescribeCacheClusters knows none of a group's members, and with them the engine version,
//! parameter group, subnet group, security groups and maintenance window), reports one member
//! whatever `num_cache_clusters` asks, and leaves a deleted group `deleting` for ever.
//!
//! So: create, read, find, tags and the delete call run against moto, asserting exactly those
//! gaps; the full round trip (create → read equals desired → every kind of change → read → find
//! → delete, waiting until gone → read is None) runs against a local server in this file that
//! keeps subnet and replication groups in memory and speaks ElastiCache's query protocol (form
//! encoded `Action=…` requests, XML answers, `<ErrorResponse>` errors), recording every call.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ec2_kms_support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ec2_kms_support::{assert_live, desired, differences, network, update};
use serde_json::json;
use tollgate_providers::aws::AwsClients;
use tollgate_providers::aws::elasticache::{self, ElastiCacheProvider};
use tollgate_providers::{Desired, Provider, ProviderError, ProviderSet};
use tollgate_testkit::{Moto, sdk_config_for};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::method};

const TAGS: &[(&str, &str)] = &[
    ("owner", "data-platform"),
    ("environment", "prod"),
    ("cost-center", "cc-data"),
    ("stack", "cache"),
];
const SLOW_LOG_ARN: &str =
    "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/elasticache/wer1-prod-sessions/slow-log";

/// `cache-subnet-group` of stacks/cache.json, references replaced by subnet ids.
fn subnet_group(subnets: &[String]) -> Desired {
    desired(
        "cache-subnet-group",
        "aws_elasticache_subnet_group",
        json!({"name": "wer1-prod-cache", "description": "Private subnets", "subnet_ids": subnets}),
        TAGS,
    )
}

/// `sessions` of stacks/cache.json, references replaced by real ids.
fn sessions(key_arn: &str, sg: &str) -> Desired {
    desired(
        "sessions",
        "aws_elasticache_replication_group",
        json!({
            "replication_group_id": "wer1-prod-sessions",
            "description": "Sessions, rate limits and hot catalogue cache",
            "engine": "redis",
            "engine_version": "7.1",
            "node_type": "cache.r6g.large",
            "num_cache_clusters": 3,
            "port": 6379,
            "parameter_group_name": "default.redis7",
            "subnet_group_name": "wer1-prod-cache",
            "security_group_ids": [sg],
            "at_rest_encryption_enabled": true,
            "transit_encryption_enabled": true,
            "transit_encryption_mode": "required",
            "kms_key_id": key_arn,
            "automatic_failover_enabled": true,
            "multi_az_enabled": true,
            "snapshot_retention_limit": 7,
            "snapshot_window": "01:00-02:00",
            "maintenance_window": "sun:02:30-sun:03:30",
            "auto_minor_version_upgrade": true,
            "apply_immediately": false,
            "log_delivery_configuration": [{
                "destination": SLOW_LOG_ARN,
                "destination_type": "cloudwatch-logs",
                "log_format": "json",
                "log_type": "slow-log"
            }]
        }),
        TAGS,
    )
}

// ----- against moto ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_read_find_tags_and_delete_against_moto() {
    let moto = Moto::start();
    let clients = AwsClients::from_sdk(moto.sdk_config());
    let mut set = ProviderSet::new();
    elasticache::register(&mut set, &clients);
    assert!(set.get("aws_elasticache_replication_group").is_some());
    assert!(set.get("aws_elasticache_subnet_group").is_some());
    let p = ElastiCacheProvider::new(clients.elasticache.clone())
        .with_wait_timeout(Duration::from_secs(3));

    // What the references resolve to: subnets, a security group and a key in the same moto.
    let net = network(
        &clients,
        40,
        &["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        &["wer1-prod-cache"],
    )
    .await;
    let (subnets, sg, key_arn) = (net.subnets, net.security_groups[0].clone(), net.key_arn);

    // Subnet group: create, read equals desired, find, tags.
    let mut sg_doc = subnet_group(&subnets);
    assert_eq!(p.find(&sg_doc).await.unwrap(), None);
    let sgh = p.create(&sg_doc).await.expect("create subnet group");
    assert_eq!(sgh.provider_id, "wer1-prod-cache");
    assert_eq!(
        sgh.reference, "wer1-prod-cache",
        "references resolve to the name"
    );
    assert!(sgh.attributes["arn"].ends_with(":subnetgroup:wer1-prod-cache"));
    assert_live(&p, &sg_doc, &sgh).await;
    assert_eq!(p.find(&sg_doc).await.unwrap(), Some(sgh.clone()));
    sg_doc.tags.remove("stack");
    sg_doc.tags.insert("tier".into(), "cache".into());
    update(&p, &sg_doc, &sgh).await;

    // Another resource claiming the same name is refused, not adopted.
    let mut other = sg_doc.clone();
    other.id = "other".into();
    let err = p.find(&other).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("belongs to `t/cache-subnet-group`"),
        "{err}"
    );

    // Changing the description needs ModifyCacheSubnetGroup, which moto lacks.
    sg_doc.properties["description"] = json!("Private subnets, three zones");
    let err = p
        .update(&sg_doc, &sgh, &["description".into()])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::NotSupported {
                operation: "ModifyCacheSubnetGroup",
                ..
            }
        ),
        "{err:?}"
    );

    // Replication group: created with the shipped settings, available at once on moto.
    let rg = sessions(&key_arn, &sg);
    assert_eq!(p.find(&rg).await.unwrap(), None);
    let rgh = p.create(&rg).await.expect("create replication group");
    assert_eq!(rgh.provider_id, "wer1-prod-sessions");
    assert!(
        rgh.reference
            .ends_with(":replicationgroup:wer1-prod-sessions")
            && rgh.reference.starts_with("arn:aws:elasticache:eu-west-1:"),
        "references resolve to the ARN: {rgh:?}"
    );
    let live = p
        .read("aws_elasticache_replication_group", &rgh)
        .await
        .unwrap()
        .expect("exists");
    // Everything moto keeps reads back as desired; what it lacks (member clusters) differs.
    let mut diff = differences(&p, &rg, &live);
    diff.sort();
    assert_eq!(
        diff,
        [
            "engine_version",
            "maintenance_window",
            "num_cache_clusters",
            "parameter_group_name",
            "security_group_ids",
            "subnet_group_name"
        ],
        "live: {:#}",
        live.properties
    );
    assert_eq!(
        live.properties["num_cache_clusters"], 1,
        "moto makes one member"
    );
    assert_eq!(live.properties["kms_key_id"], key_arn);
    assert_eq!(
        live.properties["log_delivery_configuration"][0]["destination"],
        "/aws/elasticache/wer1-prod-sessions/slow-log",
        "a log group ARN is given as the log group's name"
    );
    assert_eq!(live.tags, rg.tags);
    assert_eq!(p.find(&rg).await.unwrap(), Some(rgh.clone()));

    // Tags change with Add/RemoveTagsToResource, which moto serves.
    let mut rg2 = rg.clone();
    rg2.tags.insert("tier".into(), "cache".into());
    rg2.tags.remove("cost-center");
    p.update(&rg2, &rgh, &["tags".into()]).await.expect("tags");
    let live = p
        .read("aws_elasticache_replication_group", &rgh)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.tags, rg2.tags);

    // Settings change with ModifyReplicationGroup, which moto lacks.
    rg2.properties["snapshot_retention_limit"] = json!(14);
    let err = p
        .update(&rg2, &rgh, &["snapshot_retention_limit".into()])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::NotSupported {
                operation: "ModifyReplicationGroup",
                ..
            }
        ),
        "{err:?}"
    );
    // Immutable properties are refused as in-place changes.
    let err = p
        .update(&rg2, &rgh, &["kms_key_id".into()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("must be replaced"), "{err}");

    // Delete: moto accepts DeleteReplicationGroup but leaves the group `deleting` for ever, so
    // the bounded wait for it to go gives up, saying so; a deleting group reads as gone.
    let started = Instant::now();
    let err = p
        .delete("aws_elasticache_replication_group", &rgh)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("waiting for replication group `wer1-prod-sessions` to be deleted"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the wait is bounded"
    );
    let status = clients
        .elasticache
        .describe_replication_groups()
        .replication_group_id("wer1-prod-sessions")
        .send()
        .await
        .unwrap();
    assert_eq!(status.replication_groups()[0].status(), Some("deleting"));
    assert_eq!(
        p.read("aws_elasticache_replication_group", &rgh)
            .await
            .unwrap(),
        None
    );
    assert_eq!(p.find(&rg).await.unwrap(), None);

    // Subnet group delete: DeleteCacheSubnetGroup is missing in moto.
    let err = p
        .delete("aws_elasticache_subnet_group", &sgh)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::NotSupported {
                operation: "DeleteCacheSubnetGroup",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn unsupported_properties_are_refused_by_name() {
    let clients = AwsClients::from_sdk(sdk_config_for("http://127.0.0.1:9"));
    let p = ElastiCacheProvider::new(clients.elasticache.clone());
    let mut rg = sessions("arn:aws:kms:eu-west-1:1:key/k", "sg-1");
    rg.properties["auth_token"] = json!("secret");
    rg.properties["num_node_groups"] = json!(2);
    let err = p.create(&rg).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("`auth_token`") && text.contains("`num_node_groups`"),
        "{text}"
    );
    let mut rg = sessions("arn:aws:kms:eu-west-1:1:key/k", "sg-1");
    rg.properties["log_delivery_configuration"][0]["destination_type"] = json!("s3");
    let err = p.create(&rg).await.unwrap_err();
    assert!(err.to_string().contains("destination_type"), "{err}");
}

// ----- against a local server speaking ElastiCache's query protocol --------------------------

#[derive(Debug, Clone)]
struct SubnetGroup {
    description: String,
    subnets: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct Group {
    fields: BTreeMap<String, String>,
    members: usize,
    security_groups: Vec<String>,
    /// (type, destination type, destination, format)
    logs: Vec<[String; 4]>,
    status: String,
    /// Describes left before a `modifying` group is `available` again.
    busy_polls: u32,
}

#[derive(Default)]
struct State {
    subnet_groups: BTreeMap<String, SubnetGroup>,
    groups: BTreeMap<String, Group>,
    tags: BTreeMap<String, BTreeMap<String, String>>,
    /// Action and its form parameters, in order.
    calls: Vec<(String, BTreeMap<String, String>)>,
    /// A group that never settles (to test the bounded wait).
    stuck: bool,
}

struct FakeElastiCache(Arc<Mutex<State>>);

const ACCOUNT: &str = "123456789012";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn el(name: &str, value: &str) -> String {
    format!("<{name}>{}</{name}>", esc(value))
}

fn ok(action: &str, result: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(
        format!(
            "<{action}Response xmlns=\"http://elasticache.amazonaws.com/doc/2015-02-02/\">\
             <{action}Result>{result}</{action}Result>\
             <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></{action}Response>"
        ),
        "text/xml",
    )
}

fn fault(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        format!(
            "<ErrorResponse xmlns=\"http://elasticache.amazonaws.com/doc/2015-02-02/\">\
             <Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error>\
             <RequestId>r-1</RequestId></ErrorResponse>",
            esc(message)
        ),
        "text/xml",
    )
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let dec = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

/// `Prefix.1`, `Prefix.2`, … values of a query list.
fn list(f: &BTreeMap<String, String>, prefix: &str) -> Vec<String> {
    (1..)
        .map_while(|i| f.get(&format!("{prefix}.{i}")).cloned())
        .collect()
}

fn log_requests(f: &BTreeMap<String, String>) -> Vec<(String, Option<[String; 4]>)> {
    let p = "LogDeliveryConfigurations.LogDeliveryConfigurationRequest";
    (1..)
        .map_while(|i| {
            let g = |k: &str| f.get(&format!("{p}.{i}.{k}")).cloned();
            let t = g("LogType")?;
            let enabled = g("Enabled").as_deref() != Some("false");
            let dest = g("DestinationDetails.CloudWatchLogsDetails.LogGroup")
                .or_else(|| g("DestinationDetails.KinesisFirehoseDetails.DeliveryStream"));
            Some((
                t.clone(),
                enabled.then(|| {
                    [
                        t,
                        g("DestinationType").unwrap_or_default(),
                        dest.unwrap_or_default(),
                        g("LogFormat").unwrap_or_default(),
                    ]
                }),
            ))
        })
        .collect()
}

fn group_arn(id: &str) -> String {
    format!("arn:aws:elasticache:eu-west-1:{ACCOUNT}:replicationgroup:{id}")
}

fn subnet_group_arn(name: &str) -> String {
    format!("arn:aws:elasticache:eu-west-1:{ACCOUNT}:subnetgroup:{name}")
}

fn subnet_group_xml(name: &str, g: &SubnetGroup) -> String {
    let subnets: String = g
        .subnets
        .iter()
        .map(|s| {
            format!(
                "<Subnet>{}<SubnetAvailabilityZone><Name>eu-west-1a</Name></SubnetAvailabilityZone></Subnet>",
                el("SubnetIdentifier", s)
            )
        })
        .collect();
    format!(
        "<CacheSubnetGroup>{}{}{}<Subnets>{subnets}</Subnets>{}</CacheSubnetGroup>",
        el("CacheSubnetGroupName", name),
        el("CacheSubnetGroupDescription", &g.description),
        el("VpcId", "vpc-1"),
        el("ARN", &subnet_group_arn(name))
    )
}

fn member_id(id: &str, i: usize) -> String {
    format!("{id}-{:03}", i + 1)
}

fn group_xml(id: &str, g: &Group) -> String {
    let f = |k: &str| g.fields.get(k).cloned().unwrap_or_default();
    let flag = |k: &str| {
        if f(k) == "true" {
            "enabled"
        } else {
            "disabled"
        }
    };
    let members: String = (0..g.members)
        .map(|i| el("ClusterId", &member_id(id, i)))
        .collect();
    let node_members: String = (0..g.members)
        .map(|i| {
            format!(
                "<NodeGroupMember>{}{}</NodeGroupMember>",
                el("CacheClusterId", &member_id(id, i)),
                el("CurrentRole", if i == 0 { "primary" } else { "replica" })
            )
        })
        .collect();
    let logs: String = g
        .logs
        .iter()
        .map(|[t, dt, dest, fmt]| {
            let details = if dt == "kinesis-firehose" {
                format!("<KinesisFirehoseDetails>{}</KinesisFirehoseDetails>", el("DeliveryStream", dest))
            } else {
                format!("<CloudWatchLogsDetails>{}</CloudWatchLogsDetails>", el("LogGroup", dest))
            };
            format!(
                "<LogDeliveryConfiguration>{}{}<DestinationDetails>{details}</DestinationDetails>{}{}</LogDeliveryConfiguration>",
                el("LogType", t),
                el("DestinationType", dt),
                el("LogFormat", fmt),
                el("Status", "active")
            )
        })
        .collect();
    format!(
        "<ReplicationGroup>{}{}{}<MemberClusters>{members}</MemberClusters>\
         <NodeGroups><NodeGroup>{}{}<PrimaryEndpoint>{}{}</PrimaryEndpoint>\
         <NodeGroupMembers>{node_members}</NodeGroupMembers></NodeGroup></NodeGroups>\
         {}{}{}{}{}{}{}{}{}{}{}{}{}\
         <LogDeliveryConfigurations>{logs}</LogDeliveryConfigurations></ReplicationGroup>",
        el("ReplicationGroupId", id),
        el("Description", &f("ReplicationGroupDescription")),
        el("Status", &g.status),
        el("NodeGroupId", "0001"),
        el("Status", &g.status),
        el("Address", &format!("master.{id}.cache.amazonaws.com")),
        el("Port", &f("Port")),
        el("AutomaticFailover", flag("AutomaticFailoverEnabled")),
        el("MultiAZ", flag("MultiAZEnabled")),
        el("SnapshotRetentionLimit", &f("SnapshotRetentionLimit")),
        el("SnapshotWindow", &f("SnapshotWindow")),
        el("CacheNodeType", &f("CacheNodeType")),
        el("TransitEncryptionEnabled", &f("TransitEncryptionEnabled")),
        el("AtRestEncryptionEnabled", &f("AtRestEncryptionEnabled")),
        el("KmsKeyId", &f("KmsKeyId")),
        el("ARN", &group_arn(id)),
        el("AutoMinorVersionUpgrade", &f("AutoMinorVersionUpgrade")),
        el("TransitEncryptionMode", &f("TransitEncryptionMode")),
        el("ClusterEnabled", "false"),
        el("Engine", &f("Engine")),
    )
}

fn cluster_xml(id: &str, member: &str, g: &Group) -> String {
    let f = |k: &str| g.fields.get(k).cloned().unwrap_or_default();
    let sgs: String = g
        .security_groups
        .iter()
        .map(|s| {
            format!(
                "<member>{}{}</member>",
                el("SecurityGroupId", s),
                el("Status", "active")
            )
        })
        .collect();
    // The service reports the full version it runs: 7.1 → 7.1.0.
    format!(
        "<CacheCluster>{}{}{}{}<CacheParameterGroup>{}</CacheParameterGroup>{}\
         <SecurityGroups>{sgs}</SecurityGroups>{}</CacheCluster>",
        el("CacheClusterId", member),
        el("CacheNodeType", &f("CacheNodeType")),
        el("EngineVersion", &format!("{}.0", f("EngineVersion"))),
        el(
            "PreferredMaintenanceWindow",
            &f("PreferredMaintenanceWindow")
        ),
        el("CacheParameterGroupName", &f("CacheParameterGroupName")),
        el("CacheSubnetGroupName", &f("CacheSubnetGroupName")),
        el("ReplicationGroupId", id),
    )
}

impl Respond for FakeElastiCache {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let f = form(&req.body);
        let action = f.get("Action").cloned().unwrap_or_default();
        let mut st = self.0.lock().unwrap();
        st.calls.push((action.clone(), f.clone()));
        let name = f.get("CacheSubnetGroupName").cloned().unwrap_or_default();
        let id = f.get("ReplicationGroupId").cloned().unwrap_or_default();
        match action.as_str() {
            "CreateCacheSubnetGroup" => {
                if st.subnet_groups.contains_key(&name) {
                    return fault(400, "CacheSubnetGroupAlreadyExists", "exists");
                }
                let g = SubnetGroup {
                    description: f["CacheSubnetGroupDescription"].clone(),
                    subnets: list(&f, "SubnetIds.SubnetIdentifier"),
                };
                let tags = tags_of(&f);
                st.tags.insert(subnet_group_arn(&name), tags);
                st.subnet_groups.insert(name.clone(), g.clone());
                ok(&action, &subnet_group_xml(&name, &g))
            }
            "DescribeCacheSubnetGroups" => match st.subnet_groups.get(&name) {
                Some(g) => ok(
                    &action,
                    &format!(
                        "<CacheSubnetGroups>{}</CacheSubnetGroups>",
                        subnet_group_xml(&name, g)
                    ),
                ),
                None => fault(
                    400,
                    "CacheSubnetGroupNotFoundFault",
                    &format!("{name} not found"),
                ),
            },
            "ModifyCacheSubnetGroup" => {
                let Some(g) = st.subnet_groups.get_mut(&name) else {
                    return fault(400, "CacheSubnetGroupNotFoundFault", "not found");
                };
                if let Some(d) = f.get("CacheSubnetGroupDescription") {
                    g.description = d.clone();
                }
                let subnets = list(&f, "SubnetIds.SubnetIdentifier");
                if !subnets.is_empty() {
                    g.subnets = subnets;
                }
                let g = g.clone();
                ok(&action, &subnet_group_xml(&name, &g))
            }
            "DeleteCacheSubnetGroup" => {
                if !st.subnet_groups.contains_key(&name) {
                    return fault(400, "CacheSubnetGroupNotFoundFault", "not found");
                }
                if st
                    .groups
                    .values()
                    .any(|g| g.fields.get("CacheSubnetGroupName") == Some(&name))
                {
                    return fault(400, "CacheSubnetGroupInUse", "in use");
                }
                st.subnet_groups.remove(&name);
                ok(&action, "")
            }
            "CreateReplicationGroup" => {
                if st.groups.contains_key(&id) {
                    return fault(400, "ReplicationGroupAlreadyExistsFault", "exists");
                }
                let g = Group {
                    members: f
                        .get("NumCacheClusters")
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(1),
                    security_groups: list(&f, "SecurityGroupIds.SecurityGroupId"),
                    logs: log_requests(&f)
                        .into_iter()
                        .filter_map(|(_, c)| c)
                        .collect(),
                    status: "creating".into(),
                    busy_polls: 1,
                    fields: f.clone(),
                };
                let tags = tags_of(&f);
                st.tags.insert(group_arn(&id), tags);
                st.groups.insert(id.clone(), g.clone());
                ok(&action, &group_xml(&id, &g))
            }
            "DescribeReplicationGroups" => {
                let stuck = st.stuck;
                let Some(g) = st.groups.get_mut(&id) else {
                    return fault(
                        404,
                        "ReplicationGroupNotFoundFault",
                        &format!("{id} not found"),
                    );
                };
                // A busy group settles after the polls it was given.
                if g.busy_polls > 0 && !stuck {
                    g.busy_polls -= 1;
                    if g.busy_polls == 0 {
                        g.status = "available".into();
                    }
                }
                let xml = group_xml(&id, g);
                ok(
                    &action,
                    &format!("<ReplicationGroups>{xml}</ReplicationGroups>"),
                )
            }
            "DescribeCacheClusters" => {
                let cid = f.get("CacheClusterId").cloned().unwrap_or_default();
                let found = st
                    .groups
                    .iter()
                    .find(|(gid, g)| (0..g.members).any(|i| member_id(gid, i) == cid));
                match found {
                    Some((gid, g)) => ok(
                        &action,
                        &format!(
                            "<CacheClusters>{}</CacheClusters>",
                            cluster_xml(gid, &cid, g)
                        ),
                    ),
                    None => fault(404, "CacheClusterNotFound", "not found"),
                }
            }
            "ModifyReplicationGroup" => {
                let Some(g) = st.groups.get_mut(&id) else {
                    return fault(404, "ReplicationGroupNotFoundFault", "not found");
                };
                if g.status != "available" {
                    return fault(400, "InvalidReplicationGroupState", &g.status);
                }
                for (k, v) in &f {
                    if !k.contains('.')
                        && k != "Action"
                        && k != "Version"
                        && k != "ApplyImmediately"
                    {
                        g.fields.insert(k.clone(), v.clone());
                    }
                }
                let sgs = list(&f, "SecurityGroupIds.SecurityGroupId");
                if !sgs.is_empty() {
                    g.security_groups = sgs;
                }
                for (t, c) in log_requests(&f) {
                    g.logs.retain(|l| l[0] != t);
                    if let Some(c) = c {
                        g.logs.push(c);
                    }
                }
                g.status = "modifying".into();
                g.busy_polls = 1;
                let xml = group_xml(&id, g);
                ok(&action, &xml)
            }
            "IncreaseReplicaCount" | "DecreaseReplicaCount" => {
                let Some(g) = st.groups.get_mut(&id) else {
                    return fault(404, "ReplicationGroupNotFoundFault", "not found");
                };
                if g.status != "available" {
                    return fault(400, "InvalidReplicationGroupState", &g.status);
                }
                if f.get("ApplyImmediately").map(String::as_str) != Some("true") {
                    return fault(
                        400,
                        "InvalidParameterValue",
                        "ApplyImmediately must be true",
                    );
                }
                g.members = f["NewReplicaCount"].parse::<usize>().unwrap() + 1;
                g.status = "modifying".into();
                g.busy_polls = 1;
                let xml = group_xml(&id, g);
                ok(&action, &xml)
            }
            "DeleteReplicationGroup" => {
                let Some(g) = st.groups.get_mut(&id) else {
                    return fault(404, "ReplicationGroupNotFoundFault", "not found");
                };
                g.status = "deleting".into();
                let xml = group_xml(&id, g);
                st.groups.remove(&id);
                ok(&action, &xml)
            }
            "ListTagsForResource" | "AddTagsToResource" | "RemoveTagsFromResource" => {
                let arn = f.get("ResourceName").cloned().unwrap_or_default();
                let Some(tags) = st.tags.get_mut(&arn) else {
                    return fault(404, "InvalidARN", "no such resource");
                };
                if action == "AddTagsToResource" {
                    tags.extend(tags_of(&f));
                } else if action == "RemoveTagsFromResource" {
                    for k in list(&f, "TagKeys.member") {
                        tags.remove(&k);
                    }
                }
                let xml: String = tags
                    .iter()
                    .map(|(k, v)| format!("<Tag>{}{}</Tag>", el("Key", k), el("Value", v)))
                    .collect();
                ok(&action, &format!("<TagList>{xml}</TagList>"))
            }
            other => fault(400, "InvalidAction", &format!("{other} is not served here")),
        }
    }
}

fn tags_of(f: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    (1..)
        .map_while(|i| {
            Some((
                f.get(&format!("Tags.Tag.{i}.Key"))?.clone(),
                f.get(&format!("Tags.Tag.{i}.Value"))
                    .cloned()
                    .unwrap_or_default(),
            ))
        })
        .collect()
}

async fn fake() -> (MockServer, Arc<Mutex<State>>, ElastiCacheProvider) {
    let server = MockServer::start().await;
    let state = Arc::new(Mutex::new(State::default()));
    Mock::given(method("POST"))
        .respond_with(FakeElastiCache(Arc::clone(&state)))
        .mount(&server)
        .await;
    let clients = AwsClients::from_sdk(sdk_config_for(&server.uri()));
    let p = ElastiCacheProvider::new(clients.elasticache.clone())
        .with_wait_timeout(Duration::from_secs(120));
    (server, state, p)
}

fn actions(state: &Mutex<State>) -> Vec<String> {
    state
        .lock()
        .unwrap()
        .calls
        .iter()
        .map(|c| c.0.clone())
        .collect()
}

fn last_call(state: &Mutex<State>, action: &str) -> BTreeMap<String, String> {
    state
        .lock()
        .unwrap()
        .calls
        .iter()
        .rev()
        .find(|c| c.0 == action)
        .unwrap_or_else(|| panic!("no {action} call"))
        .1
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_round_trip_against_the_query_protocol() {
    let (_server, state, p) = fake().await;
    let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd";
    let subnets: Vec<String> = ["subnet-c", "subnet-a", "subnet-b"]
        .map(String::from)
        .to_vec();

    // Subnet group: create → read → ModifyCacheSubnetGroup (description, subnets) and tags.
    let mut sgd = subnet_group(&subnets);
    let sgh = p.create(&sgd).await.unwrap();
    assert_live(&p, &sgd, &sgh).await;
    sgd.properties["description"] = json!("Private subnets, two zones");
    sgd.properties["subnet_ids"] = json!(["subnet-b", "subnet-a"]);
    sgd.tags.insert("tier".into(), "cache".into());
    update(&p, &sgd, &sgh).await;
    let modify = last_call(&state, "ModifyCacheSubnetGroup");
    assert_eq!(
        modify["CacheSubnetGroupDescription"],
        "Private subnets, two zones"
    );
    assert_eq!(
        list(&modify, "SubnetIds.SubnetIdentifier"),
        ["subnet-b", "subnet-a"]
    );
    assert_eq!(p.find(&sgd).await.unwrap(), Some(sgh.clone()));

    // Replication group: create waits for `available`, then reads back equal, member-cluster
    // settings included (7.1.0 reads as 7.1).
    let mut rg = sessions(key, "sg-2");
    rg.properties["security_group_ids"] = json!(["sg-2", "sg-1"]);
    let rgh = p.create(&rg).await.unwrap();
    let calls = actions(&state);
    let create_at = calls
        .iter()
        .position(|c| c == "CreateReplicationGroup")
        .unwrap();
    assert_eq!(
        calls[create_at + 1],
        "DescribeReplicationGroups",
        "create waits: {calls:?}"
    );
    let create = last_call(&state, "CreateReplicationGroup");
    assert_eq!(
        create["LogDeliveryConfigurations.LogDeliveryConfigurationRequest.1.DestinationDetails.CloudWatchLogsDetails.LogGroup"],
        "/aws/elasticache/wer1-prod-sessions/slow-log",
        "the log group is named, not given by ARN"
    );
    assert_eq!(create["Tags.Tag.1.Key"], "cost-center");
    assert!(
        tags_of(&create).get("tollgate:resource") == Some(&"t/sessions".to_owned()),
        "created with the owner tag: {create:?}"
    );
    let live = assert_live(&p, &rg, &rgh).await;
    assert_eq!(live.properties["engine_version"], "7.1");
    assert_eq!(
        live.properties["security_group_ids"],
        json!(["sg-1", "sg-2"])
    );
    assert!(live.properties.get("apply_immediately").is_none());

    // Every kind of in-place change: ModifyReplicationGroup with only what changed, a replica
    // fewer, the slow log as text plus the engine log, tags. No delete, no create.
    let before = actions(&state).len();
    rg.properties["description"] = json!("Sessions and rate limits");
    rg.properties["node_type"] = json!("cache.r6g.xlarge");
    rg.properties["snapshot_retention_limit"] = json!(14);
    rg.properties["maintenance_window"] = json!("sat:02:30-sat:03:30");
    rg.properties["security_group_ids"] = json!(["sg-3"]);
    rg.properties["num_cache_clusters"] = json!(2);
    rg.properties["log_delivery_configuration"] = json!([
        {"destination": "/aws/elasticache/wer1-prod-sessions/engine-log",
         "destination_type": "cloudwatch-logs", "log_format": "text", "log_type": "engine-log"}
    ]);
    rg.tags.remove("cost-center");
    rg.tags.insert("tier".into(), "cache".into());
    let rgh2 = update(&p, &rg, &rgh).await;
    assert_eq!(rgh2, rgh);
    let calls: Vec<String> = actions(&state)[before..].to_vec();
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("Delete") || c.starts_with("Create")),
        "{calls:?}"
    );
    let modify_at = calls
        .iter()
        .position(|c| c == "ModifyReplicationGroup")
        .unwrap();
    // The modify waits until `available` again (else DecreaseReplicaCount would meet a
    // `modifying` group and be refused).
    assert_eq!(
        calls[modify_at + 1],
        "DescribeReplicationGroups",
        "{calls:?}"
    );
    let decrease_at = calls
        .iter()
        .position(|c| c == "DecreaseReplicaCount")
        .unwrap();
    assert!(decrease_at > modify_at + 1);
    let modify = last_call(&state, "ModifyReplicationGroup");
    assert_eq!(modify["ApplyImmediately"], "false");
    assert_eq!(modify["CacheNodeType"], "cache.r6g.xlarge");
    assert_eq!(modify["PreferredMaintenanceWindow"], "sat:02:30-sat:03:30");
    assert!(
        !modify.contains_key("EngineVersion"),
        "unchanged settings are not sent: {modify:?}"
    );
    assert!(!modify.contains_key("MultiAZEnabled"));
    let logs = log_requests(&modify);
    assert!(
        logs.contains(&("slow-log".into(), None)),
        "the slow log is switched off: {logs:?}"
    );
    assert_eq!(
        last_call(&state, "DecreaseReplicaCount")["NewReplicaCount"],
        "1"
    );
    assert_eq!(
        list(
            &last_call(&state, "RemoveTagsFromResource"),
            "TagKeys.member"
        ),
        ["cost-center"]
    );

    // Adoption by name.
    assert_eq!(
        p.find(&rg).await.unwrap().map(|h| h.reference),
        Some(rgh.reference.clone())
    );

    // The subnet group cannot go while the group uses it: a 4xx, reported with its code.
    let err = p
        .delete("aws_elasticache_subnet_group", &sgh)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("CacheSubnetGroupInUse"), "{err}");

    // Delete waits until the group is gone; deleting again succeeds.
    p.delete("aws_elasticache_replication_group", &rgh)
        .await
        .unwrap();
    assert_eq!(
        p.read("aws_elasticache_replication_group", &rgh)
            .await
            .unwrap(),
        None
    );
    p.delete("aws_elasticache_replication_group", &rgh)
        .await
        .unwrap();
    assert_eq!(p.find(&rg).await.unwrap(), None);

    p.delete("aws_elasticache_subnet_group", &sgh)
        .await
        .unwrap();
    assert_eq!(
        p.read("aws_elasticache_subnet_group", &sgh).await.unwrap(),
        None
    );
    p.delete("aws_elasticache_subnet_group", &sgh)
        .await
        .unwrap();
    assert_eq!(p.find(&sgd).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_available_is_bounded() {
    let (_server, state, p) = fake().await;
    let p = p.with_wait_timeout(Duration::from_secs(2));
    state.lock().unwrap().stuck = true;
    let rg = sessions("arn:aws:kms:eu-west-1:123456789012:key/k", "sg-1");
    let started = Instant::now();
    let err = p.create(&rg).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("waiting for replication group `wer1-prod-sessions` to be available"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}
