package tollgate.encryption.webhook_transport_test

import data.tollgate.encryption.webhook_transport
import data.tollgate.lib_test as fx
import rego.v1

compliant := {
	"name": "deploy-notifications",
	"direction": "outbound",
	"url": "https://hooks.wer1.example/deploys",
	"signing_secret_ref": "${secrets.deploy-hook-signing-secret}",
	"signature_algorithm": "hmac-sha256",
	"signature_header": "X-Signature-256",
	"events": ["deploy.finished"],
	"active": true,
}

hook(props) := fx.prod("deploy-hook", "webhook_endpoint", props)

test_https_signed_hook_passes if {
	count(webhook_transport.deny) == 0 with input as hook(compliant)
}

test_plain_http_denied if {
	inp := hook(object.union(compliant, {"url": "http://hooks.wer1.example/deploys"}))
	webhook_transport.deny == {"fixture/deploy-hook (webhook_endpoint) url is not https: http://hooks.wer1.example/deploys"} with input as inp
}

test_missing_url_denied if {
	inp := hook(object.remove(compliant, ["url"]))
	webhook_transport.deny == {"fixture/deploy-hook (webhook_endpoint) url is not https: unset"} with input as inp
}

test_weak_signature_denied if {
	inp := hook(object.union(compliant, {"signature_algorithm": "hmac-sha1"}))
	webhook_transport.deny == {"fixture/deploy-hook (webhook_endpoint) is not signed with hmac-sha256 (signature_algorithm: hmac-sha1)"} with input as inp
}

test_unsigned_hook_denied if {
	inp := hook(object.remove(compliant, ["signature_algorithm", "signing_secret_ref"]))
	webhook_transport.deny == {
		"fixture/deploy-hook (webhook_endpoint) is not signed with hmac-sha256 (signature_algorithm: unset)",
		"fixture/deploy-hook (webhook_endpoint) has no signing_secret_ref",
	} with input as inp
}

test_empty_secret_ref_denied if {
	inp := hook(object.union(compliant, {"signing_secret_ref": ""}))
	webhook_transport.deny == {"fixture/deploy-hook (webhook_endpoint) has no signing_secret_ref"} with input as inp
}
