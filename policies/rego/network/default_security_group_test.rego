package tollgate.network.default_security_group_test

import data.tollgate.lib_test as fx
import data.tollgate.network.default_security_group
import rego.v1

test_empty_default_group_passes if {
	count(default_security_group.deny) == 0 with input as fx.prod("default", "aws_default_security_group", {"vpc_id": "${vpc}"})
}

test_default_group_with_rules_denied if {
	inp := fx.prod("default", "aws_default_security_group", {
		"vpc_id": "${vpc}",
		"ingress": [{"protocol": "-1", "from_port": 0, "to_port": 0, "self": true}],
		"egress": [{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}],
	})
	default_security_group.deny == {
		"fixture/default (aws_default_security_group) has 1 ingress rule(s); the default group should allow nothing",
		"fixture/default (aws_default_security_group) has 1 egress rule(s); the default group should allow nothing",
	} with input as inp
}
