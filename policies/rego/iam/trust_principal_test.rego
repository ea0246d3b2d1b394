package tollgate.iam.trust_principal_test

import data.tollgate.iam.trust_principal
import data.tollgate.lib_test as fx
import rego.v1

role(statement) := fx.prod("worker-role", "aws_iam_role", {
	"name": "wer1-prod-worker",
	"assume_role_policy": {"Version": "2012-10-17", "Statement": [statement]},
})

denied := {"fixture/worker-role (aws_iam_role) can be assumed by any principal"}

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
