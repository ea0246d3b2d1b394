//! Faults between Tollgate and AWS: a fault-injecting proxy (tollgate_testkit::proxy) in front of
//! moto's server answers chosen requests with 500, 503 or 403, and these tests check what the
//! SDK's retry configuration and Tollgate make of it —
//!
//! - 5xx and throttling answers are retried with backoff, up to `max_attempts` calls in all;
//!   then the resource fails with the service's status and code;
//! - 4xx answers (403 AccessDenied) are not retried, and the error names the service and call;
//! - in an apply, a failed resource's dependents are skipped, independent ones go on, and the
//!   state records only what was made;
//! - the S3 state lock (a conditional PUT) lets exactly one of N racers in, tells the others who
//!   holds it, and is released only by its own id.
//!
//! Every test starts its own moto and proxy on free loopback ports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aws_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tollgate_engine::report::Verdict;
use tollgate_providers::apply::{self, ApplyOptions, Outcome};
use tollgate_providers::aws::AwsClients;
use tollgate_providers::aws::budgets::BudgetsProvider;
use tollgate_providers::aws::iam::IamProvider;
use tollgate_providers::aws::s3::S3BucketProvider;
use tollgate_providers::plan::{
    Action, Counts, InputDigest, PLAN_FORMAT, Plan, PlannedChange, PlannedStack, StateRef,
};
use tollgate_providers::state::{Backend, Location, LockInfo, State, StateError, Status};
use tollgate_providers::{Desired, Provider, ProviderError, ProviderSet};
use tollgate_testkit::proxy::{Fault, FaultProxy, Rule};
use tollgate_testkit::{Moto, sdk_config_for, sdk_config_with_retries};

/// Clients that go through the proxy, with `attempts` attempts per call and a 5 ms first
/// backoff (the SDK's default of 1 s would only slow the tests down).
fn via(proxy: &FaultProxy, attempts: u32) -> AwsClients {
    AwsClients::from_sdk(sdk_config_with_retries(
        &proxy.url,
        attempts,
        Some(Duration::from_millis(5)),
    ))
}

/// Clients straight to moto (to look at what really happened).
fn direct(moto: &Moto) -> AwsClients {
    AwsClients::from_sdk(sdk_config_for(&moto.url))
}

fn bucket_doc(stack: &str, id: &str, bucket: &str) -> Desired {
    Desired {
        stack: stack.to_owned(),
        id: id.to_owned(),
        type_name: "aws_s3_bucket".to_owned(),
        properties: json!({
            "bucket": bucket,
            "public_access_block": {"block_public_acls": true, "block_public_policy": true,
                                    "ignore_public_acls": true, "restrict_public_buckets": true},
        }),
        tags: BTreeMap::from([("owner".to_owned(), "platform".to_owned())]),
    }
}

/// CreateBucket for `bucket`: `PUT /bucket` with no query (PutBucketTagging is `PUT /bucket?tagging`).
fn create_bucket(bucket: &str) -> impl Fn(&tollgate_testkit::proxy::Request) -> bool + use<> {
    let path = format!("/{bucket}");
    move |r| r.is("PUT", &path)
}

async fn bucket_exists(moto: &Moto, bucket: &str) -> bool {
    direct(moto)
        .s3
        .head_bucket()
        .bucket(bucket)
        .send()
        .await
        .is_ok()
}

fn internal_error() -> Fault {
    Fault::s3(
        500,
        "InternalError",
        "We encountered an internal error. Please try again.",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_500_twice_is_retried_and_the_create_succeeds() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.url);
    let rule = proxy.add(
        Rule::new("CreateBucket", create_bucket("fault-retry-ok"))
            .times(2)
            .answer(internal_error()),
    );
    // Read back below: moto's GetBucketVersioning answer needs the test-only fix.
    let p = S3BucketProvider::new(aws_support::moto_s3(&via(&proxy, 3).sdk));
    let d = bucket_doc("faults", "logs", "fault-retry-ok");

    let h = p.create(&d).await.expect("the third attempt succeeds");
    assert_eq!(h.provider_id, "fault-retry-ok");
    assert_eq!(
        rule.matched(),
        3,
        "two faults and one forwarded attempt: {:?}",
        proxy.log()
    );
    assert_eq!(rule.injected(), 2);
    assert!(bucket_exists(&moto, "fault-retry-ok").await);
    // The rest of the create (tags, public access block) went through the proxy too.
    let live = p
        .read("aws_s3_bucket", &h)
        .await
        .unwrap()
        .expect("bucket exists");
    assert_eq!(
        live.properties["public_access_block"],
        d.properties["public_access_block"]
    );
    assert_eq!(live.tags, d.tags);
    assert!(proxy.errors().is_empty(), "{:?}", proxy.errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_500_beyond_max_attempts_fails_after_exactly_max_attempts() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.url);
    let rule = proxy.add(
        Rule::new("CreateBucket", create_bucket("fault-retry-exhausted"))
            .times(5)
            .answer(internal_error()),
    );
    let p = S3BucketProvider::new(via(&proxy, 3).s3);

    let err = p
        .create(&bucket_doc("faults", "logs", "fault-retry-exhausted"))
        .await
        .expect_err("every attempt fails");
    assert_eq!(
        rule.matched(),
        3,
        "max_attempts calls, no more: {:?}",
        proxy.log()
    );
    assert!(
        matches!(
            &err,
            ProviderError::Api {
                service: "s3",
                operation: "CreateBucket",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.code(), Some("InternalError"));
    let msg = err.to_string();
    assert!(
        msg.contains("CreateBucket") && msg.contains("HTTP 500"),
        "{msg}"
    );
    assert!(!bucket_exists(&moto, "fault-retry-exhausted").await);
    assert_eq!(
        proxy.forwarded(),
        0,
        "nothing reached moto: {:?}",
        proxy.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_without_an_error_code_is_retried_then_reported_as_not_supported() {
    // What moto answers for an operation it does not implement: an HTML page.
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.url);
    let rule = proxy.add(
        Rule::new("CreateBucket", create_bucket("fault-html-500")).answer(Fault::raw(
            500,
            "text/html",
            "<html><body>Internal Server Error</body></html>",
        )),
    );
    let p = S3BucketProvider::new(via(&proxy, 2).s3);
    let err = p
        .create(&bucket_doc("faults", "logs", "fault-html-500"))
        .await
        .expect_err("every attempt fails");
    assert_eq!(rule.matched(), 2);
    assert!(
        matches!(
            &err,
            ProviderError::NotSupported {
                service: "s3",
                operation: "CreateBucket",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_503_slowdown_is_retried_as_throttling_then_succeeds() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.url);
    let rule = proxy.add(
        Rule::new("CreateBucket", create_bucket("fault-slowdown"))
            .times(2)
            .answer(Fault::s3(
                503,
                "SlowDown",
                "Please reduce your request rate.",
            )),
    );
    let p = S3BucketProvider::new(via(&proxy, 3).s3);
    p.create(&bucket_doc("faults", "logs", "fault-slowdown"))
        .await
        .expect("the third attempt succeeds");
    assert_eq!(
        (rule.matched(), rule.injected()),
        (3, 2),
        "{:?}",
        proxy.log()
    );
    assert!(bucket_exists(&moto, "fault-slowdown").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_403_access_denied_is_not_retried() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.url);
    let rule = proxy.add(
        Rule::new("CreateBucket", create_bucket("fault-denied")).answer(Fault::s3(
            403,
            "AccessDenied",
            "Access Denied",
        )),
    );
    // Plenty of attempts available: none may be used on a 403.
    let p = S3BucketProvider::new(via(&proxy, 5).s3);
    let err = p
        .create(&bucket_doc("faults", "logs", "fault-denied"))
        .await
        .expect_err("denied");
    assert_eq!(rule.matched(), 1, "a 403 is not retried: {:?}", proxy.log());
    match &err {
        ProviderError::Api {
            service,
            operation,
            code,
            status,
            message,
        } => {
            assert_eq!((*service, *operation), ("s3", "CreateBucket"));
            assert_eq!(code.as_deref(), Some("AccessDenied"));
            assert_eq!(*status, Some(403));
            assert_eq!(message, "Access Denied");
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "s3 CreateBucket: AccessDenied: Access Denied (HTTP 403)"
    );
    assert!(!bucket_exists(&moto, "fault-denied").await);
}

/// A cost budget as stacks/budgeting.json writes it (e-mail subscribers only).
fn budget_doc(name: &str) -> Desired {
    Desired {
        stack: "budgeting".to_owned(),
        id: "budget-faults".to_owned(),
        type_name: "aws_budgets_budget".to_owned(),
        properties: json!({
            "name": name, "budget_type": "COST", "limit_amount": "350", "limit_unit": "USD",
            "time_unit": "MONTHLY",
            "notification": [{"comparison_operator": "GREATER_THAN", "threshold": 80,
                "threshold_type": "PERCENTAGE", "notification_type": "ACTUAL",
                "subscriber_email_addresses": ["finance@wer1.example"]}]
        }),
        tags: BTreeMap::from([("owner".to_owned(), "finance".to_owned())]),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_json_protocol_500_is_retried_then_succeeds() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.url);
    // awsJson1.1: the operation is in `X-Amz-Target: AWSBudgetServiceGateway.CreateBudget`.
    let rule = proxy.add(
        Rule::new("CreateBudget", |r| r.is_target("CreateBudget"))
            .times(1)
            .answer(Fault::json(
                500,
                "InternalErrorException",
                "An error on the server occurred during the processing of your request.",
            )),
    );
    let clients = via(&proxy, 3);
    let p = BudgetsProvider::new(
        clients.budgets.clone(),
        aws_sdk_sts::Client::new(&clients.sdk),
    );
    let d = budget_doc("wer1-faults-monthly");
    let h = p.create(&d).await.expect("the second attempt succeeds");
    assert_eq!(
        (rule.matched(), rule.injected()),
        (2, 1),
        "{:?}",
        proxy.log()
    );
    assert_eq!(h.provider_id, "wer1-faults-monthly");
    // Read straight from moto (the provider's full read needs DescribeSubscribersForNotification,
    // which moto lacks). 123456789012 is moto's default account.
    let budget = direct(&moto)
        .budgets
        .describe_budget()
        .account_id("123456789012")
        .budget_name("wer1-faults-monthly")
        .send()
        .await
        .expect("the budget exists")
        .budget
        .unwrap();
    assert_eq!(budget.budget_limit().map(|l| l.amount()), Some("350"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_json_protocol_access_denied_is_not_retried() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.url);
    let rule = proxy.add(
        Rule::new("CreateBudget", |r| r.is_target("CreateBudget")).answer(Fault::json(
            400,
            "AccessDeniedException",
            "User is not authorized to perform budgets:ModifyBudget",
        )),
    );
    let clients = via(&proxy, 3);
    let p = BudgetsProvider::new(
        clients.budgets.clone(),
        aws_sdk_sts::Client::new(&clients.sdk),
    );
    let err = p
        .create(&budget_doc("wer1-faults-denied"))
        .await
        .expect_err("denied");
    assert_eq!(rule.matched(), 1, "{:?}", proxy.log());
    assert_eq!(err.code(), Some("AccessDeniedException"), "{err:?}");
    assert!(
        err.to_string().starts_with("budgets CreateBudget: "),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_query_protocol_throttling_is_retried_then_succeeds() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.url);
    // awsQuery: the operation is `Action=CreateRole` in the form body.
    let rule = proxy.add(
        Rule::new("CreateRole", |r| r.is_action("CreateRole"))
            .times(2)
            .answer(Fault::query(400, "Throttling", "Rate exceeded")),
    );
    let p = IamProvider::new(via(&proxy, 3).iam);
    let d = Desired {
        stack: "iam".to_owned(),
        id: "ci-role".to_owned(),
        type_name: "aws_iam_role".to_owned(),
        properties: json!({
            "name": "wer1-faults-ci",
            "assume_role_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        }),
        tags: BTreeMap::new(),
    };
    p.create(&d).await.expect("the third attempt succeeds");
    assert_eq!(
        (rule.matched(), rule.injected()),
        (3, 2),
        "{:?}",
        proxy.log()
    );
}

/// A plan of three buckets in one stack, made by hand: `b` depends on `a`, `c` on nothing.
fn three_bucket_plan(names: [&str; 3]) -> Plan {
    let ids = ["a", "b", "c"];
    let resources: Vec<Value> = ids
        .iter()
        .zip(names)
        .map(|(id, name)| {
            let mut r = json!({"id": id, "type": "aws_s3_bucket",
                "properties": {"bucket": name}, "tags": {"owner": "platform"}});
            if *id == "b" {
                r["depends_on"] = json!(["a"]);
            }
            r
        })
        .collect();
    let changes = ids
        .iter()
        .map(|id| PlannedChange {
            address: format!("faults/{id}"),
            stack: "faults".to_owned(),
            id: (*id).to_owned(),
            type_name: "aws_s3_bucket".to_owned(),
            action: Action::Create,
            changed: vec![],
            replace_because: vec![],
            depends_on: if *id == "b" {
                vec!["faults/a".to_owned()]
            } else {
                vec![]
            },
            managed_elsewhere: None,
            authorized: Some(true),
        })
        .collect();
    let mut plan = Plan {
        format: PLAN_FORMAT.to_owned(),
        tool_version: "test".to_owned(),
        created_at: "2026-01-01T00:00:00Z".to_owned(),
        principal: "ci:faults".to_owned(),
        stacks_digests: vec![],
        policies: InputDigest {
            path: "policies".to_owned(),
            sha256: "0".to_owned(),
        },
        waivers: None,
        state: StateRef {
            location: "state.json".to_owned(),
            lineage: String::new(),
            serial: 0,
        },
        verdict: Verdict::Pass,
        counts: Counts {
            create: 3,
            ..Counts::default()
        },
        blockers: vec![],
        changes,
        stacks: vec![PlannedStack {
            id: "faults".to_owned(),
            depends_on: vec![],
            document: json!({"id": "faults", "resources": resources}),
        }],
        digest: String::new(),
    };
    plan.seal();
    plan
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_skips_the_dependents_of_a_denied_resource_and_goes_on_with_the_rest() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.url);
    let names = ["fault-apply-a", "fault-apply-b", "fault-apply-c"];
    let denied = proxy.add(
        Rule::new("CreateBucket a", create_bucket(names[0])).answer(Fault::s3(
            403,
            "AccessDenied",
            "Access Denied",
        )),
    );
    let mut providers = ProviderSet::new();
    providers.add(Arc::new(S3BucketProvider::new(via(&proxy, 3).s3)));
    let dir = tempfile::tempdir().unwrap();
    let state_path = dir.path().join(".tollgate/state.json");
    let backend = Backend::file(&state_path);
    let plan = three_bucket_plan(names);
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);

    let report = apply::apply(
        &plan,
        &providers,
        &backend,
        State::new(),
        &ApplyOptions { parallelism: 2 },
        stop_rx,
    )
    .await
    .expect("the state is writable");

    let outcomes: BTreeMap<&str, &Outcome> = report
        .outcomes
        .iter()
        .map(|(a, _, o)| (a.as_str(), o))
        .collect();
    match outcomes["faults/a"] {
        Outcome::Failed { error } => assert_eq!(
            error, "s3 CreateBucket: AccessDenied: Access Denied (HTTP 403)",
            "the failure names the call"
        ),
        other => panic!("a: {other:?}"),
    }
    assert_eq!(
        outcomes["faults/b"],
        &Outcome::Skipped {
            because: "faults/a did not succeed".to_owned()
        }
    );
    assert_eq!(outcomes["faults/c"], &Outcome::Created);
    assert!(report.failed() && !report.interrupted);
    let rendered = report.render();
    assert!(
        rendered.contains("faults/b [Create]: skipped (faults/a did not succeed)"),
        "{rendered}"
    );
    assert!(rendered.contains("finished with failures"), "{rendered}");
    assert_eq!(denied.matched(), 1, "403 not retried, even inside apply");

    // The world: c only.
    assert!(!bucket_exists(&moto, names[0]).await);
    assert!(!bucket_exists(&moto, names[1]).await);
    assert!(bucket_exists(&moto, names[2]).await);
    assert!(
        !proxy
            .log()
            .iter()
            .any(|s| s.target.starts_with("/fault-apply-b")),
        "nothing was asked about b: {:?}",
        proxy.log()
    );

    // The state: c applied with its handle; b never mentioned; a's intent dropped, since the
    // service refused the create outright (403) and so nothing can exist.
    let state = backend.load().await.unwrap().expect("state written");
    assert_eq!(state.serial, report.state_serial);
    let c = &state.resources["faults/c"];
    assert_eq!(c.status, Status::Applied);
    assert_eq!(c.handle.as_ref().unwrap().provider_id, names[2]);
    assert!(!state.resources.contains_key("faults/b"));
    assert!(
        !state.resources.contains_key("faults/a"),
        "{:?}",
        state.resources.get("faults/a")
    );
    let applied: Vec<&String> = state
        .resources
        .iter()
        .filter(|(_, r)| r.status == Status::Applied)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(applied, ["faults/c"]);
}

fn racer(i: usize) -> LockInfo {
    LockInfo {
        id: format!("lock-{i:02}"),
        who: format!("racer {i}@ci (pid {})", 1000 + i),
        operation: "apply".to_owned(),
        created: format!("2026-01-01T00:00:{i:02}Z"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_state_lock_admits_exactly_one_of_eight_racers() {
    const RACERS: usize = 8;
    let moto = Moto::start();
    let clients = direct(&moto);
    clients
        .s3
        .create_bucket()
        .bucket("fault-state")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let location = Location::parse("s3://fault-state/team/state.json").unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = tokio::task::JoinSet::new();
    // Through the proxy, which makes moto's conditional write atomic as S3's is (moto 5.2.1
    // checks `If-None-Match` and then writes, unlocked: under load two racers could both pass).
    let proxy = FaultProxy::start(&moto.url);
    for i in 0..RACERS {
        // Each racer with its own client, as separate processes would have.
        let backend = Backend::new(
            location.clone(),
            Some(AwsClients::from_sdk(sdk_config_for(&proxy.url)).s3),
        );
        let barrier = Arc::clone(&barrier);
        tasks.spawn(async move {
            let info = racer(i);
            barrier.wait().await;
            (info.clone(), backend.lock(&info).await)
        });
    }
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (info, result) = joined.unwrap();
        match result {
            Ok(()) => winners.push(info),
            Err(e) => losers.push((info, e)),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one racer holds the lock: {losers:?}"
    );
    let winner = &winners[0];
    assert_eq!(losers.len(), RACERS - 1);
    for (info, err) in &losers {
        match err {
            StateError::Locked { location, holder } => {
                assert_eq!(location, "s3://fault-state/team/state.json");
                assert_eq!(holder, winner, "{} is told who won", info.id);
            }
            other => panic!("{}: expected Locked, got {other:?}", info.id),
        }
        let msg = err.to_string();
        assert!(
            msg.contains(&winner.id) && msg.contains(&winner.who) && msg.contains(&winner.created),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("tollgate state unlock {}", winner.id)),
            "{msg}"
        );
    }

    let backend = Backend::new(location.clone(), Some(clients.s3.clone()));
    assert_eq!(backend.read_lock().await.unwrap().as_ref(), Some(winner));
    // A loser's id, or a made-up one, does not release it.
    let loser_id = &losers[0].0.id;
    for wrong in [loser_id.as_str(), "not-a-lock"] {
        match backend.unlock(wrong).await {
            Err(StateError::NotLockHolder { id, holder, .. }) => {
                assert_eq!(id, wrong);
                assert_eq!(holder.as_ref(), Some(winner));
            }
            other => panic!("unlock {wrong}: {other:?}"),
        }
    }
    assert_eq!(
        backend.read_lock().await.unwrap().as_ref(),
        Some(winner),
        "still held"
    );
    backend
        .unlock(&winner.id)
        .await
        .expect("the holder's id releases it");
    assert_eq!(backend.read_lock().await.unwrap(), None);
    match backend.unlock(&winner.id).await {
        Err(StateError::NotLockHolder { holder: None, .. }) => {}
        other => panic!("unlocking a free lock: {other:?}"),
    }
    let again = racer(99);
    backend
        .lock(&again)
        .await
        .expect("a freed lock can be taken again");
    assert_eq!(backend.read_lock().await.unwrap(), Some(again));
}

/// A lock PUT that S3 carried out but whose answer was lost (a 500 after the write, or a timeout)
/// is retried by the SDK; the retry meets the lock it wrote itself and gets 412. The lock is
/// still ours: `Backend::lock` recognises its own lock id (ids are random per call).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_lock_whose_answer_was_lost_is_still_taken() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.url);
    direct(&moto)
        .s3
        .create_bucket()
        .bucket("fault-lost-lock")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let lost = proxy.add(
        Rule::new("lock PUT, answer lost", |r| {
            r.method == "PUT" && r.path() == "/fault-lost-lock/state.json.lock"
        })
        .times(1)
        .after_forwarding()
        .answer(internal_error()),
    );
    let backend = Backend::new(
        Location::parse("s3://fault-lost-lock/state.json").unwrap(),
        Some(via(&proxy, 3).s3),
    );
    let mine = racer(1);
    let result = backend.lock(&mine).await;
    assert_eq!(
        lost.matched(),
        2,
        "the SDK retried the lost PUT: {:?}",
        proxy.log()
    );
    assert_eq!(backend.read_lock().await.unwrap(), Some(mine.clone()));
    result.expect("the lock this call wrote is this call's lock");
}
