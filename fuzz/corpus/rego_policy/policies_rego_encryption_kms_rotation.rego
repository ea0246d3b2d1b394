package tollgate.encryption.kms_rotation

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-ENC-007",
	"title": "KMS keys rotate yearly",
	"family": "encryption",
	"severity": "medium",
	"enforcement": "soft-mandatory",
	"resource_types": ["aws_kms_key"],
	"description": "Automatic rotation limits how much data one key version protects, at no cost to callers.",
	"rationale": "Rotation bounds the exposure if key material is ever compromised and is expected by most compliance frameworks; AWS rotates transparently, so it costs nothing to turn on.",
	"remediation": "Set enable_key_rotation = true.",
}

deny contains msg if {
	not lib.props.enable_key_rotation == true
	msg := sprintf("%s does not rotate (enable_key_rotation: %v)", [lib.name, object.get(lib.props, "enable_key_rotation", "unset")])
}
