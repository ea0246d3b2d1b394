package tollgate.identity.auth0

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-IDP-001",
	"title": "Auth0 clients are OIDC-conformant and connections require MFA",
	"family": "identity",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["auth0_client", "auth0_connection"],
	"description": "The password grant hands user passwords to the client; non-conformant clients accept legacy flows. Database connections need a strong password policy and MFA.",
	"rationale": "The login flow protects every user account; legacy grants and single-factor logins are how credential stuffing and phishing turn into account takeover.",
	"remediation": "Clients: oidc_conformant = true and no \"password\" grant. Database (strategy auth0) connections: password_policy \"good\" or \"excellent\" and mfa.active = true.",
}

deny contains msg if {
	input.resource.type == "auth0_client"
	not lib.props.oidc_conformant == true
	msg := sprintf("%s is not OIDC-conformant", [lib.name])
}

deny contains msg if {
	input.resource.type == "auth0_client"
	"password" in object.get(lib.props, "grant_types", [])
	msg := sprintf("%s allows the password grant", [lib.name])
}

deny contains msg if {
	input.resource.type == "auth0_connection"
	lib.props.strategy == "auth0"
	policy := object.get(lib.props, "password_policy", "none")
	not policy in {"good", "excellent"}
	msg := sprintf("%s has a weak password policy (%v)", [lib.name, policy])
}

deny contains msg if {
	input.resource.type == "auth0_connection"
	lib.props.strategy == "auth0"
	not object.get(lib.props, ["mfa", "active"], false) == true
	msg := sprintf("%s does not require MFA", [lib.name])
}
