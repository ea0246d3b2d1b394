package tollgate.tagging.required

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-TAG-001",
	"title": "Taggable resources carry the required tags",
	"family": "tagging",
	"severity": "medium",
	"enforcement": "soft-mandatory",
	"description": "Cost allocation, ownership and incident routing all read the owner, environment, cost-center and stack tags; a resource without them is nobody's.",
	"rationale": "Untagged resources cannot be charged back, routed to an owner during an incident, or cleaned up safely; they accumulate as cost and risk nobody claims.",
	"remediation": "Add non-empty tags owner, environment, cost-center and stack (the list is data.config.tagging.required_tags).",
}

deny contains msg if {
	input.resource.taggable
	some tag in data.config.tagging.required_tags
	object.get(input.resource.tags, tag, "") == ""
	msg := sprintf("%s is missing the tag %q", [lib.name, tag])
}
