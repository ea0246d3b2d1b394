#!/usr/bin/env bash
# The sandbox: starts moto's server (an AWS emulator) on a free loopback port, then plans and
# applies the shipped estate's AWS stacks to it with Tollgate, and plans once more to show that
# nothing is left to change. Nothing leaves 127.0.0.1: explicit test credentials and region, no
# shared AWS config, instance metadata disabled.
#
#   scripts/sandbox.sh                 # the AWS stacks below
#   scripts/sandbox.sh stacks/iam.json # any stack documents
#
# Needs moto's server (`pip install 'moto[server]'`). Leaves the plan and the state in
# target/sandbox/ and stops the server on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

STACKS=("$@")
if [ ${#STACKS[@]} -eq 0 ]; then
  STACKS=(stacks/governance.json stacks/iam.json stacks/budgeting.json stacks/networking.json
          stacks/storage-event-storage.json stacks/bastion.json stacks/cluster-system.json
          stacks/cluster-compute.json stacks/database.json stacks/cache.json stacks/search.json)
fi

command -v moto_server >/dev/null || { echo "moto_server not found: pip install 'moto[server]'" >&2; exit 2; }

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=eu-west-1 \
  AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export AWS_ENDPOINT_URL="http://127.0.0.1:${PORT}"
mkdir -p target/sandbox
MOTO_IAM_LOAD_MANAGED_POLICIES=true moto_server -H 127.0.0.1 -p "$PORT" >target/sandbox/moto.log 2>&1 &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "${AWS_ENDPOINT_URL}/moto-api/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "${AWS_ENDPOINT_URL}/moto-api/" >/dev/null || { echo "moto did not start (target/sandbox/moto.log)" >&2; exit 2; }
echo "== moto's server on ${AWS_ENDPOINT_URL} (pid ${MOTO_PID})"

# The sandbox's copies of the stack documents differ from the shipped ones in four places, each
# because an emulator is not WeR1's account:
# - the governance stack attaches its service control policies to WeR1's organisation root and
#   units by id; the sandbox account becomes a management account of the same shape (a root,
#   `prod` and `security` units) and the copies name the sandbox's ids;
# - the bastion's AMI is one of WeR1's; the copy uses one of the emulator's Amazon images;
# - the cluster stacks also hold Kubernetes objects (namespaces, Helm releases), which are not
#   AWS resources, and EKS add-ons, which moto does not serve; the copies mark those types
#   managed elsewhere, so the sandbox applies every AWS resource moto can hold;
# - moto 5.2.1 answers CreateDBCluster with `StorageType: aurora` with an internal error (HTTP
#   500); the database copy leaves `storage_type` out (Aurora's default is the same standard
#   storage).
rm -rf target/sandbox/stacks && mkdir -p target/sandbox/stacks
python3 - "${STACKS[@]}" <<'PY'
import json, os, sys, boto3
org = boto3.client("organizations", region_name="eu-west-1", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
org.create_organization(FeatureSet="ALL")
root = org.list_roots()["Roots"][0]["Id"]
ids = {"r-w3r1": root}
for name, wer1_id in (("prod", "ou-w3r1-pr0d7x2q"), ("security", "ou-w3r1-s3cur1ty")):
    ids[wer1_id] = org.create_organizational_unit(ParentId=root, Name=name)["OrganizationalUnit"]["Id"]
ec2 = boto3.client("ec2", region_name="eu-west-1", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
ami = next(i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"] if i.get("RootDeviceName"))
ids["ami-0c1f3a9e5d7b24680"] = ami
for path in sys.argv[1:]:
    text = open(path).read()
    for wer1_id, sandbox_id in ids.items():
        text = text.replace('"%s"' % wer1_id, '"%s"' % sandbox_id)
    doc = json.loads(text)
    for r in doc["resources"]:
        if not r["type"].startswith("aws_"):
            doc.setdefault("managed_elsewhere", {})[r["type"]] = "not an AWS resource: outside the sandbox"
        elif r["type"] == "aws_rds_cluster":
            r["properties"].pop("storage_type", None)
        elif r["type"] == "aws_eks_addon":
            doc.setdefault("managed_elsewhere", {})[r["type"]] = "moto does not serve EKS add-ons"
    with open(os.path.join("target/sandbox/stacks", os.path.basename(path)), "w") as f:
        json.dump(doc, f, indent=2)
PY
SANDBOX_STACKS=()
for s in "${STACKS[@]}"; do SANDBOX_STACKS+=("target/sandbox/stacks/$(basename "$s")"); done

# TOLLGATE_BIN: a tollgate binary already built (e.g. target/debug/tollgate).
TG=${TOLLGATE_BIN:-}
if [ -z "$TG" ]; then
  cargo build --release --quiet
  TG=target/release/tollgate
fi
rm -f target/sandbox/state.json target/sandbox/state.json.backup
echo "== tollgate plan"
"$TG" plan "${SANDBOX_STACKS[@]}" --state target/sandbox/state.json -o target/sandbox/plan.json | tail -n 4
echo "== tollgate apply"
status=0
"$TG" apply target/sandbox/plan.json --auto-approve >target/sandbox/apply.log || status=$?
grep -v ': created$' target/sandbox/apply.log || true
[ "$status" -eq 0 ] || { echo "apply failed (exit $status): target/sandbox/apply.log" >&2; exit "$status"; }
echo "== tollgate plan (again: nothing should be left to change)"
"$TG" plan "${SANDBOX_STACKS[@]}" --state target/sandbox/state.json -o target/sandbox/plan-2.json | grep '^Plan:'
