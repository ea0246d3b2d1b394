//! `aws_budgets_budget`.
//!
//! moto's server serves CreateBudget, DescribeBudget, notifications and DeleteBudget, but not
//! UpdateBudget, DescribeSubscribersForNotification, CreateSubscriber/DeleteSubscriber or the tag
//! operations. So: create, find, delete and the account lookup (STS) run against moto; the full
//! round trip (create → read → UpdateBudget and notification changes → read → delete) runs against
//! a small local server in this file that keeps budgets in memory and speaks the Budgets JSON 1.1
//! protocol (`X-Amz-Target: AWSBudgetServiceGateway.<Operation>`), recording every call made.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aws_support;

use std::sync::{Arc, Mutex};

use aws_support::{assert_matches, assert_tags, desired};
use serde_json::{Value, json};
use tollgate_providers::aws::AwsClients;
use tollgate_providers::aws::budgets::BudgetsProvider;
use tollgate_providers::{Desired, Provider, ProviderError};
use tollgate_testkit::Moto;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::method};

const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:wer1-budget-alerts";

/// `budget-networking` of stacks/budgeting.json, `${budget-alerts}` resolved to a topic ARN.
fn networking_budget() -> Desired {
    let n = |threshold: i64, kind: &str| {
        json!({"comparison_operator": "GREATER_THAN", "threshold": threshold,
        "threshold_type": "PERCENTAGE", "notification_type": kind,
        "subscriber_email_addresses": ["finance@wer1.example"], "subscriber_sns_topic_arns": [TOPIC]})
    };
    desired(
        "budgeting",
        "budget-networking",
        "aws_budgets_budget",
        json!({
            "name": "wer1-networking-monthly", "budget_type": "COST", "limit_amount": "350", "limit_unit": "USD",
            "time_unit": "MONTHLY", "cost_filter": [{"name": "TagKeyValue", "values": ["user:stack$networking"]}],
            "notification": [n(80, "ACTUAL"), n(100, "ACTUAL"), n(100, "FORECASTED")]
        }),
        json!({"owner": "finance", "environment": "prod", "cost-center": "cc-finance", "stack": "budgeting", "budget-for": "networking"}),
    )
}

/// Normalised as the apply path compares: the provider's canonical form.
fn canonical(p: &BudgetsProvider, d: &Desired) -> Value {
    let mut v = d.properties.clone();
    p.normalize("aws_budgets_budget", &mut v);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_find_delete_against_moto() {
    let moto = Moto::start();
    let clients = AwsClients::from_sdk(moto.sdk_config());
    let sts = aws_sdk_sts::Client::new(&clients.sdk);
    let p = BudgetsProvider::new(clients.budgets.clone(), sts);
    let d = networking_budget();
    assert_eq!(p.find(&d).await.unwrap(), None);
    let h = p.create(&d).await.unwrap();
    assert_eq!(h.provider_id, "wer1-networking-monthly");
    // The account id came from STS GetCallerIdentity (moto's default account).
    assert_eq!(
        h.attributes["arn"],
        "arn:aws:budgets::123456789012:budget/wer1-networking-monthly"
    );
    assert_eq!(p.find(&d).await.unwrap(), Some(h.clone()));

    let described = clients
        .budgets
        .describe_budget()
        .account_id("123456789012")
        .budget_name("wer1-networking-monthly")
        .send()
        .await
        .unwrap();
    let b = described.budget().unwrap();
    assert_eq!(b.budget_limit().unwrap().unit(), "USD");
    let notes = clients
        .budgets
        .describe_notifications_for_budget()
        .account_id("123456789012")
        .budget_name("wer1-networking-monthly")
        .send()
        .await
        .unwrap();
    assert_eq!(
        notes.notifications().len(),
        3,
        "the three notifications were created with the budget"
    );

    // Reading subscribers needs DescribeSubscribersForNotification, which moto lacks: the
    // provider says so rather than returning a document without them.
    let err = p.read("aws_budgets_budget", &h).await.unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::NotSupported {
                operation: "DescribeSubscribersForNotification",
                ..
            }
        ),
        "{err:?}"
    );

    p.delete("aws_budgets_budget", &h).await.unwrap();
    assert_eq!(p.read("aws_budgets_budget", &h).await.unwrap(), None);
    p.delete("aws_budgets_budget", &h)
        .await
        .expect("deleting a deleted budget succeeds");
    assert_eq!(p.find(&d).await.unwrap(), None);
}

/// An in-memory Budgets service for one account.
#[derive(Default)]
struct FakeBudgets {
    state: Mutex<State>,
}

/// A notification JSON and its subscribers' JSON.
type StoredNotification = (Value, Vec<Value>);
/// Name, Budget JSON, notifications, tags.
type StoredBudget = (String, Value, Vec<StoredNotification>, Vec<Value>);

#[derive(Default)]
struct State {
    /// name → (Budget JSON, [(Notification JSON, [Subscriber JSON])], tags)
    budgets: Vec<StoredBudget>,
    calls: Vec<String>,
}

fn same_notification(a: &Value, b: &Value) -> bool {
    let k = |v: &Value| {
        (
            v["NotificationType"].clone(),
            v["ComparisonOperator"].clone(),
            v["Threshold"].as_f64(),
            v.get("ThresholdType")
                .cloned()
                .unwrap_or(json!("PERCENTAGE")),
        )
    };
    k(a) == k(b)
}

fn not_found(what: &str) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_raw(
        json!({"__type": "NotFoundException", "Message": format!("{what} not found")}).to_string(),
        "application/x-amz-json-1.1",
    )
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/x-amz-json-1.1")
}

/// The responder wiremock holds: shares the state with the test.
struct Responder(Arc<FakeBudgets>);

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let target = req
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let op = target.rsplit('.').next().unwrap_or("").to_owned();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let mut st = self.0.state.lock().unwrap();
        st.calls.push(op.clone());
        let name = body["BudgetName"]
            .as_str()
            .or(body["NewBudget"]["BudgetName"].as_str())
            .or(body["Budget"]["BudgetName"].as_str())
            .unwrap_or("")
            .to_owned();
        let arn_name = body["ResourceARN"]
            .as_str()
            .and_then(|a| a.rsplit('/').next())
            .unwrap_or("")
            .to_owned();
        let idx = st
            .budgets
            .iter()
            .position(|b| b.0 == name || (!arn_name.is_empty() && b.0 == arn_name));
        match (op.as_str(), idx) {
            ("CreateBudget", None) => {
                let notes = body["NotificationsWithSubscribers"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|n| {
                        (
                            n["Notification"].clone(),
                            n["Subscribers"].as_array().cloned().unwrap_or_default(),
                        )
                    })
                    .collect();
                let tags = body["ResourceTags"].as_array().cloned().unwrap_or_default();
                st.budgets.push((name, body["Budget"].clone(), notes, tags));
                ok(json!({}))
            }
            ("CreateBudget", Some(_)) => ResponseTemplate::new(400).set_body_raw(
                json!({"__type": "DuplicateRecordException", "Message": "exists"}).to_string(),
                "application/x-amz-json-1.1",
            ),
            (_, None) => not_found(&format!("budget `{name}{arn_name}`")),
            ("DescribeBudget", Some(i)) => {
                // AWS answers amounts with a decimal point.
                let mut b = st.budgets[i].1.clone();
                if let Some(a) = b["BudgetLimit"]["Amount"].as_str() {
                    b["BudgetLimit"]["Amount"] = json!(format!("{a}.0"));
                }
                ok(json!({"Budget": b}))
            }
            ("UpdateBudget", Some(i)) => {
                st.budgets[i].1 = body["NewBudget"].clone();
                ok(json!({}))
            }
            ("DeleteBudget", Some(i)) => {
                st.budgets.remove(i);
                ok(json!({}))
            }
            ("DescribeNotificationsForBudget", Some(i)) => ok(
                json!({"Notifications": st.budgets[i].2.iter().map(|n| n.0.clone()).collect::<Vec<_>>()}),
            ),
            ("DescribeSubscribersForNotification", Some(i)) => {
                match st.budgets[i]
                    .2
                    .iter()
                    .find(|n| same_notification(&n.0, &body["Notification"]))
                {
                    Some(n) => ok(json!({"Subscribers": n.1})),
                    None => not_found("notification"),
                }
            }
            ("CreateNotification", Some(i)) => {
                st.budgets[i].2.push((
                    body["Notification"].clone(),
                    body["Subscribers"].as_array().cloned().unwrap_or_default(),
                ));
                ok(json!({}))
            }
            ("DeleteNotification", Some(i)) => {
                st.budgets[i]
                    .2
                    .retain(|n| !same_notification(&n.0, &body["Notification"]));
                ok(json!({}))
            }
            ("CreateSubscriber" | "DeleteSubscriber", Some(i)) => {
                let Some(n) = st.budgets[i]
                    .2
                    .iter_mut()
                    .find(|n| same_notification(&n.0, &body["Notification"]))
                else {
                    return not_found("notification");
                };
                if op == "CreateSubscriber" {
                    n.1.push(body["Subscriber"].clone());
                } else {
                    n.1.retain(|s| *s != body["Subscriber"]);
                }
                ok(json!({}))
            }
            ("ListTagsForResource", Some(i)) => ok(json!({"ResourceTags": st.budgets[i].3})),
            ("TagResource", Some(i)) => {
                for t in body["ResourceTags"].as_array().cloned().unwrap_or_default() {
                    st.budgets[i].3.retain(|x| x["Key"] != t["Key"]);
                    st.budgets[i].3.push(t);
                }
                ok(json!({}))
            }
            ("UntagResource", Some(i)) => {
                let keys = body["ResourceTagKeys"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                st.budgets[i].3.retain(|x| !keys.contains(&x["Key"]));
                ok(json!({}))
            }
            _ => ResponseTemplate::new(501),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_with_update_budget_against_a_local_budgets_server() {
    let server = MockServer::start().await;
    let fake = Arc::new(FakeBudgets::default());
    Mock::given(method("POST"))
        .respond_with(Responder(Arc::clone(&fake)))
        .mount(&server)
        .await;
    let sdk = tollgate_testkit::sdk_config_for(&server.uri());
    let budgets = aws_sdk_budgets::Client::new(&sdk);
    let p =
        BudgetsProvider::with_account_id(budgets, aws_sdk_sts::Client::new(&sdk), "123456789012");

    let d = networking_budget();
    let h = p.create(&d).await.unwrap();
    let live = p
        .read("aws_budgets_budget", &h)
        .await
        .unwrap()
        .expect("budget exists");
    assert_matches(&canonical(&p, &d), &live.properties, &[]);
    assert_eq!(
        live.properties["limit_amount"], "350",
        "\"350.0\" reads back canonical"
    );
    assert_tags(&d, &live);

    // Raise the limit, drop the 80% alert, add a 50% one, change the 100% ACTUAL subscribers,
    // retag.
    let mut d2 = d.clone();
    d2.properties["limit_amount"] = json!("420");
    let notes = d2.properties["notification"].as_array_mut().unwrap();
    notes.remove(0);
    notes[0]["subscriber_email_addresses"] =
        json!(["finance@wer1.example", "platform-leads@wer1.example"]);
    notes[0]["subscriber_sns_topic_arns"] = json!([]);
    notes.push(json!({"comparison_operator": "GREATER_THAN", "threshold": 50, "threshold_type": "PERCENTAGE",
        "notification_type": "ACTUAL", "subscriber_email_addresses": ["finance@wer1.example"], "subscriber_sns_topic_arns": []}));
    d2.tags.insert("reviewed".into(), "2026-11".into());
    d2.tags.remove("budget-for");
    let changed: Vec<String> = ["limit_amount", "notification", "tags"]
        .map(String::from)
        .to_vec();
    let calls_before = fake.state.lock().unwrap().calls.len();
    p.update(&d2, &h, &changed).await.unwrap();
    let calls: Vec<String> = fake.state.lock().unwrap().calls[calls_before..].to_vec();
    assert!(
        calls.contains(&"UpdateBudget".to_owned()),
        "the limit changes in place: {calls:?}"
    );
    for op in [
        "DeleteNotification",
        "CreateNotification",
        "CreateSubscriber",
        "DeleteSubscriber",
        "UntagResource",
        "TagResource",
    ] {
        assert!(
            calls.iter().any(|c| c == op),
            "{op} expected among {calls:?}"
        );
    }
    assert!(
        !calls
            .iter()
            .any(|c| c == "DeleteBudget" || c == "CreateBudget"),
        "never delete-and-recreate: {calls:?}"
    );

    let live = p.read("aws_budgets_budget", &h).await.unwrap().unwrap();
    assert_matches(&canonical(&p, &d2), &live.properties, &[]);
    assert_tags(&d2, &live);

    p.delete("aws_budgets_budget", &h).await.unwrap();
    assert_eq!(p.read("aws_budgets_budget", &h).await.unwrap(), None);
    p.delete("aws_budgets_budget", &h).await.unwrap();
}
