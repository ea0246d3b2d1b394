package tollgate.logging.cloudtrail_test

import data.tollgate.lib_test as fx
import data.tollgate.logging.cloudtrail
import rego.v1

trail(props) := fx.prod("audit", "aws_cloudtrail", object.union({"name": "audit", "s3_bucket_name": "wer1-prod-audit"}, props))

test_complete_trail_passes if {
	count(cloudtrail.deny) == 0 with input as trail({"is_multi_region_trail": true, "enable_log_file_validation": true, "kms_key_id": "${key}"})
}

test_default_trail_denied_three_times if {
	cloudtrail.deny == {
		"fixture/audit (aws_cloudtrail) records one region only (is_multi_region_trail is not true)",
		"fixture/audit (aws_cloudtrail) does not validate its log files (enable_log_file_validation is not true)",
		"fixture/audit (aws_cloudtrail) does not encrypt its logs with KMS (no kms_key_id)",
	} with input as trail({})
}

test_single_region_trail_denied if {
	count(cloudtrail.deny) == 1 with input as trail({"is_multi_region_trail": false, "enable_log_file_validation": true, "kms_key_id": "${key}"})
}
