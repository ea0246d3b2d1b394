//! End-to-end tests of `tollgate plan`, `tollgate apply` and `tollgate state` against moto's
//! server: the real binary in a temporary working folder, one moto per test on loopback, the
//! child's environment stripped of inherited `AWS_*` / `TOLLGATE_*` variables and given the safe
//! test settings (explicit credentials and region, no instance metadata, `AWS_ENDPOINT_URL`).
//!
//! What is shown: the shipped AWS stacks apply and a second plan is empty; a non-compliant plan
//! never reaches a provider; edited, other-policy and stale plans are refused; a process killed
//! (SIGKILL) at several points, or stopped with SIGINT, converges on re-apply with exactly one
//! object per resource; held locks (file and S3) name their holder and are released by id.
#![cfg(feature = "provision")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns unwrap too

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tollgate_providers::aws::AwsClients;
use tollgate_providers::state::{Backend, Location, LockInfo, State};
use tollgate_testkit::Moto;
use tollgate_testkit::proxy::{FaultProxy, Hold, Rule};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally, not by a signal")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn both(o: &Output) -> String {
    format!("--- stdout\n{}--- stderr\n{}", stdout(o), stderr(o))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn first_rego(dir: &Path) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in &entries {
        if p.extension().is_some_and(|e| e == "rego") {
            return Some(p.clone());
        }
    }
    entries
        .iter()
        .filter(|p| p.is_dir())
        .find_map(|p| first_rego(p))
}

/// One test's world: moto, a working folder with the shipped policies, SDK clients on moto.
struct Sandbox {
    moto: Moto,
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    aws: AwsClients,
}

impl Sandbox {
    fn new() -> Self {
        let moto = Moto::start();
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&root().join("policies"), &dir.path().join("policies"));
        std::fs::create_dir_all(dir.path().join("stacks")).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let aws = AwsClients::from_sdk(moto.sdk_config());
        Sandbox { moto, dir, rt, aws }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `tollgate ARGS` in the working folder, talking to this test's moto only.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tollgate"));
        c.args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        for (key, _) in std::env::vars_os() {
            let k = key.to_string_lossy();
            if k.starts_with("AWS_") || k.starts_with("TOLLGATE_") {
                c.env_remove(&key);
            }
        }
        c.envs(self.moto.env());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run tollgate")
    }

    fn write_stack(&self, name: &str, doc: &Value) {
        std::fs::write(
            self.path(&format!("stacks/{name}.json")),
            serde_json::to_vec_pretty(doc).unwrap(),
        )
        .unwrap();
    }

    fn state(&self) -> State {
        let file = self.path(".tollgate/state.json");
        State::parse(&std::fs::read(&file).unwrap(), &file.display().to_string()).unwrap()
    }

    /// VPC ids by their `tollgate:resource` tag (the default VPC has none and is left out).
    fn vpcs_by_owner(&self) -> BTreeMap<String, Vec<String>> {
        let out = self
            .rt
            .block_on(self.aws.ec2.describe_vpcs().send())
            .unwrap();
        let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for vpc in out.vpcs() {
            if let Some(owner) = vpc
                .tags()
                .iter()
                .find(|t| t.key() == Some("tollgate:resource"))
                .and_then(|t| t.value())
            {
                by.entry(owner.to_owned())
                    .or_default()
                    .push(vpc.vpc_id().unwrap_or_default().to_owned());
            }
        }
        by
    }

    fn bucket_names(&self) -> Vec<String> {
        let out = self.rt.block_on(self.aws.s3.list_buckets().send()).unwrap();
        out.buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_owned))
            .collect()
    }
}

/// A compliant dev stack of `n` VPCs: objects with no unique name of their own, found again only
/// by Tollgate's owner tag.
fn vpc_stack(name: &str, n: usize, first_octet: usize) -> Value {
    let resources: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "id": format!("vpc-{i:02}"),
                "type": "aws_vpc",
                "properties": {
                    "cidr_block": format!("10.{}.0.0/16", first_octet + i),
                    "enable_dns_support": true,
                    "enable_dns_hostnames": true
                },
                "tags": {
                    "owner": "platform",
                    "environment": "dev",
                    "cost-center": "cc-plat",
                    "stack": name,
                    "Name": format!("{name}-{i:02}")
                }
            })
        })
        .collect();
    json!({
        "stack": name,
        "repository": format!("aws-eu-west-1-dev-{name}-main"),
        "environment": "dev",
        "region": "eu-west-1",
        "account": "dev",
        "owner": "platform",
        "budget": {"monthly_limit_usd": 100, "alert_thresholds_pct": [80, 100]},
        "resources": resources
    })
}

fn addresses(stack: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{stack}/vpc-{i:02}")).collect()
}

/// Asserts exactly one VPC per address, and no other tagged VPC.
fn assert_one_vpc_each(sb: &Sandbox, expected: &[String]) {
    let by = sb.vpcs_by_owner();
    for a in expected {
        let ids = by.get(a).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(ids.len(), 1, "{a}: VPCs {ids:?} (all: {by:?})");
    }
    assert_eq!(by.len(), expected.len(), "unexpected tagged VPCs: {by:?}");
}

const NO_CHANGES: &str = "Plan: 0 to add, 0 to change, 0 to replace, 0 to destroy";

// ---------------------------------------------------------------------------------------------
// 1. The shipped AWS stacks
// ---------------------------------------------------------------------------------------------

/// The shipped stacks whose every AWS type has a provider and is served by moto (the sandbox's
/// list). `storage-github-repositories` is left out: its bucket policies refer to
/// `${github-runner.runner-role}`, and github-runner needs autoscaling, which has no provider yet.
const SHIPPED: &[&str] = &[
    "governance",
    "iam",
    "budgeting",
    "networking",
    "storage-event-storage",
    "bastion",
    "cluster-system",
    "cluster-compute",
    "database",
    "cache",
    "search",
];

#[test]
fn the_shipped_aws_stacks_apply_and_a_second_plan_shows_no_changes() {
    let sb = Sandbox::new();
    // Environment set-up, not product behaviour: the stacks name one real organisation's root and
    // OUs and one real AMI. moto's account needs an organisation (Organizations answers 500
    // without one); its root, OUs and AMIs have other ids, so the copies use those.
    let (root_id, prod_ou, security_ou, ami) = sb.rt.block_on(async {
        let org = &sb.aws.organizations;
        org.create_organization().send().await.unwrap();
        let roots = org.list_roots().send().await.unwrap();
        let root_id = roots.roots()[0].id().unwrap().to_owned();
        let ou = |name: &'static str| {
            let root_id = root_id.clone();
            async move {
                org.create_organizational_unit()
                    .parent_id(root_id)
                    .name(name)
                    .send()
                    .await
                    .unwrap()
                    .organizational_unit()
                    .unwrap()
                    .id()
                    .unwrap()
                    .to_owned()
            }
        };
        let prod = ou("prod").await;
        let security = ou("security").await;
        let images = sb
            .aws
            .ec2
            .describe_images()
            .owners("amazon")
            .send()
            .await
            .unwrap();
        let ami = images
            .images()
            .iter()
            .find(|i| i.root_device_name().is_some())
            .and_then(|i| i.image_id())
            .unwrap()
            .to_owned();
        (root_id, prod, security, ami)
    });
    let mut total = 0;
    for name in SHIPPED {
        let mut text = std::fs::read_to_string(root().join(format!("stacks/{name}.json"))).unwrap();
        match *name {
            "governance" => {
                text = text
                    .replace("\"r-w3r1\"", &format!("\"{root_id}\""))
                    .replace("ou-w3r1-pr0d7x2q", &prod_ou)
                    .replace("ou-w3r1-s3cur1ty", &security_ou);
            }
            "bastion" => text = text.replace("ami-0c1f3a9e5d7b24680", &ami),
            _ => {}
        }
        let mut doc: Value = serde_json::from_str(&text).unwrap();
        // As the sandbox does: Kubernetes objects are not AWS resources, moto serves no EKS
        // add-ons, and it answers an Aurora cluster with `storage_type: aurora` with a 500.
        let mut elsewhere = serde_json::Map::new();
        for r in doc["resources"].as_array_mut().unwrap() {
            let t = r["type"].as_str().unwrap().to_owned();
            if !t.starts_with("aws_") || t == "aws_eks_addon" {
                elsewhere.insert(t.clone(), json!("outside what moto serves"));
            } else {
                total += 1;
            }
            if t == "aws_rds_cluster" {
                r["properties"]
                    .as_object_mut()
                    .unwrap()
                    .remove("storage_type");
            }
        }
        if !elsewhere.is_empty() {
            doc["managed_elsewhere"] = Value::Object(elsewhere);
        }
        sb.write_stack(name, &doc);
    }
    // The estate's waivers come along: the database stack's repository-name finding is waived.
    std::fs::copy(root().join("waivers.json"), sb.path("waivers.json")).unwrap();
    let paths: Vec<String> = SHIPPED.iter().map(|s| format!("stacks/{s}.json")).collect();
    let mut args = vec!["plan", "-o", "p.json"];
    args.extend(paths.iter().map(String::as_str));

    let o = sb.run(&args);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(
        stdout(&o).contains(&format!(
            "Plan: {total} to add, 0 to change, 0 to replace, 0 to destroy (0 unchanged)."
        )),
        "{}",
        both(&o)
    );
    assert!(stdout(&o).contains("Verdict: PASS"), "{}", both(&o));

    let o = sb.run(&["apply", "p.json", "--auto-approve"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(stdout(&o).contains("Apply complete"), "{}", both(&o));
    assert!(
        stdout(&o).contains(&format!("{total} created")),
        "{}",
        both(&o)
    );

    let args2: Vec<&str> = args
        .iter()
        .map(|a| if *a == "p.json" { "p2.json" } else { a })
        .collect();
    let o = sb.run(&args2);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(
        stdout(&o).contains(&format!("{NO_CHANGES} ({total} unchanged).")),
        "{}",
        both(&o)
    );
    let o = sb.run(&["apply", "p2.json", "--auto-approve"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(stdout(&o).contains("No changes"), "{}", both(&o));

    // `state list` names every provisioned resource, once, applied, with its provider id.
    let o = sb.run(&["state", "list"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let listing = stdout(&o);
    let lines: Vec<&str> = listing.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines.len(), total, "{listing}");
    for name in SHIPPED {
        let doc: Value = serde_json::from_slice(
            &std::fs::read(sb.path(&format!("stacks/{name}.json"))).unwrap(),
        )
        .unwrap();
        let elsewhere = doc["managed_elsewhere"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for r in doc["resources"].as_array().unwrap() {
            if elsewhere.contains_key(r["type"].as_str().unwrap()) {
                continue;
            }
            let address = format!("{name}/{}", r["id"].as_str().unwrap());
            let line = lines
                .iter()
                .find(|l| l.split('\t').next() == Some(address.as_str()))
                .unwrap_or_else(|| panic!("{address} not listed:\n{listing}"));
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields[1], r["type"].as_str().unwrap(), "{line}");
            assert_eq!(fields[2], "Applied", "{line}");
            assert_ne!(fields[3], "-", "{line}");
        }
    }

    // The objects really exist in moto, as the documents say.
    let state = sb.state();
    let handle = |a: &str| {
        state.resources[a]
            .handle
            .as_ref()
            .unwrap()
            .provider_id
            .clone()
    };
    sb.rt.block_on(async {
        let enc = sb
            .aws
            .s3
            .get_bucket_encryption()
            .bucket("wer1-prod-events-raw")
            .send()
            .await
            .unwrap();
        let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
        let by_default = rule.apply_server_side_encryption_by_default().unwrap();
        assert_eq!(by_default.sse_algorithm().as_str(), "aws:kms");
        let key_id = handle("storage-event-storage/events-key");
        assert!(
            by_default
                .kms_master_key_id()
                .is_some_and(|k| k.contains(&key_id)),
            "{by_default:?} should use {key_id}"
        );
        assert_eq!(rule.bucket_key_enabled(), Some(true));

        let role = sb
            .aws
            .iam
            .get_role()
            .role_name("wer1-platform-admin")
            .send()
            .await
            .unwrap();
        let role = role.role().unwrap();
        assert!(
            role.tags()
                .iter()
                .any(|t| t.key() == "tollgate:resource" && t.value() == "iam/platform-admin"),
            "{role:?}"
        );

        // A service control policy is attached where the (rewritten) stack says.
        let scp = handle("governance/scp-deny-leave-org");
        let targets = sb
            .aws
            .organizations
            .list_targets_for_policy()
            .policy_id(&scp)
            .send()
            .await
            .unwrap();
        assert!(
            targets
                .targets()
                .iter()
                .any(|t| t.target_id() == Some(root_id.as_str())),
            "{targets:?}"
        );

        let vpc = handle("networking/vpc");
        let vpcs = sb
            .aws
            .ec2
            .describe_vpcs()
            .vpc_ids(&vpc)
            .send()
            .await
            .unwrap();
        assert_eq!(vpcs.vpcs().len(), 1);

        // The data layer and the clusters: encrypted with their own stack's key, in the
        // networking stack's private subnets.
        let db = sb
            .aws
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(handle("database/db-cluster"))
            .send()
            .await
            .unwrap();
        let db = &db.db_clusters()[0];
        assert_eq!(db.storage_encrypted(), Some(true));
        assert_eq!(db.db_cluster_members().len(), 2, "{db:?}");
        let cache = sb
            .aws
            .elasticache
            .describe_replication_groups()
            .replication_group_id("wer1-prod-sessions")
            .send()
            .await
            .unwrap();
        assert_eq!(
            cache.replication_groups()[0].at_rest_encryption_enabled(),
            Some(true)
        );
        let domain = sb
            .aws
            .opensearch
            .describe_domain()
            .domain_name("wer1-prod-catalogue")
            .send()
            .await
            .unwrap();
        let vpc_options = domain.domain_status().unwrap().vpc_options().unwrap();
        assert!(
            vpc_options
                .subnet_ids()
                .contains(&handle("networking/private-a")),
            "{vpc_options:?}"
        );
        let cluster = sb
            .aws
            .eks
            .describe_cluster()
            .name("wer1-prod-system")
            .send()
            .await
            .unwrap();
        let cluster = cluster.cluster().unwrap();
        assert!(
            cluster.encryption_config()[0]
                .provider()
                .and_then(|p| p.key_arn())
                .is_some_and(|k| k.contains(&handle("cluster-system/eks-key"))),
            "{cluster:?}"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// 2. The gate
// ---------------------------------------------------------------------------------------------

#[test]
fn a_non_compliant_plan_is_written_but_never_reaches_a_provider() {
    let sb = Sandbox::new();
    std::fs::copy(
        root().join("fixtures/policies/TG-ENC-001/violating/stack.json"),
        sb.path("stacks/fixture.json"),
    )
    .unwrap();
    let o = sb.run(&["plan", "stacks/fixture.json", "-o", "p.json"]);
    assert_eq!(code(&o), 1, "{}", both(&o));
    assert!(stdout(&o).contains("Verdict: FAIL"), "{}", both(&o));
    assert!(stdout(&o).contains("TG-ENC-001"), "{}", both(&o));
    let plan: Value = serde_json::from_slice(&std::fs::read(sb.path("p.json")).unwrap()).unwrap();
    assert_eq!(plan["verdict"], "fail", "{plan:#}");

    let o = sb.run(&["apply", "p.json", "--auto-approve"]);
    assert_eq!(code(&o), 1, "{}", both(&o));
    assert!(stderr(&o).contains("not compliant"), "{}", both(&o));
    assert!(stderr(&o).contains("TG-ENC-001"), "{}", both(&o));
    assert!(sb.bucket_names().is_empty(), "{:?}", sb.bucket_names());
    let keys = sb
        .rt
        .block_on(sb.aws.kms.list_keys().send())
        .unwrap()
        .keys()
        .len();
    assert_eq!(keys, 0, "no KMS key may be created either");
    assert!(
        !sb.path(".tollgate/state.json").exists(),
        "no state written"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Edited, other-policy, stale and resumed plans
// ---------------------------------------------------------------------------------------------

#[test]
fn edited_other_policy_and_stale_plans_are_refused_and_a_finished_plan_may_run_again() {
    let sb = Sandbox::new();
    sb.write_stack("refusals", &vpc_stack("refusals", 2, 20));
    let o = sb.run(&["plan", "stacks/refusals.json", "-o", "p.json"]);
    assert_eq!(code(&o), 0, "{}", both(&o));

    // Edited: one value changed, the file rewritten.
    let mut plan: Value =
        serde_json::from_slice(&std::fs::read(sb.path("p.json")).unwrap()).unwrap();
    plan["stacks"][0]["document"]["resources"][0]["properties"]["cidr_block"] =
        json!("10.99.0.0/16");
    std::fs::write(
        sb.path("edited.json"),
        serde_json::to_vec_pretty(&plan).unwrap(),
    )
    .unwrap();
    let o = sb.run(&["apply", "edited.json", "--auto-approve"]);
    assert_eq!(code(&o), 2, "{}", both(&o));
    assert!(stderr(&o).contains("edited"), "{}", both(&o));

    // Other policies: the same bundle with one comment line added.
    copy_dir(&sb.path("policies"), &sb.path("policies-copy"));
    let rego =
        first_rego(&sb.path("policies-copy/rego")).expect("a .rego file under policies/rego");
    let mut text = std::fs::read_to_string(&rego).unwrap();
    text.push_str("\n# a comment changes the bundle's digest\n");
    std::fs::write(&rego, text).unwrap();
    let o = sb.run(&[
        "apply",
        "p.json",
        "--policies",
        "policies-copy",
        "--auto-approve",
    ]);
    assert_eq!(code(&o), 2, "{}", both(&o));
    assert!(stderr(&o).contains("other policies"), "{}", both(&o));
    assert!(sb.vpcs_by_owner().is_empty(), "nothing applied yet");

    // The untouched plan applies.
    let o = sb.run(&["apply", "p.json", "--auto-approve"]);
    assert_eq!(code(&o), 0, "{}", both(&o));

    // Stale: plans A and B against the same state (B adds one VPC more; two identical plans
    // made in the same second are the same plan); A applies, B is refused.
    sb.write_stack("refusals", &vpc_stack("refusals", 3, 20));
    let a = sb.run(&["plan", "stacks/refusals.json", "-o", "a.json"]);
    assert_eq!(code(&a), 0, "{}", both(&a));
    sb.write_stack("refusals", &vpc_stack("refusals", 4, 20));
    let b = sb.run(&["plan", "stacks/refusals.json", "-o", "b.json"]);
    assert_eq!(code(&b), 0, "{}", both(&b));
    let o = sb.run(&["apply", "a.json", "--auto-approve"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let o = sb.run(&["apply", "b.json", "--auto-approve"]);
    assert_eq!(code(&o), 2, "{}", both(&o));
    assert!(stderr(&o).contains("stale"), "{}", both(&o));

    // A plan the state says was the last one run is accepted again (a resumed plan); finished,
    // it has nothing left to do.
    let o = sb.run(&["apply", "a.json", "--auto-approve"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(!stdout(&o).contains("created"), "{}", both(&o));
    assert_one_vpc_each(&sb, &addresses("refusals", 3));
}

#[test]
fn two_plans_made_before_any_state_the_second_is_refused_as_stale() {
    let sb = Sandbox::new();
    for (n, p) in [(1, "a.json"), (2, "b.json")] {
        sb.write_stack("fresh", &vpc_stack("fresh", n, 30));
        let o = sb.run(&["plan", "stacks/fresh.json", "-o", p]);
        assert_eq!(code(&o), 0, "{}", both(&o));
    }
    let o = sb.run(&["apply", "a.json", "--auto-approve"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let o = sb.run(&["apply", "b.json", "--auto-approve"]);
    assert_eq!(code(&o), 2, "{}", both(&o));
    assert!(stderr(&o).contains("stale"), "{}", both(&o));
    assert_one_vpc_each(&sb, &addresses("fresh", 1));
}

// ---------------------------------------------------------------------------------------------
// 4. Killed or interrupted mid-apply, then re-applied
// ---------------------------------------------------------------------------------------------

/// Counts of (applied, creating) entries in the state file; `None` while there is none.
fn progress(file: &Path) -> Option<(usize, usize)> {
    let bytes = std::fs::read(file).ok()?;
    // Written atomically (rename): a read sees a whole state or the previous one.
    let state = State::parse(&bytes, "state").expect("state readable at every moment");
    let applied = state
        .resources
        .values()
        .filter(|r| r.status == tollgate_providers::state::Status::Applied)
        .count();
    Some((applied, state.resources.len() - applied))
}

fn progress_state(file: &Path) -> Option<State> {
    let bytes = std::fs::read(file).ok()?;
    Some(State::parse(&bytes, "state").expect("state readable at every moment"))
}

/// Polls the state until `ready`, then returns; panics if the apply ends first.
fn wait_for_state(
    child: &mut Child,
    file: &Path,
    what: &str,
    ready: impl Fn(usize, usize) -> bool,
) {
    let start = Instant::now();
    loop {
        if let Some((applied, creating)) = progress(file)
            && ready(applied, creating)
        {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("apply ended ({status}) before {what}: {:?}", progress(file));
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn spawn_apply(sb: &Sandbox) -> Child {
    sb.command(&["apply", "p.json", "--auto-approve", "--parallelism", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tollgate apply")
}

/// The lock a killed apply left behind: the next apply names it, `state unlock` releases it.
fn release_stale_lock(sb: &Sandbox) {
    let lock: Value =
        serde_json::from_slice(&std::fs::read(sb.path(".tollgate/state.json.lock")).unwrap())
            .unwrap();
    let id = lock["id"].as_str().unwrap();
    let o = sb.run(&["apply", "p.json", "--auto-approve"]);
    assert_eq!(code(&o), 1, "{}", both(&o));
    assert!(stderr(&o).contains(id), "{}", both(&o));
    let o = sb.run(&["state", "unlock", id]);
    assert_eq!(code(&o), 0, "{}", both(&o));
}

#[test]
fn an_apply_killed_at_several_points_converges_with_no_duplicates() {
    const N: usize = 10;
    let sb = Sandbox::new();
    sb.write_stack("killed", &vpc_stack("killed", N, 40));
    let o = sb.run(&["plan", "stacks/killed.json", "-o", "p.json"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let file = sb.path(".tollgate/state.json");

    // Kill points: the first intent recorded; after 3 applied with the 4th's intent recorded;
    // after 5 applied.
    type Point = (&'static str, fn(usize, usize) -> bool);
    let points: [Point; 3] = [
        ("the first intent", |_, creating| creating >= 1),
        ("3 applied and an intent", |applied, creating| {
            applied >= 3 && creating >= 1
        }),
        ("5 applied", |applied, _| applied >= 5),
    ];
    for (what, ready) in points {
        let mut child = spawn_apply(&sb);
        wait_for_state(&mut child, &file, what, ready);
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert_eq!(status.code(), None, "killed by a signal: {status}");
        let (applied, creating) = progress(&file).expect("state survives the kill");
        assert!(applied + creating <= N, "{applied} + {creating}");
        release_stale_lock(&sb);
    }

    // The worst moment: the service has made the object, the state still says "creating".
    let mut child = spawn_apply(&sb);
    let start = Instant::now();
    let caught = loop {
        let state = progress_state(&file);
        let creating: Vec<String> = state
            .iter()
            .flat_map(|s| s.resources.iter())
            .filter(|(_, r)| r.status == tollgate_providers::state::Status::Creating)
            .map(|(a, _)| a.clone())
            .collect();
        if !creating.is_empty() {
            let by = sb.vpcs_by_owner();
            if let Some(a) = creating.iter().find(|a| by.contains_key(*a)) {
                child.kill().unwrap();
                child.wait().unwrap();
                // Still unrecorded after the kill (the record may have raced the kill).
                let after = sb.state();
                if after.resources[a].status == tollgate_providers::state::Status::Creating {
                    break a.clone();
                }
                release_stale_lock(&sb);
                child = spawn_apply(&sb);
                continue;
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("apply ended ({status}) before an object was caught unrecorded");
        }
        assert!(start.elapsed() < Duration::from_secs(120), "timed out");
    };
    release_stale_lock(&sb);

    // The same plan again: accepted as a resumed plan; it finds the unrecorded object by its
    // owner tag and adopts it instead of creating a second one, and it finishes.
    let o = sb.run(&["apply", "p.json", "--auto-approve", "--parallelism", "1"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(stdout(&o).contains("Apply complete"), "{}", both(&o));
    assert!(
        stdout(&o).contains(&format!("{caught} [Create]: adopted")),
        "{}",
        both(&o)
    );
    let state = sb.state();
    assert_eq!(state.resources.len(), N);
    assert!(
        state
            .resources
            .values()
            .all(|r| r.status == tollgate_providers::state::Status::Applied)
    );
    assert_one_vpc_each(&sb, &addresses("killed", N));
    // Each state entry points at the one VPC carrying its tag.
    let by = sb.vpcs_by_owner();
    for (address, r) in &state.resources {
        assert_eq!(
            by[address],
            vec![r.handle.as_ref().unwrap().provider_id.clone()]
        );
    }
    let o = sb.run(&["plan", "stacks/killed.json", "-o", "p2.json"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(stdout(&o).contains(NO_CHANGES), "{}", both(&o));
}

#[test]
fn an_apply_stopped_with_sigint_saves_state_exits_130_and_resumes() {
    const N: usize = 10;
    let sb = Sandbox::new();
    sb.write_stack("stopped", &vpc_stack("stopped", N, 60));
    let o = sb.run(&["plan", "stacks/stopped.json", "-o", "p.json"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let plan: Value = serde_json::from_slice(&std::fs::read(sb.path("p.json")).unwrap()).unwrap();
    let file = sb.path(".tollgate/state.json");

    let mut child = spawn_apply(&sb);
    wait_for_state(&mut child, &file, "2 applied", |applied, _| applied >= 2);
    let pid = child.id().to_string();
    let k = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(k.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 130, "{}", both(&o));
    assert!(stdout(&o).contains("Apply interrupted"), "{}", both(&o));
    assert!(stdout(&o).contains("not started"), "{}", both(&o));

    // The in-flight call finished and was recorded; the lock is released.
    let state = sb.state();
    assert!(state.resources.len() < N, "{:?}", state.resources.keys());
    assert!(
        state
            .resources
            .values()
            .all(|r| r.status == tollgate_providers::state::Status::Applied),
        "a stop lets the call in flight finish: {state:?}"
    );
    assert_eq!(state.last_plan.as_deref(), plan["digest"].as_str());
    assert!(!sb.path(".tollgate/state.json.lock").exists());

    let o = sb.run(&["apply", "p.json", "--auto-approve"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(stdout(&o).contains("already done"), "{}", both(&o));
    assert_one_vpc_each(&sb, &addresses("stopped", N));
}

// ---------------------------------------------------------------------------------------------
// 5. A held lock
// ---------------------------------------------------------------------------------------------

#[test]
fn a_held_file_lock_stops_apply_naming_its_holder_until_unlocked() {
    let sb = Sandbox::new();
    sb.write_stack("locked", &vpc_stack("locked", 1, 80));
    let o = sb.run(&["plan", "stacks/locked.json", "-o", "p.json"]);
    assert_eq!(code(&o), 0, "{}", both(&o));

    let holder = LockInfo::new("apply");
    let backend = Backend::file(sb.path(".tollgate/state.json"));
    sb.rt.block_on(backend.lock(&holder)).unwrap();

    let o = sb.run(&["apply", "p.json", "--auto-approve"]);
    assert_eq!(code(&o), 1, "{}", both(&o));
    let err = stderr(&o);
    for part in [&holder.id, &holder.who, &holder.created] {
        assert!(err.contains(part.as_str()), "{part} missing: {err}");
    }
    assert!(sb.vpcs_by_owner().is_empty());

    let o = sb.run(&["state", "unlock", "not-the-id"]);
    assert_eq!(code(&o), 2, "{}", both(&o));
    assert!(stderr(&o).contains(&holder.id), "{}", both(&o));
    let o = sb.run(&["state", "unlock", &holder.id]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(stdout(&o).contains("Released"), "{}", both(&o));

    let o = sb.run(&["apply", "p.json", "--auto-approve"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert_one_vpc_each(&sb, &addresses("locked", 1));
}

#[test]
fn a_held_s3_lock_stops_apply_naming_its_holder_until_unlocked() {
    let sb = Sandbox::new();
    let bucket = "tollgate-test-state";
    sb.rt.block_on(async {
        sb.aws
            .s3
            .create_bucket()
            .bucket(bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    let location = format!("s3://{bucket}/teams/platform/state.json");
    sb.write_stack("s3locked", &vpc_stack("s3locked", 1, 90));
    let o = sb.run(&[
        "plan",
        "stacks/s3locked.json",
        "-o",
        "p.json",
        "--state",
        &location,
    ]);
    assert_eq!(code(&o), 0, "{}", both(&o));

    let holder = LockInfo::new("apply");
    let backend = Backend::new(Location::parse(&location).unwrap(), Some(sb.aws.s3.clone()));
    sb.rt.block_on(backend.lock(&holder)).unwrap();

    // The plan remembers its state location; apply takes it from there.
    let o = sb.run(&["apply", "p.json", "--auto-approve"]);
    assert_eq!(code(&o), 1, "{}", both(&o));
    let err = stderr(&o);
    for part in [&holder.id, &holder.who, &holder.created] {
        assert!(err.contains(part.as_str()), "{part} missing: {err}");
    }
    assert!(sb.vpcs_by_owner().is_empty());

    let o = sb.run(&["state", "--state", &location, "unlock", &holder.id]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let o = sb.run(&["apply", "p.json", "--auto-approve"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert_one_vpc_each(&sb, &addresses("s3locked", 1));
    assert!(
        !sb.path(".tollgate/state.json").exists(),
        "state went to S3"
    );

    let o = sb.run(&["state", "list", "--state", &location]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(
        stdout(&o).contains("s3locked/vpc-00\taws_vpc\tApplied\tvpc-"),
        "{}",
        both(&o)
    );
    // The lock object is gone after the apply.
    let lock = sb.rt.block_on(
        sb.aws
            .s3
            .head_object()
            .bucket(bucket)
            .key("teams/platform/state.json.lock")
            .send(),
    );
    assert!(lock.is_err(), "lock object left behind: {lock:?}");
}

// ---------------------------------------------------------------------------------------------
// 6. Confirmation and `state show`
// ---------------------------------------------------------------------------------------------

#[test]
fn apply_without_auto_approve_and_no_terminal_asks_for_it_and_state_show_prints_a_resource() {
    let sb = Sandbox::new();
    sb.write_stack("asked", &vpc_stack("asked", 1, 100));
    let o = sb.run(&["plan", "stacks/asked.json", "-o", "p.json"]);
    assert_eq!(code(&o), 0, "{}", both(&o));

    let o = sb.run(&["apply", "p.json"]);
    assert_eq!(code(&o), 2, "{}", both(&o));
    assert!(stderr(&o).contains("--auto-approve"), "{}", both(&o));
    assert!(sb.vpcs_by_owner().is_empty());

    // The refusal released the lock.
    let o = sb.run(&["apply", "p.json", "--auto-approve"]);
    assert_eq!(code(&o), 0, "{}", both(&o));

    let o = sb.run(&["state", "show", "asked/vpc-00"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["type"], "aws_vpc", "{shown:#}");
    assert_eq!(shown["status"], "applied", "{shown:#}");
    assert_eq!(
        shown["document"]["properties"]["cidr_block"], "10.100.0.0/16",
        "{shown:#}"
    );
    let id = shown["handle"]["provider_id"].as_str().unwrap();
    assert_eq!(sb.vpcs_by_owner()["asked/vpc-00"], vec![id.to_owned()]);

    let o = sb.run(&["state", "show", "asked/nope"]);
    assert_eq!(code(&o), 2, "{}", both(&o));
    assert!(stderr(&o).contains("asked/nope"), "{}", both(&o));
}

// ---------------------------------------------------------------------------------------------
// 7. No false pass: an attacker's stack is refused before any call
// ---------------------------------------------------------------------------------------------

/// Issue 10's end-to-end case: one stack holding an administrator policy written as a JSON string,
/// an all-traffic ingress rule and a pair of CIDRs that together cover the whole IPv4 internet.
fn breach_stack() -> Value {
    let tags = json!({"owner": "security", "environment": "prod", "cost-center": "cc-sec", "stack": "breach"});
    let admin = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}
    ]});
    json!({
        "stack": "breach",
        "repository": "aws-eu-west-1-prod-breach-main",
        "environment": "prod",
        "region": "eu-west-1",
        "account": "prod",
        "owner": "security",
        "budget": {"monthly_limit_usd": 100, "alert_thresholds_pct": [80, 100]},
        "resources": [
            {
                "id": "admin-policy",
                "type": "aws_iam_policy",
                "properties": {"name": "wer1-prod-breach-admin", "policy": admin.to_string()},
                "tags": tags
            },
            {
                "id": "vpc",
                "type": "aws_vpc",
                "properties": {"cidr_block": "10.40.0.0/16", "enable_dns_support": true, "enable_dns_hostnames": true},
                "tags": tags
            },
            {
                "id": "edge-sg",
                "type": "aws_security_group",
                "properties": {
                    "name": "wer1-prod-breach-edge",
                    "description": "edge",
                    "vpc_id": "${vpc}",
                    "ingress": [
                        {"description": "everything from the office", "from_port": 0, "to_port": 0,
                         "protocol": "-1", "cidr_blocks": ["10.0.0.0/24"]},
                        {"description": "RDP", "from_port": 3389, "to_port": 3389, "protocol": "tcp",
                         "cidr_blocks": ["0.0.0.0/1", "128.0.0.0/1"]}
                    ],
                    "egress": []
                },
                "tags": tags
            }
        ]
    })
}

fn blockers(plan: &Value) -> String {
    plan["blockers"]
        .as_array()
        .map(|b| b.iter().map(|x| x.to_string()).collect::<Vec<_>>())
        .unwrap_or_default()
        .join("\n")
}

/// The security group alone is refused too: protocol `-1` from a /24, and RDP from
/// 0.0.0.0/1 + 128.0.0.0/1, judged by the meaning of CIDRs and protocols (issue 10 class 4).
#[test]
fn an_all_traffic_rule_and_a_split_internet_pair_are_blockers_of_their_own() {
    let sb = Sandbox::new();
    let mut doc = breach_stack();
    // Only the network half: the VPC and its security group.
    doc["resources"].as_array_mut().unwrap().remove(0);
    sb.write_stack("breach", &doc);
    let o = sb.run(&["plan", "stacks/breach.json", "-o", "p.json"]);
    assert_eq!(code(&o), 1, "{}", both(&o));
    let plan: Value = serde_json::from_slice(&std::fs::read(sb.path("p.json")).unwrap()).unwrap();
    assert!(blockers(&plan).contains("edge-sg"), "{plan:#}");
    assert!(sb.vpcs_by_owner().is_empty(), "{:?}", sb.vpcs_by_owner());
}

#[test]
fn an_admin_policy_as_a_string_all_traffic_and_a_split_internet_are_refused_before_any_call() {
    let sb = Sandbox::new();
    sb.write_stack("breach", &breach_stack());
    let o = sb.run(&["plan", "stacks/breach.json", "-o", "p.json"]);
    assert_eq!(code(&o), 1, "{}", both(&o));
    let out = stdout(&o);
    assert!(out.contains("Verdict: FAIL"), "{}", both(&o));
    // The policy written as a JSON string is judged as the document it holds.
    assert!(out.contains("TG-IAM-001"), "{}", both(&o));
    assert!(out.contains("admin-policy"), "{}", both(&o));
    let plan: Value = serde_json::from_slice(&std::fs::read(sb.path("p.json")).unwrap()).unwrap();
    assert_eq!(plan["verdict"], "fail", "{plan:#}");
    assert!(blockers(&plan).contains("admin-policy"), "{plan:#}");

    let o = sb.run(&["apply", "p.json", "--auto-approve"]);
    assert_eq!(code(&o), 1, "{}", both(&o));
    assert!(stderr(&o).contains("not compliant"), "{}", both(&o));

    // moto holds none of it: no customer-managed policy, no tagged VPC, no security group but
    // the default VPC's own.
    let policies = sb
        .rt
        .block_on(sb.aws.iam.list_policies().scope("Local".into()).send())
        .unwrap();
    assert!(policies.policies().is_empty(), "{:?}", policies.policies());
    assert!(sb.vpcs_by_owner().is_empty(), "{:?}", sb.vpcs_by_owner());
    let groups = sb
        .rt
        .block_on(sb.aws.ec2.describe_security_groups().send())
        .unwrap();
    let named: Vec<&str> = groups
        .security_groups()
        .iter()
        .filter_map(|g| g.group_name())
        .filter(|n| *n != "default")
        .collect();
    assert!(named.is_empty(), "{named:?}");
    assert!(
        !sb.path(".tollgate/state.json").exists(),
        "no state written"
    );
}

// ---------------------------------------------------------------------------------------------
// 8. Signals, corrupt locks, and the crash-resume harness (issue 11)
// ---------------------------------------------------------------------------------------------

/// `tollgate ARGS` talking to moto through `proxy` instead of directly.
fn via_proxy(sb: &Sandbox, proxy: &FaultProxy, args: &[&str]) -> Command {
    let mut c = sb.command(args);
    c.env("AWS_ENDPOINT_URL", &proxy.url);
    c
}

fn spawn_via(sb: &Sandbox, proxy: &FaultProxy, args: &[&str]) -> Child {
    via_proxy(sb, proxy, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tollgate")
}

/// Waits until `gate` holds a request of `child`; panics if the child ends first.
fn wait_for_hold(child: &mut Child, gate: &Hold) {
    let start = Instant::now();
    while gate.waiting() == 0 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the process ended ({status}) before a request was held");
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for a held request"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill {sig}");
}

/// The `n`-th (from 0) CreateVpc call, and only it.
fn nth_create_vpc(n: usize) -> impl Fn(&tollgate_testkit::proxy::Request) -> bool {
    let seen = std::sync::atomic::AtomicUsize::new(0);
    move |r| r.is_action("CreateVpc") && seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == n
}

#[test]
fn fault_sigterm_during_apply_is_handled_like_the_first_ctrl_c() {
    const N: usize = 4;
    let sb = Sandbox::new();
    sb.write_stack("termed", &vpc_stack("termed", N, 120));
    let o = sb.run(&["plan", "stacks/termed.json", "-o", "p.json"]);
    assert_eq!(code(&o), 0, "{}", both(&o));

    // The second CreateVpc is held at the proxy: SIGTERM lands while it is in flight.
    let proxy = FaultProxy::start(&sb.moto.url);
    let gate = Hold::new();
    proxy.add(Rule::new("hold the 2nd CreateVpc", nth_create_vpc(1)).hold(&gate));
    let mut child = spawn_via(
        &sb,
        &proxy,
        &["apply", "p.json", "--auto-approve", "--parallelism", "1"],
    );
    wait_for_hold(&mut child, &gate);
    signal(&child, "-TERM");
    // Give the handler a moment to stop scheduling, then let the call in flight finish.
    std::thread::sleep(Duration::from_millis(300));
    gate.open();
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 130, "{}", both(&o));
    assert!(stderr(&o).contains("Stopping"), "{}", both(&o));
    assert!(stdout(&o).contains("Apply interrupted"), "{}", both(&o));
    // The call in flight finished and was recorded; nothing after it started.
    let state = sb.state();
    assert_eq!(state.resources.len(), 2, "{:?}", state.resources.keys());
    assert!(!sb.path(".tollgate/state.json.lock").exists());
    let o = sb.run(&["apply", "p.json", "--auto-approve"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert_one_vpc_each(&sb, &addresses("termed", N));
}

#[test]
fn fault_a_second_ctrl_c_exits_at_once_and_still_releases_the_lock() {
    const N: usize = 3;
    let sb = Sandbox::new();
    sb.write_stack("twice", &vpc_stack("twice", N, 130));
    let o = sb.run(&["plan", "stacks/twice.json", "-o", "p.json"]);
    assert_eq!(code(&o), 0, "{}", both(&o));

    // The first CreateVpc's answer is held: the object exists, the apply does not know yet.
    let proxy = FaultProxy::start(&sb.moto.url);
    let gate = Hold::new();
    proxy.add(
        Rule::new("hold the 1st CreateVpc answer", nth_create_vpc(0))
            .after_forwarding()
            .hold(&gate),
    );
    let mut child = spawn_via(
        &sb,
        &proxy,
        &["apply", "p.json", "--auto-approve", "--parallelism", "1"],
    );
    wait_for_hold(&mut child, &gate);
    signal(&child, "-INT");
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, "-INT");
    // It exits while the call is still held: at once, not when the call finishes.
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "a second Ctrl-C did not exit at once"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(
        gate.waiting(),
        1,
        "exited before the held call was answered"
    );
    let o = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(130), "{}", both(&o));
    assert!(stderr(&o).contains("the lock is released"), "{}", both(&o));
    assert!(!sb.path(".tollgate/state.json.lock").exists());
    gate.open();
    drop(proxy);

    // The state on disk is whole; the re-run adopts the object made during the held call.
    let o = sb.run(&["apply", "p.json", "--auto-approve"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert_one_vpc_each(&sb, &addresses("twice", N));
}

#[test]
fn fault_an_empty_or_corrupt_lock_file_is_reported_and_released_by_a_forced_unlock() {
    let sb = Sandbox::new();
    sb.write_stack("torn", &vpc_stack("torn", 1, 140));
    let o = sb.run(&["plan", "stacks/torn.json", "-o", "p.json"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    std::fs::create_dir_all(sb.path(".tollgate")).unwrap();
    for (bytes, word) in [(&b""[..], "is empty"), (&b"{\"id\":"[..], "is corrupt")] {
        std::fs::write(sb.path(".tollgate/state.json.lock"), bytes).unwrap();
        let o = sb.run(&["apply", "p.json", "--auto-approve"]);
        assert_eq!(code(&o), 1, "{}", both(&o));
        assert!(
            stderr(&o).contains(word) && stderr(&o).contains("state unlock --force"),
            "{}",
            both(&o)
        );
        // Without a terminal the confirmation cannot be asked: --yes is required.
        let o = sb.run(&["state", "unlock", "--force"]);
        assert_eq!(code(&o), 2, "{}", both(&o));
        assert!(stderr(&o).contains("--yes"), "{}", both(&o));
        assert!(sb.path(".tollgate/state.json.lock").exists());
        let o = sb.run(&["state", "unlock", "--force", "--yes"]);
        assert_eq!(code(&o), 0, "{}", both(&o));
        assert!(stdout(&o).contains("Released the lock"), "{}", both(&o));
        assert!(!sb.path(".tollgate/state.json.lock").exists());
    }
    let o = sb.run(&["apply", "p.json", "--auto-approve"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert_one_vpc_each(&sb, &addresses("torn", 1));
}

/// Issue 11 item 9: SIGKILL `apply` at several points of a ten-resource plan, with the proxy
/// holding a call so the kill lands mid-call (before the server carried it out, or after it did
/// but before the answer came back), re-apply until done; then every object exists exactly once,
/// the state matches moto, and a new plan is empty.
#[test]
fn fault_kill_9_mid_apply_crash_resume_harness() {
    const N: usize = 10;
    let sb = Sandbox::new();
    sb.write_stack("crash", &vpc_stack("crash", N, 150));
    let o = sb.run(&["plan", "stacks/crash.json", "-o", "p.json"]);
    assert_eq!(code(&o), 0, "{}", both(&o));

    // (which CreateVpc of this run to hold, whether the server has carried it out at the kill)
    let points = [(0, false), (0, true), (2, true), (1, false), (3, true)];
    let mut kills = 0;
    for (nth, after) in points {
        let proxy = FaultProxy::start(&sb.moto.url);
        let gate = Hold::new();
        let rule = Rule::new("hold", nth_create_vpc(nth)).hold(&gate);
        proxy.add(if after { rule.after_forwarding() } else { rule });
        let mut child = spawn_via(
            &sb,
            &proxy,
            &["apply", "p.json", "--auto-approve", "--parallelism", "1"],
        );
        let start = Instant::now();
        let held = loop {
            if gate.waiting() > 0 {
                break true;
            }
            if child.try_wait().unwrap().is_some() {
                break false; // fewer creates were left than `nth`: the run finished
            }
            assert!(start.elapsed() < Duration::from_secs(120), "timed out");
            std::thread::sleep(Duration::from_millis(5));
        };
        if !held {
            break;
        }
        child.kill().unwrap(); // SIGKILL, mid-call
        let status = child.wait().unwrap();
        assert_eq!(status.code(), None, "killed by a signal: {status}");
        kills += 1;
        gate.open();
        // The held request was wholly sent: it reaches moto now. Let it land before the next
        // run looks for what the killed one left (else it lands mid-run: a second VPC).
        assert!(
            proxy.settle(Duration::from_secs(30)),
            "the held request never finished"
        );
        drop(proxy);
        // The state is whole at every kill (written atomically), and holds at most N entries.
        let state = sb.state();
        assert!(state.resources.len() <= N);
        release_stale_lock(&sb);
    }
    assert!(kills >= 4, "only {kills} kills landed");

    // Re-apply until done (each run resumes what the killed ones left).
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(runs <= 3, "apply did not converge");
        let o = sb.run(&["apply", "p.json", "--auto-approve"]);
        if code(&o) == 0 {
            assert!(stdout(&o).contains("Apply complete"), "{}", both(&o));
            break;
        }
    }

    // Each object exists exactly once, and the state points at it.
    assert_one_vpc_each(&sb, &addresses("crash", N));
    let state = sb.state();
    assert_eq!(state.resources.len(), N);
    let by = sb.vpcs_by_owner();
    for (address, r) in &state.resources {
        assert_eq!(
            r.status,
            tollgate_providers::state::Status::Applied,
            "{address}"
        );
        assert_eq!(
            by[address],
            vec![r.handle.as_ref().unwrap().provider_id.clone()],
            "{address}"
        );
    }
    let o = sb.run(&["plan", "stacks/crash.json", "-o", "p2.json"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(stdout(&o).contains(NO_CHANGES), "{}", both(&o));
}
