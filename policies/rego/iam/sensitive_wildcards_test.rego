package tollgate.iam.sensitive_wildcards_test

import data.tollgate.iam.sensitive_wildcards
import data.tollgate.lib_test as fx
import rego.v1

managed(statements) := fx.prod("app-policy", "aws_iam_policy", {"name": "wer1-prod-app", "policy": {"Version": "2012-10-17", "Statement": statements}})

test_named_actions_and_resources_pass if {
	inp := managed([{"Effect": "Allow", "Action": ["s3:GetObject", "kms:Decrypt"], "Resource": ["arn:aws:s3:::wer1-prod-app/*", "arn:aws:kms:eu-west-1:318273645501:key/k"]}])
	count(sensitive_wildcards.deny) == 0 with input as inp
}

test_service_wildcard_on_every_resource_denied if {
	inp := managed([{"Sid": "S3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
	sensitive_wildcards.deny == {`fixture/app-policy (aws_iam_policy) allows every s3 action ("s3:*") on every resource ("*") (policy, statement S3)`} with input as inp
}

test_spellings_of_a_service_wildcard_denied if {
	every st in [
		{"Effect": "Allow", "Action": "KMS:*", "Resource": "arn:aws:*:*:*:*"},
		{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*"},
		{"Effect": "Allow", "Action": "secretsmanager:*", "NotResource": "arn:aws:secretsmanager:eu-west-1:318273645501:secret:x"},
	] {
		count(sensitive_wildcards.deny) == 1 with input as managed([st])
	}
}

test_service_wildcard_on_one_bucket_passes if {
	count(sensitive_wildcards.deny) == 0 with input as managed([{"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::wer1-prod-app", "arn:aws:s3:::wer1-prod-app/*"]}])
}

test_deny_statements_pass if {
	count(sensitive_wildcards.deny) == 0 with input as managed([{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}])
}

test_services_come_from_data if {
	inp := managed([{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}])
	count(sensitive_wildcards.deny) == 0 with input as inp
	count(sensitive_wildcards.deny) == 1 with input as inp with data.config.iam.sensitive_services as ["sqs"]
}
