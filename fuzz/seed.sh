#!/usr/bin/env bash
# Rebuilds the committed seed corpus of each fuzz target from the repository's fixtures.
# Run from anywhere; needs the `tollgate` binary for the bundle seed (TOLLGATE, default: cargo run).
set -euo pipefail
cd "$(dirname "$0")/.."
c=fuzz/corpus
rm -rf "$c"
mkdir -p "$c"/{stack_loader,terraform_plan,cloudformation_template,waivers,bundle_archive,rego_policy,cedar_policy}
cp stacks/*.json fixtures/bad/*.json "$c/stack_loader/"
cp fixtures/terraform/*.json fixtures/terraform/equivalent/*.json "$c/terraform_plan/"
for f in fixtures/cloudformation/*.* fixtures/cloudformation/bad/* fixtures/cloudformation/equivalent/*; do
  cp "$f" "$c/cloudformation_template/$(basename "$f")"
done
i=0
for f in waivers.json fixtures/validate/waivers.json reports/tests/fixtures/mixed/waivers.json; do
  cp "$f" "$c/waivers/waivers-$i.json"; i=$((i + 1))
done
find policies/rego -name '*.rego' ! -name '*_test.rego' | while read -r f; do
  cp "$f" "$c/rego_policy/$(echo "$f" | tr / _)"
done
cp policies/cedar/*.cedar "$c/cedar_policy/"
"${TOLLGATE:-${CARGO_TARGET_DIR:-target}/debug/tollgate}" bundle build policies -o "$c/bundle_archive/shipped.tar.gz" --revision seed
echo "seeded: $(find "$c" -type f | wc -l) files, $(du -sh "$c" | cut -f1)"
