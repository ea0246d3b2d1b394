#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 8) on a copy of its seed corpus (the committed one
# is not grown). Needs cargo-fuzz and a nightly toolchain; says so and exits 0 without them, so
# a CI image without nightly still runs everything else.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-8}
if ! command -v cargo-fuzz >/dev/null || ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz smoke run skipped: needs cargo-fuzz and a nightly toolchain" >&2
  exit 0
fi
targets=$(cargo +nightly fuzz list --fuzz-dir fuzz)
cargo +nightly fuzz build --fuzz-dir fuzz -O
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in $targets; do
  cp -r "fuzz/corpus/$t" "$work/$t"
  echo "== fuzz $t (${seconds}s)"
  cargo +nightly fuzz run --fuzz-dir fuzz -O "$t" "$work/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=30 2>&1 | grep -E "^#[0-9]+ +DONE|Done [0-9]+ runs|ERROR|SUMMARY|panicked" || true
  # A crash leaves an artifact and a non-zero status above; fail on an artifact.
  if ls "fuzz/artifacts/$t"/* >/dev/null 2>&1; then
    echo "fuzz $t found a crash: fuzz/artifacts/$t" >&2
    exit 1
  fi
done
