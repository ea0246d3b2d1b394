package tollgate.iam.no_admin_test

import data.tollgate.iam.no_admin
import data.tollgate.lib_test as fx
import rego.v1

doc(statements) := {"Version": "2012-10-17", "Statement": statements}

managed(statements) := fx.prod("deploy-policy", "aws_iam_policy", {"name": "wer1-prod-deploy", "policy": doc(statements)})

test_scoped_policy_passes if {
	inp := managed([{
		"Sid": "Deploy",
		"Effect": "Allow",
		"Action": ["s3:GetObject", "s3:PutObject"],
		"Resource": ["arn:aws:s3:::wer1-prod-fixture-artifacts/*"],
	}])
	count(no_admin.deny) == 0 with input as inp
}

test_admin_policy_denied if {
	inp := managed([{"Sid": "Deploy", "Effect": "Allow", "Action": "*", "Resource": "*"}])
	no_admin.deny == {`fixture/deploy-policy (aws_iam_policy) allows "*" on "*" (statement Deploy)`} with input as inp
}

test_admin_statement_without_sid_denied if {
	inp := managed([{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}])
	no_admin.deny == {`fixture/deploy-policy (aws_iam_policy) allows "*" on "*" (statement without Sid)`} with input as inp
}

test_admin_as_a_single_statement_object_denied if {
	inp := fx.prod("deploy-policy", "aws_iam_policy", {
		"name": "wer1-prod-deploy",
		"policy": {"Version": "2012-10-17", "Statement": {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}},
	})
	no_admin.deny == {`fixture/deploy-policy (aws_iam_policy) allows "*" on "*" (statement All)`} with input as inp
}

test_admin_hidden_among_scoped_statements_denied if {
	inp := managed([
		{"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
		{"Sid": "Everything", "Effect": "Allow", "Action": ["s3:GetObject", "*"], "Resource": ["arn:aws:s3:::a", "*"]},
	])
	no_admin.deny == {`fixture/deploy-policy (aws_iam_policy) allows "*" on "*" (statement Everything)`} with input as inp
}

test_every_action_on_one_resource_passes if {
	inp := managed([{"Sid": "Bucket", "Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::wer1-prod-fixture-artifacts/*"}])
	count(no_admin.deny) == 0 with input as inp
}

test_service_wildcard_passes if {
	inp := managed([{"Sid": "S3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
	count(no_admin.deny) == 0 with input as inp
}

# A Deny of everything (the governance stack's DenyRootUser SCP) grants nothing.
test_deny_everything_passes if {
	inp := fx.prod("deny-root", "aws_organizations_policy", {
		"name": "deny-root-user",
		"type": "SERVICE_CONTROL_POLICY",
		"content": doc([{
			"Sid": "DenyRootUser",
			"Effect": "Deny",
			"Action": "*",
			"Resource": "*",
			"Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}},
		}]),
	})
	count(no_admin.deny) == 0 with input as inp
}

test_organizations_policy_allowing_everything_denied if {
	inp := fx.prod("full-access", "aws_organizations_policy", {
		"name": "full-access",
		"type": "SERVICE_CONTROL_POLICY",
		"content": doc([{"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}]),
	})
	no_admin.deny == {`fixture/full-access (aws_organizations_policy) allows "*" on "*" (statement FullAWSAccess)`} with input as inp
}

test_role_inline_admin_policy_denied if {
	inp := fx.prod("ops-role", "aws_iam_role", {
		"name": "wer1-prod-ops",
		"assume_role_policy": doc([{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
		"inline_policy": [
			{"name": "read", "policy": doc([{"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}])},
			{"name": "admin", "policy": doc([{"Sid": "Admin", "Effect": "Allow", "Action": "*", "Resource": "*"}])},
		],
	})
	no_admin.deny == {`fixture/ops-role (aws_iam_role) allows "*" on "*" (statement Admin)`} with input as inp
}

test_role_with_scoped_inline_policy_passes if {
	inp := fx.prod("ops-role", "aws_iam_role", {
		"name": "wer1-prod-ops",
		"assume_role_policy": doc([{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
		"inline_policy": [{"name": "read", "policy": doc([{"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}])}],
	})
	count(no_admin.deny) == 0 with input as inp
}
