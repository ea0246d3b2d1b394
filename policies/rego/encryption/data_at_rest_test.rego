package tollgate.encryption.data_at_rest_test

import data.tollgate.encryption.data_at_rest
import data.tollgate.lib_test as fx
import rego.v1

test_encrypted_file_system_passes if {
	count(data_at_rest.deny) == 0 with input as fx.prod("shared", "aws_efs_file_system", {"encrypted": true, "kms_key_id": "${key}"})
}

test_unencrypted_file_system_denied if {
	data_at_rest.deny == {"fixture/shared (aws_efs_file_system) does not encrypt at rest (encrypted is false, needs true)"} with input as fx.prod("shared", "aws_efs_file_system", {"encrypted": false})
}

test_file_system_without_the_setting_denied if {
	data_at_rest.deny == {"fixture/shared (aws_efs_file_system) does not encrypt at rest (encrypted is unset, needs true)"} with input as fx.prod("shared", "aws_efs_file_system", {})
}

test_unencrypted_warehouse_denied if {
	data_at_rest.deny == {"fixture/dw (aws_redshift_cluster) does not encrypt at rest (encrypted is false, needs true)"} with input as fx.prod("dw", "aws_redshift_cluster", {"cluster_identifier": "dw", "encrypted": false})
}

test_kms_stream_passes if {
	count(data_at_rest.deny) == 0 with input as fx.prod("events", "aws_kinesis_stream", {"name": "events", "encryption_type": "KMS", "kms_key_id": "${key}"})
}

test_unencrypted_stream_denied if {
	data_at_rest.deny == {"fixture/events (aws_kinesis_stream) does not encrypt at rest (encryption_type is NONE, needs KMS)"} with input as fx.prod("events", "aws_kinesis_stream", {"name": "events", "encryption_type": "NONE"})
}

# A value only known at apply is not known to encrypt: fails closed.
test_unknown_encryption_denied if {
	count(data_at_rest.deny) == 1 with input as fx.prod("shared", "aws_efs_file_system", {"encrypted": "(known after apply)"})
}
