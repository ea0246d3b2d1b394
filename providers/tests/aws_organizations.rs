//! Organizations policies and attachments against moto's server: create → read back equals
//! desired → update → read → delete → gone; find after create; the no-organisation error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aws_support;

use aws_sdk_organizations::types::{OrganizationFeatureSet, PolicyType};
use aws_support::{assert_matches, assert_tags, desired};
use serde_json::{Value, json};
use tollgate_providers::aws::AwsClients;
use tollgate_providers::aws::organizations::OrganizationsProvider;
use tollgate_providers::{Desired, Provider, ProviderError};
use tollgate_testkit::Moto;

fn gov_tags() -> Value {
    json!({"owner": "security", "environment": "prod", "cost-center": "cc-security", "stack": "governance"})
}

/// `scp-region-restriction` of stacks/governance.json (NotAction list shortened).
fn region_scp() -> Desired {
    desired(
        "governance",
        "scp-region-restriction",
        "aws_organizations_policy",
        json!({
            "name": "wer1-region-restriction",
            "description": "Only eu-west-1 (plus global services)",
            "type": "SERVICE_CONTROL_POLICY",
            "content": {"Version": "2012-10-17", "Statement": [{"Sid": "DenyOutsideEuWest1", "Effect": "Deny",
                "NotAction": ["iam:*", "organizations:*", "sts:*", "support:*", "budgets:*"], "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}}]}
        }),
        gov_tags(),
    )
}

/// An organisation with SCPs enabled and a `prod` OU: (root id, OU id).
async fn organisation(client: &aws_sdk_organizations::Client) -> (String, String) {
    client
        .create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let roots = client.list_roots().send().await.unwrap();
    let root = roots.roots()[0].id().unwrap().to_owned();
    // Enabled already on some endpoints: an error here is not what this test is about.
    let _ = client
        .enable_policy_type()
        .root_id(&root)
        .policy_type(PolicyType::ServiceControlPolicy)
        .send()
        .await;
    let ou = client
        .create_organizational_unit()
        .parent_id(&root)
        .name("prod")
        .send()
        .await
        .unwrap();
    (
        root,
        ou.organizational_unit().unwrap().id().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scp_and_attachments_round_trip() {
    let moto = Moto::start();
    let clients = AwsClients::from_sdk(moto.sdk_config());
    let (root, ou) = organisation(&clients.organizations).await;
    let p = OrganizationsProvider::new(clients.organizations.clone());

    let d = region_scp();
    assert_eq!(p.find(&d).await.unwrap(), None);
    let h = p.create(&d).await.unwrap();
    assert!(
        h.reference.starts_with("p-"),
        "references resolve to the policy id: {h:?}"
    );
    let live = p
        .read("aws_organizations_policy", &h)
        .await
        .unwrap()
        .unwrap();
    assert_matches(&d.properties, &live.properties, &[]);
    assert_tags(&d, &live);
    assert_eq!(
        p.find(&d).await.unwrap().map(|f| f.provider_id),
        Some(h.provider_id.clone())
    );

    // Attach to the root and to the OU (as `attach-…-root` / `attach-…-prod-ou` do).
    let mut atts = Vec::new();
    for (id, target) in [("attach-root", &root), ("attach-prod-ou", &ou)] {
        let a = desired(
            "governance",
            id,
            "aws_organizations_policy_attachment",
            json!({"policy_id": h.reference, "target_id": target}),
            json!({}),
        );
        assert_eq!(p.find(&a).await.unwrap(), None);
        let ah = p.create(&a).await.unwrap();
        let live = p
            .read("aws_organizations_policy_attachment", &ah)
            .await
            .unwrap()
            .expect("attached");
        assert_eq!(live.properties, a.properties);
        assert_eq!(p.find(&a).await.unwrap(), Some(ah.clone()));
        atts.push(ah);
    }

    // Update name, description, content and tags in place.
    let mut d2 = d.clone();
    d2.properties["name"] = json!("wer1-region-restriction-v2");
    d2.properties["description"] = json!("Only eu-west-1");
    d2.properties["content"]["Statement"][0]["Condition"]["StringNotEquals"]["aws:RequestedRegion"] =
        json!(["eu-west-1"]);
    d2.tags.insert("reviewed".into(), "2026-11".into());
    d2.tags.remove("cost-center");
    let changed: Vec<String> = ["name", "description", "content", "tags"]
        .map(String::from)
        .to_vec();
    p.update(&d2, &h, &changed).await.unwrap();
    let live = p
        .read("aws_organizations_policy", &h)
        .await
        .unwrap()
        .unwrap();
    assert_matches(&d2.properties, &live.properties, &[]);
    assert_tags(&d2, &live);

    // Detach, then delete; a second delete of either succeeds.
    for ah in &atts {
        p.delete("aws_organizations_policy_attachment", ah)
            .await
            .unwrap();
        assert_eq!(
            p.read("aws_organizations_policy_attachment", ah)
                .await
                .unwrap(),
            None
        );
        p.delete("aws_organizations_policy_attachment", ah)
            .await
            .unwrap();
    }
    p.delete("aws_organizations_policy", &h).await.unwrap();
    assert_eq!(p.read("aws_organizations_policy", &h).await.unwrap(), None);
    p.delete("aws_organizations_policy", &h).await.unwrap();
    assert_eq!(
        p.read("aws_organizations_policy_attachment", &atts[0])
            .await
            .unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attaching_to_a_missing_target_names_the_call() {
    // (Without any organisation moto's server answers CreatePolicy with HTTP 500, so the
    // no-organisation message is covered by a unit test in src/aws/organizations.rs.)
    let moto = Moto::start();
    let clients = AwsClients::from_sdk(moto.sdk_config());
    organisation(&clients.organizations).await;
    let p = OrganizationsProvider::new(clients.organizations.clone());
    let h = p.create(&region_scp()).await.unwrap();
    // The target id of stacks/governance.json: it does not exist in this organisation.
    let a = desired(
        "governance",
        "attach-region-restriction-prod-ou",
        "aws_organizations_policy_attachment",
        json!({"policy_id": h.reference, "target_id": "ou-w3r1-pr0d7x2q"}),
        json!({}),
    );
    let err = p.create(&a).await.unwrap_err();
    match &err {
        ProviderError::Api {
            operation, code, ..
        } => {
            assert_eq!(*operation, "AttachPolicy");
            // AWS documents TargetNotFoundException; moto's server names the kind of target.
            assert!(
                matches!(
                    code.as_deref(),
                    Some("TargetNotFoundException" | "OrganizationalUnitNotFoundException")
                ),
                "{err}"
            );
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    assert_eq!(
        p.read(
            "aws_organizations_policy_attachment",
            &tollgate_providers::Handle::new(format!("{}|ou-w3r1-pr0d7x2q", h.reference))
        )
        .await
        .unwrap(),
        None
    );
}
