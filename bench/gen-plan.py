#!/usr/bin/env python3
"""Generates a large Terraform plan (`terraform show -json` shape) for the plan benchmark.

Copies of the shipped estate's stacks become child modules (`module.<stack>_<n>`) of one root
module until the plan holds --resources resource instances (split S3 and security-group
resources included, as from_stack.py writes them). About --violating-pct percent of resources get
one policy-breaking mutation. References become values unknown until apply. `planned_values`
repeats every value, as Terraform's output does, so the file has a realistic size (the importer
skips it unread).

    python3 bench/gen-plan.py --resources 100000 --out /tmp/tollgate-bench/plan.json
"""
import argparse
import copy
import glob
import json
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures", "terraform"))
import from_stack  # noqa: E402


def mutate(r, rng):
    p = r.setdefault("properties", {})
    t = r["type"]
    options = []
    if t == "aws_s3_bucket":
        options += [lambda: p.update(server_side_encryption={"sse_algorithm": "AES256"}),
                    lambda: p.update(versioning={"enabled": False})]
    if t == "aws_rds_cluster":
        options.append(lambda: p.update(storage_encrypted=False))
    if t == "aws_kms_key":
        options.append(lambda: p.update(enable_key_rotation=False))
    if t == "aws_security_group":
        options.append(lambda: p.setdefault("ingress", []).append(
            {"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}))
    if "tags" in r:
        options.append(lambda: r["tags"].pop("cost-center", None))
    if options:
        rng.choice(options)()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--resources", type=int, default=100_000)
    ap.add_argument("--violating-pct", type=float, default=20)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--from", dest="src", default="stacks")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    stacks = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(a.src, "*.json")))]
    changes, config_calls, planned_modules = [], {}, []
    n = 0
    while len(changes) < a.resources:
        doc = copy.deepcopy(stacks[n % len(stacks)])
        module = f"{doc['stack'].replace('-', '_')}_{n}"
        doc["stack"] = "bench-plan"  # one plan, one stack: its tags name it
        for r in doc["resources"]:
            if "stack" in r.get("tags", {}):
                r["tags"]["stack"] = "bench-plan"
            if rng.random() * 100 < a.violating_pct:
                mutate(r, rng)
        plan = from_stack.convert(doc)
        prefix = f"module.{module}."
        mod_resources = []
        for c in plan["resource_changes"]:
            c["address"] = prefix + c["address"]
            c["module_address"] = f"module.{module}"
            changes.append(c)
            mod_resources.append({"address": c["address"], "mode": "managed", "type": c["type"],
                                  "name": c["name"], "provider_name": c["provider_name"],
                                  "schema_version": 0, "values": c["change"]["after"],
                                  "sensitive_values": {}})
            if len(changes) >= a.resources:
                break
        planned_modules.append({"address": f"module.{module}", "resources": mod_resources})
        config_calls[module] = {"source": f"./modules/{module}", "module": plan["configuration"]["root_module"]}
        n += 1
    out = {
        "format_version": "1.2", "terraform_version": "1.9.8",
        "variables": {"stack": {"value": "bench-plan"}, "environment": {"value": "prod"},
                      "region": {"value": "eu-west-1"}, "account": {"value": "prod"},
                      "owner": {"value": "platform"}, "repository": {"value": "aws-eu-west-1-prod-bench-plan-main"},
                      "budget_monthly_limit_usd": {"value": 100_000_000}, "budget_alert_thresholds_pct": {"value": [80, 100]}},
        "planned_values": {"root_module": {"resources": [], "child_modules": planned_modules}},
        "resource_changes": changes,
        "configuration": {"provider_config": {"aws": {"name": "aws", "expressions": {"region": {"constant_value": "eu-west-1"}}}},
                          "root_module": {"resources": [], "module_calls": config_calls}},
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    os.replace(tmp, a.out)
    print(f"{a.out}: {len(changes)} resource changes in {n} modules, {os.path.getsize(a.out) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
