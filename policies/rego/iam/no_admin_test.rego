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
	no_admin.deny == {`fixture/deploy-policy (aws_iam_policy) allows every action ("*") (policy, statement Deploy)`} with input as inp
}

test_admin_statement_without_sid_denied if {
	inp := managed([{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}])
	no_admin.deny == {`fixture/deploy-policy (aws_iam_policy) allows every action ("*") (policy, statement without Sid)`} with input as inp
}

test_admin_as_a_single_statement_object_denied if {
	inp := fx.prod("deploy-policy", "aws_iam_policy", {
		"name": "wer1-prod-deploy",
		"policy": {"Version": "2012-10-17", "Statement": {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}},
	})
	no_admin.deny == {`fixture/deploy-policy (aws_iam_policy) allows every action ("*") (policy, statement All)`} with input as inp
}

test_admin_hidden_among_scoped_statements_denied if {
	inp := managed([
		{"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
		{"Sid": "Everything", "Effect": "Allow", "Action": ["s3:GetObject", "*"], "Resource": ["arn:aws:s3:::a", "*"]},
	])
	no_admin.deny == {`fixture/deploy-policy (aws_iam_policy) allows every action ("*") (policy, statement Everything)`} with input as inp
}

# Every action on one resource is still every action: iam:* on a role ARN, kms:ScheduleKeyDeletion
# on a key, whatever the resource type allows (issue 9: not only "*" on "*").
test_every_action_on_one_resource_denied if {
	inp := managed([{"Sid": "Bucket", "Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::wer1-prod-fixture-artifacts/*"}])
	no_admin.deny == {`fixture/deploy-policy (aws_iam_policy) allows every action ("*") (policy, statement Bucket)`} with input as inp
}

test_every_action_spellings_denied if {
	every a in ["*", "*:*", "**"] {
		count(no_admin.deny) == 1 with input as managed([{"Effect": "Allow", "Action": a, "Resource": "arn:aws:s3:::one"}])
	}
}

test_not_action_with_allow_denied if {
	inp := managed([{"Sid": "AllButIam", "Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"}])
	no_admin.deny == {`fixture/deploy-policy (aws_iam_policy) allows every action except ["iam:*"] (NotAction) (policy, statement AllButIam)`} with input as inp
}

test_not_action_with_deny_passes if {
	inp := managed([{"Effect": "Deny", "NotAction": ["s3:GetObject"], "Resource": "*"}])
	count(no_admin.deny) == 0 with input as inp
}

test_admin_equivalent_services_on_every_resource_denied if {
	every st in [
		{"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
		{"Effect": "Allow", "Action": "IAM:*", "Resource": "arn:aws:iam::*:*"},
		{"Effect": "Allow", "Action": "sts:*", "Resource": "arn:aws:*:*:*:*"},
		{"Effect": "Allow", "Action": "organizations:*", "NotResource": "arn:aws:organizations::*:account/o-x/1"},
	] {
		count(no_admin.deny) == 1 with input as managed([st])
	}
	count(no_admin.deny) == 0 with input as managed([{"Effect": "Allow", "Action": "iam:*", "Resource": "arn:aws:iam::318273645501:role/app-*"}])
}

# Documents written as JSON strings are judged like objects.
test_document_as_a_json_string_denied if {
	inp := fx.prod("deploy-policy", "aws_iam_policy", {"name": "x", "policy": json.marshal(doc([{"Sid": "S", "Effect": "Allow", "Action": "*", "Resource": "*"}]))})
	count(no_admin.deny) == 1 with input as inp
}

test_managed_admin_attachments_denied if {
	every t in ["aws_iam_role_policy_attachment", "aws_iam_user_policy_attachment"] {
		count(no_admin.deny) == 1 with input as fx.prod("attach", t, {"role": "r", "user": "u", "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"})
		count(no_admin.deny) == 1 with input as fx.prod("attach", t, {"role": "r", "policy_arn": "arn:aws:iam::aws:policy/PowerUserAccess"})
		count(no_admin.deny) == 0 with input as fx.prod("attach", t, {"role": "r", "policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"})
	}
}

test_unknown_document_is_unknown if {
	inp := fx.prod("deploy-policy", "aws_iam_policy", {"name": "x", "policy": "(known after apply)"})
	count(no_admin.deny) == 0 with input as inp
	no_admin.unknown == {"fixture/deploy-policy (aws_iam_policy) has a policy document only known at apply (policy)"} with input as inp
}

test_unknown_action_is_unknown if {
	inp := managed([{"Sid": "S", "Effect": "Allow", "Action": "(known after apply)", "Resource": "*"}])
	count(no_admin.unknown) == 1 with input as inp
	count(no_admin.unknown) == 0 with input as managed([{"Sid": "S", "Effect": "Deny", "Action": "(known after apply)", "Resource": "*"}])
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
	no_admin.deny == {`fixture/full-access (aws_organizations_policy) allows every action ("*") (content, statement FullAWSAccess)`} with input as inp
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
	no_admin.deny == {`fixture/ops-role (aws_iam_role) allows every action ("*") (inline_policy[1], statement Admin)`} with input as inp
}

test_role_with_scoped_inline_policy_passes if {
	inp := fx.prod("ops-role", "aws_iam_role", {
		"name": "wer1-prod-ops",
		"assume_role_policy": doc([{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
		"inline_policy": [{"name": "read", "policy": doc([{"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}])}],
	})
	count(no_admin.deny) == 0 with input as inp
}

test_managed_admin_policies_attached_by_arn_denied if {
	every t in ["aws_iam_role", "aws_iam_user"] {
		no_admin.deny == {sprintf("fixture/worker (%s) attaches the AWS-managed arn:aws:iam::aws:policy/AdministratorAccess", [t])} with input as fx.prod("worker", t, {"name": "worker", "managed_policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AdministratorAccess"]})
		count(no_admin.deny) == 0 with input as fx.prod("worker", t, {"name": "worker", "managed_policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]})
	}
}

# From aws-cloudformation-templates' Config and DMS roles: named actions on a resource only
# known at apply can never be administrator access.
test_named_actions_on_an_unknown_resource_are_judged if {
	inp := managed([{"Sid": "S", "Effect": "Allow", "Action": ["s3:GetBucketAcl", "s3:PutObject"], "Resource": "(known after apply)"}])
	count(no_admin.deny) == 0 with input as inp
	count(no_admin.unknown) == 0 with input as inp
}

test_admin_service_wildcard_on_an_unknown_resource_is_unknown if {
	inp := managed([{"Sid": "S", "Effect": "Allow", "Action": "iam:*", "Resource": "(known after apply)"}])
	count(no_admin.unknown) == 1 with input as inp
}

test_unknown_effect_is_unknown_only_where_the_actions_could_be_admin if {
	count(no_admin.unknown) == 1 with input as managed([{"Sid": "S", "Effect": "(known after apply)", "Action": "*", "Resource": "*"}])
	count(no_admin.unknown) == 0 with input as managed([{"Sid": "S", "Effect": "(known after apply)", "Action": "s3:GetObject", "Resource": "*"}])
}

test_a_managed_policy_arn_known_at_apply_is_unknown if {
	inp := fx.prod("worker", "aws_iam_role", {"name": "worker", "managed_policy_arns": ["(known after apply)"]})
	count(no_admin.deny) == 0 with input as inp
	count(no_admin.unknown) == 1 with input as inp
	# A whole list only known at apply (one marker, not a list) is read as one unknown ARN.
	count(no_admin.unknown) == 1 with input as fx.prod("worker", "aws_iam_role", {"name": "worker", "managed_policy_arns": "(known after apply)"})
}
