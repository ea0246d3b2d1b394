package tollgate.encryption.kms_rotation_test

import data.tollgate.encryption.kms_rotation
import data.tollgate.lib_test as fx
import rego.v1

test_rotating_key_passes if {
	inp := fx.prod("key", "aws_kms_key", {"description": "fixture key", "enable_key_rotation": true})
	count(kms_rotation.deny) == 0 with input as inp
}

test_rotation_off_denied if {
	inp := fx.prod("key", "aws_kms_key", {"description": "fixture key", "enable_key_rotation": false})
	kms_rotation.deny == {"fixture/key (aws_kms_key) does not rotate (enable_key_rotation: false)"} with input as inp
}

test_rotation_unset_denied if {
	inp := fx.prod("key", "aws_kms_key", {"description": "fixture key"})
	kms_rotation.deny == {"fixture/key (aws_kms_key) does not rotate (enable_key_rotation: unset)"} with input as inp
}

# Unknown until apply is not "true": the rule fails closed.
test_rotation_unknown_denied if {
	inp := fx.prod("key", "aws_kms_key", {"description": "fixture key", "enable_key_rotation": "(known after apply)"})
	kms_rotation.deny == {"fixture/key (aws_kms_key) does not rotate (enable_key_rotation: (known after apply))"} with input as inp
}

test_dev_keys_rotate_too if {
	inp := fx.dev("key", "aws_kms_key", {"enable_key_rotation": false})
	count(kms_rotation.deny) == 1 with input as inp
}
