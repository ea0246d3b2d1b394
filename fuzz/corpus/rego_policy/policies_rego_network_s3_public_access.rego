package tollgate.network.s3_public_access

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-NET-006",
	"title": "S3 buckets block all public access",
	"family": "network",
	"severity": "critical",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_s3_bucket"],
	"description": "The four public access block settings stop a bucket policy or ACL from ever making objects public.",
	"rationale": "Most S3 data leaks come from a bucket made public by an ACL or policy change; the public access block makes that mistake impossible rather than merely unlikely.",
	"remediation": "Set public_access_block.{block_public_acls, block_public_policy, ignore_public_acls, restrict_public_buckets} = true.",
}

settings := ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]

deny contains msg if {
	some s in settings
	not object.get(lib.props, ["public_access_block", s], false) == true
	msg := sprintf("%s has public_access_block.%s not true", [lib.name, s])
}
