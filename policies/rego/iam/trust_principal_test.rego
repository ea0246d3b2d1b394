package tollgate.iam.trust_principal_test

import data.tollgate.iam.trust_principal
import data.tollgate.lib_test as fx
import rego.v1

role(statement) := fx.prod("worker-role", "aws_iam_role", {
	"name": "wer1-prod-worker",
	"assume_role_policy": {"Version": "2012-10-17", "Statement": [statement]},
})

denied := {`fixture/worker-role (aws_iam_role) can be assumed by any principal ("*") with no condition naming the caller's organisation, account, source or external id (statement 0)`}

test_service_principal_passes if {
	inp := role({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
	count(trust_principal.deny) == 0 with input as inp
}

test_named_account_passes if {
	inp := role({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::318273645501:root"}, "Action": "sts:AssumeRole"})
	count(trust_principal.deny) == 0 with input as inp
}

test_aws_wildcard_denied if {
	inp := role({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
	trust_principal.deny == denied with input as inp
}

test_aws_wildcard_in_a_list_denied if {
	inp := role({"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::318273645501:root", "*"]}, "Action": "sts:AssumeRole"})
	trust_principal.deny == denied with input as inp
}

test_bare_wildcard_principal_denied if {
	inp := role({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"})
	trust_principal.deny == denied with input as inp
}

test_single_statement_object_denied if {
	inp := fx.prod("worker-role", "aws_iam_role", {
		"name": "wer1-prod-worker",
		"assume_role_policy": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}},
	})
	trust_principal.deny == denied with input as inp
}

# A condition pinning the caller (here, to the organisation) makes a wildcard acceptable.
test_wildcard_with_condition_passes if {
	inp := role({
		"Effect": "Allow",
		"Principal": {"AWS": "*"},
		"Action": "sts:AssumeRole",
		"Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-wer1example"}},
	})
	count(trust_principal.deny) == 0 with input as inp
}

test_wildcard_deny_statement_passes if {
	inp := role({"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"})
	count(trust_principal.deny) == 0 with input as inp
}

# A condition pins only if it names the caller: `{}` or an unrelated key pins nobody.
test_wildcard_with_empty_condition_denied if {
	inp := role({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", "Condition": {}})
	trust_principal.deny == denied with input as inp
}

test_wildcard_with_unrelated_condition_denied if {
	inp := role({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})
	trust_principal.deny == denied with input as inp
}

test_wildcard_with_if_exists_condition_denied if {
	inp := role({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Condition": {"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-wer1example"}}})
	trust_principal.deny == denied with input as inp
}

test_wildcard_pinned_by_external_id_or_source_passes if {
	every c in [{"StringEquals": {"sts:ExternalId": "partner-7"}}, {"StringEquals": {"aws:SourceAccount": "318273645501"}}, {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:eu-west-1:318273645501:t"}}] {
		count(trust_principal.deny) == 0 with input as role({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", "Condition": c})
	}
}

test_oidc_without_sub_denied if {
	inp := role({
		"Effect": "Allow",
		"Principal": {"Federated": "arn:aws:iam::318273645501:oidc-provider/token.actions.githubusercontent.com"},
		"Action": "sts:AssumeRoleWithWebIdentity",
		"Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}},
	})
	count(trust_principal.deny) == 1 with input as inp
}

test_oidc_pinned_to_a_repository_passes if {
	inp := role({
		"Effect": "Allow",
		"Principal": {"Federated": "arn:aws:iam::318273645501:oidc-provider/token.actions.githubusercontent.com"},
		"Action": "sts:AssumeRoleWithWebIdentity",
		"Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:wer1/infra:*"}},
	})
	count(trust_principal.deny) == 0 with input as inp
}

test_trust_policy_as_json_string_denied if {
	inp := fx.prod("worker-role", "aws_iam_role", {
		"name": "wer1-prod-worker",
		"assume_role_policy": json.marshal({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}]}),
	})
	trust_principal.deny == denied with input as inp
}

test_unknown_principal_is_unknown if {
	inp := role({"Effect": "Allow", "Principal": {"AWS": "(known after apply)"}, "Action": "sts:AssumeRole"})
	count(trust_principal.deny) == 0 with input as inp
	trust_principal.unknown == {"fixture/worker-role (aws_iam_role) has a trust statement whose principal or condition is only known at apply (statement 0)"} with input as inp
}

# From aws-cloudformation-templates' EKS and Firehose roles: a service principal is never
# "anyone", whatever its name or condition resolves to at apply.
test_service_principal_known_at_apply_is_judged if {
	inp := role({"Effect": "Allow", "Principal": {"Service": ["(known after apply)", "eks.amazonaws.com"]}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "(known after apply)"}}})
	count(trust_principal.deny) == 0 with input as inp
	count(trust_principal.unknown) == 0 with input as inp
}

# A value only known at apply pins nobody yet: any principal with it fails (the strict way).
test_condition_known_at_apply_on_any_principal_fails if {
	inp := role({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "(known after apply)"}}})
	count(trust_principal.deny) == 1 with input as inp
}
