//! IAM types against moto's server: roles, managed policies, attachments, users, instance
//! profiles and OIDC providers — create → read back equals desired → update → read → delete →
//! gone; find after create; errors that name the call.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aws_support;

use aws_support::{assert_matches, assert_tags, desired};
use serde_json::{Value, json};
use tollgate_providers::aws::AwsClients;
use tollgate_providers::aws::iam::IamProvider;
use tollgate_providers::{Desired, Handle, Provider, ProviderError};
use tollgate_testkit::Moto;

fn provider(moto: &Moto) -> IamProvider {
    IamProvider::new(AwsClients::from_sdk(moto.sdk_config()).iam)
}

fn iam_tags() -> Value {
    json!({"owner": "security", "environment": "prod", "cost-center": "cc-security", "stack": "iam"})
}

/// `workload-boundary` of stacks/iam.json (statements shortened).
fn boundary() -> Desired {
    desired(
        "iam",
        "workload-boundary",
        "aws_iam_policy",
        json!({
            "name": "wer1-workload-boundary",
            "path": "/boundaries/",
            "description": "Permissions boundary for every workload and service role in the prod account",
            "policy": {"Version": "2012-10-17", "Statement": [
                {"Sid": "AllowWorkloadServices", "Effect": "Allow",
                 "Action": ["s3:*", "sqs:*", "sns:*", "kms:Decrypt", "logs:*", "sts:AssumeRole"], "Resource": "*"},
                {"Sid": "DenyIdentityAndOrgChanges", "Effect": "Deny",
                 "Action": ["iam:Create*", "iam:Delete*", "organizations:*", "account:*"], "Resource": "*"}]}
        }),
        iam_tags(),
    )
}

/// `flow-logs-role` of stacks/networking.json, `${iam.workload-boundary}` resolved.
fn flow_logs_role(boundary_arn: &str) -> Desired {
    desired(
        "networking",
        "flow-logs-role",
        "aws_iam_role",
        json!({
            "name": "wer1-prod-vpc-flow-logs",
            "description": "Lets VPC Flow Logs deliver to CloudWatch Logs",
            "path": "/",
            "assume_role_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": "318273645501"}}}]},
            "max_session_duration": 3600,
            "force_detach_policies": true,
            "permissions_boundary": boundary_arn,
            "inline_policy": [{"name": "deliver-flow-logs", "policy": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"],
                "Resource": ["arn:aws:logs:eu-west-1:318273645501:log-group:/aws/vpc/wer1-prod/flow-logs",
                             "arn:aws:logs:eu-west-1:318273645501:log-group:/aws/vpc/wer1-prod/flow-logs:*"]}]}}]
        }),
        json!({"owner": "platform", "environment": "prod", "cost-center": "cc-platform", "stack": "networking"}),
    )
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

async fn roundtrip_read(p: &IamProvider, d: &Desired, h: &Handle) {
    let live = p
        .read(&d.type_name, h)
        .await
        .unwrap()
        .expect("object exists");
    assert_matches(&d.properties, &live.properties, p.write_only(&d.type_name));
    assert_tags(d, &live);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_policy_round_trip_keeps_one_version() {
    let moto = Moto::start();
    let p = provider(&moto);
    let d = boundary();
    let h = p.create(&d).await.unwrap();
    assert!(
        h.reference.starts_with("arn:aws:iam::")
            && h.reference
                .ends_with(":policy/boundaries/wer1-workload-boundary"),
        "{h:?}"
    );
    roundtrip_read(&p, &d, &h).await;
    assert_eq!(
        p.find(&d).await.unwrap().map(|f| f.provider_id),
        Some(h.provider_id.clone())
    );

    // Six updates: more than IAM's five versions; each becomes the default, old ones go.
    let mut d2 = d.clone();
    for i in 0..6 {
        d2.properties["policy"]["Statement"][0]["Action"] = json!(["s3:*", format!("sqs:Send{i}")]);
        p.update(&d2, &h, &strings(&["policy"])).await.unwrap();
    }
    d2.tags.insert("review".into(), "2026-q4".into());
    d2.tags.remove("cost-center");
    p.update(&d2, &h, &strings(&["tags"])).await.unwrap();
    roundtrip_read(&p, &d2, &h).await;
    let versions = AwsClients::from_sdk(moto.sdk_config())
        .iam
        .list_policy_versions()
        .policy_arn(&h.provider_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        versions.versions().len(),
        1,
        "only the default version is kept"
    );

    p.delete("aws_iam_policy", &h).await.unwrap();
    assert_eq!(p.read("aws_iam_policy", &h).await.unwrap(), None);
    p.delete("aws_iam_policy", &h)
        .await
        .expect("deleting a deleted policy succeeds");
    assert_eq!(p.find(&d).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_with_attachment_and_profile_round_trip() {
    let moto = Moto::start();
    let p = provider(&moto);
    let b = p.create(&boundary()).await.unwrap();
    let d = flow_logs_role(&b.reference);
    let h = p.create(&d).await.unwrap();
    assert!(
        h.reference.ends_with(":role/wer1-prod-vpc-flow-logs"),
        "references are the role ARN: {h:?}"
    );
    roundtrip_read(&p, &d, &h).await;
    assert_eq!(
        p.find(&d).await.unwrap().map(|f| f.reference),
        Some(h.reference.clone())
    );

    // Managed policy attachment, the role given as the ARN its reference resolves to.
    let att = desired(
        "networking",
        "flow-logs-ssm",
        "aws_iam_role_policy_attachment",
        json!({
        "role": h.reference, "policy_arn": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"}),
        json!({}),
    );
    assert_eq!(p.find(&att).await.unwrap(), None);
    let ah = p.create(&att).await.unwrap();
    let live = p
        .read("aws_iam_role_policy_attachment", &ah)
        .await
        .unwrap()
        .expect("attached");
    assert_eq!(
        live.properties, att.properties,
        "the role reads back as it was given"
    );
    assert_eq!(p.find(&att).await.unwrap(), Some(ah.clone()));

    // Instance profile around the role.
    let prof = desired(
        "networking",
        "flow-logs-profile",
        "aws_iam_instance_profile",
        json!({"name": "wer1-prod-flow-logs", "path": "/", "role": h.reference}),
        json!({"owner": "platform"}),
    );
    let ph = p.create(&prof).await.unwrap();
    assert_eq!(
        ph.reference, "wer1-prod-flow-logs",
        "EC2 takes the profile's name"
    );
    roundtrip_read(&p, &prof, &ph).await;
    assert_eq!(
        p.find(&prof).await.unwrap().map(|f| f.provider_id),
        Some(ph.provider_id.clone())
    );

    // Update the role: trust, description, session length, inline policies, boundary, tags.
    let mut d2 = d.clone();
    d2.properties["assume_role_policy"]["Statement"][0]["Principal"]["Service"] =
        json!("delivery.logs.amazonaws.com");
    d2.properties["description"] = json!("Flow logs delivery (v2)");
    d2.properties["max_session_duration"] = json!(7200);
    d2.properties["inline_policy"] = json!([{"name": "read-log-groups", "policy": {"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"}]}}]);
    d2.properties
        .as_object_mut()
        .unwrap()
        .remove("permissions_boundary");
    d2.tags.insert("tier".into(), "core".into());
    let changed = strings(&[
        "assume_role_policy",
        "description",
        "max_session_duration",
        "inline_policy",
        "permissions_boundary",
        "tags",
    ]);
    p.update(&d2, &h, &changed).await.unwrap();
    let live = p.read("aws_iam_role", &h).await.unwrap().unwrap();
    assert_matches(
        &d2.properties,
        &live.properties,
        p.write_only("aws_iam_role"),
    );
    assert!(
        live.properties.get("permissions_boundary").is_none(),
        "the boundary was removed"
    );
    assert_tags(&d2, &live);

    // Deletes: the profile, then the role while the managed policy is still attached
    // (force_detach_policies detaches it), then the attachment is found gone.
    p.delete("aws_iam_instance_profile", &ph).await.unwrap();
    assert_eq!(p.read("aws_iam_instance_profile", &ph).await.unwrap(), None);
    p.delete("aws_iam_role", &h).await.unwrap();
    assert_eq!(p.read("aws_iam_role", &h).await.unwrap(), None);
    assert_eq!(
        p.read("aws_iam_role_policy_attachment", &ah).await.unwrap(),
        None
    );
    p.delete("aws_iam_role_policy_attachment", &ah)
        .await
        .expect("detaching from a deleted role succeeds");
    p.delete("aws_iam_role", &h)
        .await
        .expect("deleting a deleted role succeeds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_attachment_and_oidc_round_trip() {
    let moto = Moto::start();
    let p = provider(&moto);
    let b = p.create(&boundary()).await.unwrap();
    // `svc-legacy-backup` of stacks/iam.json, without its `permissions_boundary`: moto's server
    // drops a user's boundary (CreateUser ignores it, GetUser never returns it), so that field
    // cannot be read back here. Roles' boundaries are tested above.
    let _ = b;
    let d = desired(
        "iam",
        "svc-legacy-backup",
        "aws_iam_user",
        json!({
        "name": "svc-legacy-backup", "path": "/service/", "force_destroy": true}),
        iam_tags(),
    );
    let h = p.create(&d).await.unwrap();
    assert!(
        h.reference.ends_with(":user/service/svc-legacy-backup"),
        "{h:?}"
    );
    roundtrip_read(&p, &d, &h).await;
    assert_eq!(
        p.find(&d).await.unwrap().map(|f| f.reference),
        Some(h.reference.clone())
    );

    let att = desired(
        "iam",
        "svc-legacy-backup-s3",
        "aws_iam_user_policy_attachment",
        json!({
        "user": h.reference, "policy_arn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}),
        json!({}),
    );
    let ah = p.create(&att).await.unwrap();
    assert_eq!(
        p.read("aws_iam_user_policy_attachment", &ah)
            .await
            .unwrap()
            .unwrap()
            .properties,
        att.properties
    );
    assert_eq!(p.find(&att).await.unwrap(), Some(ah.clone()));

    let mut d2 = d.clone();
    d2.properties["path"] = json!("/legacy/");
    d2.tags.insert("expires".into(), "2027-01-01".into());
    p.update(&d2, &h, &strings(&["path", "tags"]))
        .await
        .unwrap();
    roundtrip_read(&p, &d2, &h).await;

    // An access key the document never mentions: force_destroy removes it with the user.
    AwsClients::from_sdk(moto.sdk_config())
        .iam
        .create_access_key()
        .user_name("svc-legacy-backup")
        .send()
        .await
        .unwrap();
    p.delete("aws_iam_user", &h).await.unwrap();
    assert_eq!(p.read("aws_iam_user", &h).await.unwrap(), None);
    assert_eq!(
        p.read("aws_iam_user_policy_attachment", &ah).await.unwrap(),
        None
    );

    // `github-oidc` of stacks/iam.json.
    let o = desired(
        "iam",
        "github-oidc",
        "aws_iam_openid_connect_provider",
        json!({
        "url": "https://token.actions.githubusercontent.com", "client_id_list": ["sts.amazonaws.com"],
        "thumbprint_list": ["6938fd4d98bab03faadb97b34396831e3780aea1"]}),
        iam_tags(),
    );
    let oh = p.create(&o).await.unwrap();
    assert!(
        oh.reference
            .ends_with(":oidc-provider/token.actions.githubusercontent.com"),
        "{oh:?}"
    );
    roundtrip_read(&p, &o, &oh).await;
    assert_eq!(p.find(&o).await.unwrap(), Some(oh.clone()));
    let mut o2 = o.clone();
    o2.properties["thumbprint_list"] = json!(["1c58a3a8518e8759bf075b76b750d4f2df264fcd"]);
    o2.tags.insert("rotated".into(), "2026-11".into());
    p.update(&o2, &oh, &strings(&["thumbprint_list", "tags"]))
        .await
        .unwrap();
    roundtrip_read(&p, &o2, &oh).await;
    // moto's server lacks AddClientIDToOpenIDConnectProvider: the provider reports that as
    // unsupported by the endpoint, apart from real failures.
    o2.properties["client_id_list"] = json!(["sts.amazonaws.com", "wer1-ci"]);
    let err = p
        .update(&o2, &oh, &strings(&["client_id_list"]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::NotSupported {
                operation: "AddClientIDToOpenIDConnectProvider",
                ..
            }
        ),
        "{err:?}"
    );
    p.delete("aws_iam_openid_connect_provider", &oh)
        .await
        .unwrap();
    assert_eq!(
        p.read("aws_iam_openid_connect_provider", &oh)
            .await
            .unwrap(),
        None
    );
    p.delete("aws_iam_openid_connect_provider", &oh)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attaching_a_missing_policy_names_the_call() {
    let moto = Moto::start();
    let p = provider(&moto);
    let b = p.create(&boundary()).await.unwrap();
    let role = p.create(&flow_logs_role(&b.reference)).await.unwrap();
    let att = desired(
        "networking",
        "bad",
        "aws_iam_role_policy_attachment",
        json!({
        "role": role.reference, "policy_arn": "arn:aws:iam::123456789012:policy/does-not-exist"}),
        json!({}),
    );
    let err = p.create(&att).await.unwrap_err();
    match &err {
        ProviderError::Api {
            service,
            operation,
            code,
            ..
        } => {
            assert_eq!((*service, *operation), ("iam", "AttachRolePolicy"));
            assert_eq!(code.as_deref(), Some("NoSuchEntity"), "{err}");
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    assert!(err.is_not_found());
    assert!(
        err.to_string().contains("does-not-exist"),
        "the message names the policy: {err}"
    );

    // A role with a trust policy that is not a document fails before any call.
    let mut bad = flow_logs_role(&b.reference);
    bad.properties["assume_role_policy"] = json!(42);
    let err = p.create(&bad).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Invalid { .. })
            && err.to_string().contains("assume_role_policy"),
        "{err}"
    );
}
