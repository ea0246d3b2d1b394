package tollgate.identity.auth0_test

import data.tollgate.identity.auth0
import data.tollgate.lib_test as fx
import rego.v1

client(overrides) := fx.prod("web-client", "auth0_client", object.union(
	{
		"name": "wer1-web",
		"app_type": "spa",
		"oidc_conformant": true,
		"is_first_party": true,
		"grant_types": ["authorization_code", "refresh_token"],
		"callbacks": ["https://app.wer1.example/callback"],
	},
	overrides,
))

connection(overrides) := fx.prod("customers", "auth0_connection", object.union(
	{
		"name": "wer1-customers",
		"strategy": "auth0",
		"enabled_clients": ["${web-client}"],
		"password_policy": "excellent",
		"brute_force_protection": true,
		"mfa": {"active": true, "return_enroll_settings": true},
	},
	overrides,
))

test_conformant_client_passes if {
	count(auth0.deny) == 0 with input as client({})
}

test_non_conformant_client_denied if {
	auth0.deny == {"fixture/web-client (auth0_client) is not OIDC-conformant"} with input as client({"oidc_conformant": false})
}

test_password_grant_denied if {
	inp := client({"grant_types": ["authorization_code", "password"]})
	auth0.deny == {"fixture/web-client (auth0_client) allows the password grant"} with input as inp
}

test_legacy_client_denied_twice if {
	inp := fx.prod("web-client", "auth0_client", {"name": "wer1-web", "grant_types": ["password"]})
	auth0.deny == {
		"fixture/web-client (auth0_client) is not OIDC-conformant",
		"fixture/web-client (auth0_client) allows the password grant",
	} with input as inp
}

test_strong_database_connection_passes if {
	count(auth0.deny) == 0 with input as connection({})
	count(auth0.deny) == 0 with input as connection({"password_policy": "good"})
}

test_weak_password_policy_denied if {
	auth0.deny == {"fixture/customers (auth0_connection) has a weak password policy (fair)"} with input as connection({"password_policy": "fair"})
}

test_missing_password_policy_denied if {
	inp := fx.prod("customers", "auth0_connection", {"name": "wer1-customers", "strategy": "auth0", "mfa": {"active": true}})
	auth0.deny == {"fixture/customers (auth0_connection) has a weak password policy (none)"} with input as inp
}

test_mfa_off_denied if {
	auth0.deny == {"fixture/customers (auth0_connection) does not require MFA"} with input as connection({"mfa": {"active": false}})
}

# Social and enterprise connections (the staff's Google Workspace) keep passwords elsewhere.
test_non_database_connection_not_judged if {
	inp := fx.prod("staff", "auth0_connection", {"name": "wer1-staff", "strategy": "google-apps", "domain_aliases": ["wer1.example"]})
	count(auth0.deny) == 0 with input as inp
}
