#!/usr/bin/env bash
# Benchmarks of the generator (method and results: docs/BENCHMARKS.md).
#   1. criterion, in process: `build` on the donut shop and synthetic systems.
#   2. whole process: `flowform generate` wall time and peak RSS, release build.
#   3. handlers (tests/examples/handler_bench.rs, with moto + MariaDB): checkout latency,
#      stock-request throughput per batch of 10, cold start of the Lambda binaries.
#   4. anchors: the same architecture N times with flowform, `cdk synth` and the SAM translator.
#   scripts/bench.sh --anchors     only the whole-process floor and the anchors (4.)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowform-target}"
runs="${RUNS:-50}"
all=true
[[ "${1:-}" == "--anchors" ]] && all=false

if "$all"; then
  cargo bench -p generator --bench generate -- --warm-up-time 1 --measurement-time "${MEASURE_SECS:-5}" 2>&1 |
    grep -E "^(donut_shop|synthetic/)|time:|thrpt:" || true
fi

cargo build --release -p generator --bin flowform --example synth >/dev/null 2>&1
bin="$CARGO_TARGET_DIR/release/flowform"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The floor: process start, argument parsing, exit.
start=$(date +%s%N)
for _ in $(seq "$runs"); do "$bin" --version >/dev/null; done
end=$(date +%s%N)
floor=$(echo "($end - $start) / $runs / 1000000" | bc -l)
printf "%-28s %8.2f ms/run  (%s runs)\n" "flowform --version" "$floor" "$runs"

measure() { # name config expected-exit
  local name=$1 cfg=$2 want=$3 start end rss code ms
  start=$(date +%s%N)
  for _ in $(seq "$runs"); do
    code=0; "$bin" generate -c "$cfg" -o "$tmp/out" >/dev/null 2>&1 || code=$?
    [[ $code == "$want" ]] || { echo "$name: exit $code, expected $want" >&2; exit 1; }
  done
  end=$(date +%s%N)
  /usr/bin/time -f "%M" -o "$tmp/rss" "$bin" generate -c "$cfg" -o "$tmp/out" >/dev/null 2>&1 || true
  rss=$(tail -1 "$tmp/rss")
  ms=$(echo "($end - $start) / $runs / 1000000" | bc -l)
  printf "%-28s %8.2f ms/run  %5.1fx --version  peak RSS %6s KiB  (%s runs)\n" "$name" "$ms" "$(echo "$ms / $floor" | bc -l)" "$rss" "$runs"
}

if "$all"; then
  measure "donut shop (2 stages)" flowform.yaml 0
  for n in 10 100 1000; do
    "$CARGO_TARGET_DIR/release/examples/synth" "$n" >"$tmp/synth-$n.yaml"
  done
  measure "synthetic 10 functions" "$tmp/synth-10.yaml" 0
  measure "synthetic 100 (E023 error)" "$tmp/synth-100.yaml" 1
  measure "synthetic 1000 (E023 error)" "$tmp/synth-1000.yaml" 1
  # Split into nested stacks (about 20 functions a nested stack): time and memory from 10 to 1000.
  for n in 10 100 1000; do
    "$CARGO_TARGET_DIR/release/examples/synth" "$n" $((n / 20 + 1)) >"$tmp/nested-$n.yaml"
    measure "synthetic $n, nested stacks" "$tmp/nested-$n.yaml" 0
  done
fi

# == Anchors (issue #13): the same architecture (the donut shop's topics, queues with DLQs and
# alarms, subscriptions, functions, routes and schedules) N times, as a flowform config
# (bench/anchors/flowform/copies.py), an AWS CDK app (bench/anchors/cdk/app.js, `cdk synth`)
# and an AWS SAM template (bench/anchors/sam/shop.py, the SAM translator). Whole process,
# median of $ANCHOR_RUNS runs, as a ratio to flowform. FLOWFORM_BENCH_ANCHORS=0 skips them;
# the first run installs the pinned anchors into $FLOWFORM_TOOLS_DIR/anchors.
readonly CDK_LIB_VERSION=2.276.0 CONSTRUCTS_VERSION=10.8.1 CDK_CLI_VERSION=2.1149.0
readonly SAM_TRANSLATOR_VERSION=1.115.0
if [[ "${FLOWFORM_BENCH_ANCHORS:-1}" == 1 ]]; then
  anchors="${FLOWFORM_TOOLS_DIR:-$HOME/.cache/flowform-tools}/anchors"
  mkdir -p "$anchors"
  if [[ ! -x "$anchors/sam/bin/python" ]] || ! "$anchors/sam/bin/python" -c "import samtranslator" 2>/dev/null; then
    python3 -m venv "$anchors/sam"
    "$anchors/sam/bin/pip" install -q --disable-pip-version-check "aws-sam-translator==$SAM_TRANSLATOR_VERSION" pyyaml
  fi
  if [[ ! -e "$anchors/cdk/node_modules/aws-cdk-lib/package.json" ]]; then
    npm install --prefix "$anchors/cdk" --no-audit --no-fund --loglevel=error \
      "aws-cdk-lib@$CDK_LIB_VERSION" "constructs@$CONSTRUCTS_VERSION" "aws-cdk@$CDK_CLI_VERSION" >/dev/null
  fi
  anchor_runs="${ANCHOR_RUNS:-5}"
  small_runs="${SMALL_RUNS:-21}" # flowform's runs are short: more of them for a steady median
  # Median wall time (ms) of $anchor_runs runs of "$@" (bash's clock: no process per reading).
  median_ms() {
    local times=() t0 t1
    for _ in $(seq "$anchor_runs"); do
      t0=$EPOCHREALTIME
      "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
      t1=$EPOCHREALTIME
      times+=("$(echo "($t1 - $t0) * 1000" | bc -l)")
    done
    printf "%s\n" "${times[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]}'
  }
  cdk_synth() {
    (cd bench/anchors/cdk && FLOWFORM_BENCH_COPIES=$1 NODE_PATH="$anchors/cdk/node_modules" CDK_DISABLE_VERSION_CHECK=1 \
      "$anchors/cdk/node_modules/.bin/cdk" synth --quiet --no-notices --no-version-reporting -o "$tmp/cdk.out")
  }
  sam_translate() {
    "$anchors/sam/bin/python" bench/anchors/sam/shop.py "$1" >"$tmp/sam-$1.json" &&
      "$anchors/sam/bin/python" bench/anchors/sam/translate.py "$tmp/sam-$1.json" >"$tmp/sam-$1.out.json"
  }
  echo "== anchors: same architecture, N copies; whole process, median of $anchor_runs runs"
  printf "%-6s %12s %12s %12s %12s %10s %10s\n" "N" "--version" "flowform" "cdk synth" "SAM transl." "cdk/ff" "SAM/ff"
  ver=$(anchor_runs=$small_runs median_ms "$bin" --version)
  for n in 1 10 50; do
    "$anchors/sam/bin/python" bench/anchors/flowform/copies.py flowform.yaml "$n" >"$tmp/shop-$n.yaml"
    ff=$(anchor_runs=$small_runs median_ms "$bin" generate -c "$tmp/shop-$n.yaml" -o "$tmp/anchor-out")
    cdk=$(median_ms cdk_synth "$n" || echo nan)
    sam=$(median_ms sam_translate "$n" || echo nan)
    printf "%-6s %10s ms %10s ms %10s ms %10s ms %9.0fx %9.0fx\n" "$n" "$ver" "$ff" "$cdk" "$sam" \
      "$(echo "$cdk / $ff" | bc -l 2>/dev/null || echo 0)" "$(echo "$sam / $ff" | bc -l 2>/dev/null || echo 0)"
  done
fi

"$all" || exit 0

echo "== handlers (zip sizes from dist/lambda; run \`flowform package\` first)"
for z in dist/lambda/*.zip; do
  [[ -e "$z" ]] && printf "%-32s %8.2f MB\n" "$z" "$(echo "$(stat -c %s "$z") / 1000000" | bc -l)"
done
cargo build --release -p tests --example handler_bench >/dev/null 2>&1
cargo build --release -p shop --bins >/dev/null 2>&1
FLOWFORM_BENCH_BIN_DIR="$CARGO_TARGET_DIR/release" scripts/with-moto.sh "$CARGO_TARGET_DIR/release/examples/handler_bench"
cargo build --release -p tests --example local_bench >/dev/null 2>&1
scripts/with-moto.sh "$CARGO_TARGET_DIR/release/examples/local_bench"
