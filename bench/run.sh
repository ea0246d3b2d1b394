#!/usr/bin/env bash
# Benchmarks `tollgate check` on a generated estate (1,000 stacks, 100,000 resources, 20% of them
# violating) against its floors: the raw JSON parse and the engine's parse-only load.
#
#   bench/run.sh                      # from anywhere; runs in the repository root
#   BENCH_DIR=/tmp/x RUNS=5 bench/run.sh
#   SKIP_BUILD=1 bench/run.sh         # measure the binaries already in target/release
#
# Prints a Markdown table (best wall time of RUNS runs; user time and peak RSS of that run).
# Before each run it waits (up to QUIET_WAIT seconds, default 600) for the machine to be at least
# QUIET_IDLE percent idle (default 90), so a concurrent build does not skew the numbers; set
# QUIET_WAIT=0 to skip.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BENCH_DIR=${BENCH_DIR:-/tmp/tollgate-bench}
RUNS=${RUNS:-3}
STACKS=${STACKS:-1000}
RESOURCES=${RESOURCES:-100000}
VIOLATING_PCT=${VIOLATING_PCT:-20}
SEED=${SEED:-42}
BIN=$ROOT/target/release
QUIET_WAIT=${QUIET_WAIT:-600}
QUIET_IDLE=${QUIET_IDLE:-90}

if [[ ! -x /usr/bin/time ]]; then
  if command -v apt-get >/dev/null; then
    apt-get install -y time >/dev/null
  else
    echo "run.sh: /usr/bin/time is missing and apt-get is not available" >&2
    exit 2
  fi
fi

if [[ ${SKIP_BUILD:-0} == 1 ]]; then
  echo "== SKIP_BUILD=1: using the binaries in $BIN" >&2
else
  echo "== building (release)" >&2
  cargo build --release -p tollgate-bench >&2
  cargo build --release >&2
fi

want="stacks=$STACKS resources=$RESOURCES violating-pct=$VIOLATING_PCT seed=$SEED from=stacks"
if [[ ! -f $BENCH_DIR/.gen-estate ]] || [[ "$(cat "$BENCH_DIR/.gen-estate")" != "$want" ]]; then
  echo "== generating $BENCH_DIR" >&2
  "$BIN/gen-estate" --stacks "$STACKS" --resources "$RESOURCES" --violating-pct "$VIOLATING_PCT" \
    --seed "$SEED" --from stacks --out "$BENCH_DIR" --force >&2
else
  echo "== reusing $BENCH_DIR ($want)" >&2
fi
echo "== estate: $(du -sh "$BENCH_DIR" | cut -f1), $(find "$BENCH_DIR" -name '*.json' | wc -l) stack files" >&2

# Percentage of CPU time idle over one second, from /proc/stat.
idle_pct() {
  local _ u n s i w q sq st t1 i1 t2 i2
  read -r _ u n s i w q sq st _ </proc/stat
  t1=$((u + n + s + i + w + q + sq + st)) i1=$((i + w))
  sleep 1
  read -r _ u n s i w q sq st _ </proc/stat
  t2=$((u + n + s + i + w + q + sq + st)) i2=$((i + w))
  echo $((100 * (i2 - i1) / (t2 - t1 > 0 ? t2 - t1 : 1)))
}

SKEWED=0
wait_quiet() {
  local waited=0 idle
  ((QUIET_WAIT > 0)) || return 0
  while idle=$(idle_pct); ((idle < QUIET_IDLE)); do
    if ((waited == 0)); then
      echo "   waiting for the machine to be quiet (idle ${idle}%)" >&2
    fi
    waited=$((waited + 1))
    if ((waited >= QUIET_WAIT)); then
      echo "   still busy after ${QUIET_WAIT}s (idle ${idle}%); measuring anyway" >&2
      SKEWED=1
      return 0
    fi
  done
}

TIMING=$(mktemp)
trap 'rm -f "$TIMING"' EXIT
ROWS=()

# measure LABEL THREADS MODE -- COMMAND...: runs COMMAND RUNS times (stdout discarded), keeps the
# run with the best wall time. Exit 1 (policy failures) is expected from `tollgate check`; any
# other non-zero exit aborts.
measure() {
  local label=$1 threads=$2 mode=$3
  shift 4
  local best="" best_user="" best_kib="" i rc wall user kib
  for ((i = 1; i <= RUNS; i++)); do
    wait_quiet
    rc=0
    /usr/bin/time -o "$TIMING" -f '%e %U %M' "$@" >/dev/null || rc=$?
    if ((rc != 0 && rc != 1)); then
      echo "run.sh: '$*' exited $rc" >&2
      exit 2
    fi
    read -r wall user kib < <(tail -n 1 "$TIMING")
    echo "   $label threads=$threads mode=$mode run $i: $wall s wall, $user s user, $kib KiB peak (exit $rc)" >&2
    if [[ -z $best ]] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$wall best_user=$user best_kib=$kib
    fi
  done
  ROWS+=("| $label | $threads | $mode | $best | $best_user | $(awk -v k="$best_kib" 'BEGIN { printf "%.0f", k / 1024 }') |")
}

echo "== measuring (best of $RUNS)" >&2
for t in 1 2; do
  measure "raw JSON parse (serde_json::Value)" "$t" "-" -- "$BIN/parse-floor" --raw --threads "$t" "$BENCH_DIR"
done
for t in 1 2; do
  measure "load only (parse + schema + refs)" "$t" "-" -- "$BIN/parse-floor" --threads "$t" "$BENCH_DIR"
done
for mode in vm interpreter; do
  for t in 1 2; do
    measure "tollgate check --format json" "$t" "$mode" -- \
      "$BIN/tollgate" check "$BENCH_DIR" --format json --no-waivers --threads "$t" --rego-mode "$mode"
  done
done

rc=0
summary=$("$BIN/tollgate" check "$BENCH_DIR" --format json --no-waivers |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"])') || rc=$?
if ((rc != 0 && rc != 1)); then
  echo "run.sh: summary run exited $rc" >&2
  exit 2
fi

echo
echo "Estate: $STACKS stacks, $RESOURCES resources, $VIOLATING_PCT% violating (seed $SEED), $(du -sh "$BENCH_DIR" | cut -f1) on disk;"
echo "$(nproc) cores, $(uname -m). Best of $RUNS runs."
echo
echo "| workload | threads | mode | wall s | user s | peak MiB |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "Summary: $summary"
if ((SKEWED)); then
  echo "Warning: some runs shared the CPUs with other work; the numbers are pessimistic." >&2
fi
