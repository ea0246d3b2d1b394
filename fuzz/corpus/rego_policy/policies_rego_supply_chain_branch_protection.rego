package tollgate.supply_chain.branch_protection

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-GH-002",
	"title": "Default branches need a reviewed pull request, admins included",
	"family": "supply-chain",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["github_branch_protection"],
	"description": "Every change to infrastructure code is reviewed by someone other than its author; admins get no bypass.",
	"rationale": "Infrastructure code changes production; one compromised or careless account must not be able to change the default branch without a second person seeing it.",
	"remediation": "Set enforce_admins = true and required_pull_request_reviews = {required_approving_review_count >= 1, dismiss_stale_reviews = true}.",
}

reviews := object.get(lib.props, "required_pull_request_reviews", {})

deny contains msg if {
	not lib.props.enforce_admins == true
	msg := sprintf("%s lets admins bypass protection", [lib.name])
}

approvals := object.get(reviews, "required_approving_review_count", 0)

deny contains msg if {
	is_number(approvals)
	approvals < 1
	msg := sprintf("%s requires no approving review", [lib.name])
}

# A count not known until apply might be 0: fail closed. (Compared as is, a string sorts above
# every number and would pass.)
deny contains msg if {
	not is_number(approvals)
	msg := sprintf("%s requires an unknown number of approving reviews (%v)", [lib.name, approvals])
}

deny contains msg if {
	not reviews.dismiss_stale_reviews == true
	msg := sprintf("%s keeps approvals after new pushes", [lib.name])
}
