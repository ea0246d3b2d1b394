package tollgate.logging.vpn_connection_logs_test

import data.tollgate.lib_test as fx
import data.tollgate.logging.vpn_connection_logs
import rego.v1

endpoint(extra) := fx.prod("vpn", "aws_ec2_client_vpn_endpoint", object.union(
	{
		"description": "wer1 prod client VPN",
		"client_cidr_block": "10.100.0.0/22",
		"server_certificate_arn": "arn:aws:acm:eu-west-1:318273645501:certificate/0b7e6f0e-5d3c-4c1a-9d1e-2f6c8a9b7c10",
		"split_tunnel": true,
		"vpc_id": "${networking.vpc}",
	},
	extra,
))

test_connection_logging_passes if {
	inp := endpoint({"connection_log_options": {"enabled": true, "cloudwatch_log_group": "${vpn-logs}"}})
	count(vpn_connection_logs.deny) == 0 with input as inp
}

test_connection_logging_off_denied if {
	inp := endpoint({"connection_log_options": {"enabled": false}})
	vpn_connection_logs.deny == {"fixture/vpn (aws_ec2_client_vpn_endpoint) does not log connections"} with input as inp
}

test_connection_logging_unset_denied if {
	vpn_connection_logs.deny == {"fixture/vpn (aws_ec2_client_vpn_endpoint) does not log connections"} with input as endpoint({})
}
