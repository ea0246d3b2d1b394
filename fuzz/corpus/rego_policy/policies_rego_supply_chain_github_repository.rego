package tollgate.supply_chain.github_repository

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-GH-001",
	"title": "GitHub repositories are private with vulnerability alerts",
	"family": "supply-chain",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["github_repository"],
	"description": "Infrastructure repositories describe the estate's weak points; Dependabot alerts catch vulnerable dependencies early.",
	"rationale": "A public infrastructure repository maps the estate for attackers and may leak secrets; vulnerable dependencies in it are a supply-chain path into the pipeline.",
	"remediation": "Set visibility = \"private\" and vulnerability_alerts = true.",
}

deny contains msg if {
	not lib.props.visibility == "private"
	msg := sprintf("%s has visibility %v", [lib.name, object.get(lib.props, "visibility", "unset")])
}

deny contains msg if {
	not lib.props.vulnerability_alerts == true
	msg := sprintf("%s has vulnerability alerts off", [lib.name])
}
