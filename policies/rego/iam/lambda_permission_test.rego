package tollgate.iam.lambda_permission_test

import data.tollgate.iam.lambda_permission
import data.tollgate.lib_test as fx
import rego.v1

perm(props) := fx.prod("invoke", "aws_lambda_permission", object.union({"action": "lambda:InvokeFunction", "function_name": "thumbnailer"}, props))

test_service_with_source_passes if {
	count(lambda_permission.deny) == 0 with input as perm({"principal": "s3.amazonaws.com", "source_arn": "arn:aws:s3:::wer1-prod-media", "source_account": "123456789012"})
}

test_everyone_denied if {
	lambda_permission.deny == {"fixture/invoke (aws_lambda_permission) lets * invoke thumbnailer from any source (no source_arn, source_account or principal_org_id)"} with input as perm({"principal": "*"})
}

test_service_without_source_denied if {
	count(lambda_permission.deny) == 1 with input as perm({"principal": "sns.amazonaws.com"})
}

test_account_principal_passes if {
	count(lambda_permission.deny) == 0 with input as perm({"principal": "123456789012"})
}

test_everyone_in_the_organisation_passes if {
	count(lambda_permission.deny) == 0 with input as perm({"principal": "*", "principal_org_id": "o-abc123"})
}

test_unauthenticated_function_url_denied if {
	count(lambda_permission.deny) == 1 with input as perm({"action": "lambda:InvokeFunctionUrl", "principal": "123456789012", "function_url_auth_type": "NONE"})
}
