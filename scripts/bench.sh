#!/usr/bin/env bash
# Benchmarks of the generator (method and results: docs/BENCHMARKS.md).
#   1. criterion, in process: `build` on the donut shop and synthetic systems.
#   2. whole process: `flowform generate` wall time and peak RSS, release build.
#   3. handlers (tests/examples/handler_bench.rs, with moto + MariaDB): checkout latency,
#      stock-request throughput per batch of 10, cold start of the Lambda binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowform-target}"
runs="${RUNS:-50}"

cargo bench -p generator --bench generate -- --warm-up-time 1 --measurement-time "${MEASURE_SECS:-5}" 2>&1 |
  grep -E "^(donut_shop|synthetic/)|time:|thrpt:" || true

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

measure "donut shop (2 stages)" flowform.yaml 0
for n in 10 100 1000; do
  "$CARGO_TARGET_DIR/release/examples/synth" "$n" >"$tmp/synth-$n.yaml"
done
measure "synthetic 10 functions" "$tmp/synth-10.yaml" 0
measure "synthetic 100 (E023 error)" "$tmp/synth-100.yaml" 1
measure "synthetic 1000 (E023 error)" "$tmp/synth-1000.yaml" 1

echo "== handlers (zip sizes from dist/lambda; run \`flowform package\` first)"
for z in dist/lambda/*.zip; do
  [[ -e "$z" ]] && printf "%-32s %8.2f MB\n" "$z" "$(echo "$(stat -c %s "$z") / 1000000" | bc -l)"
done
cargo build --release -p tests --example handler_bench >/dev/null 2>&1
cargo build --release -p shop --bins >/dev/null 2>&1
FLOWFORM_BENCH_BIN_DIR="$CARGO_TARGET_DIR/release" scripts/with-moto.sh "$CARGO_TARGET_DIR/release/examples/handler_bench"
cargo build --release -p tests --example local_bench >/dev/null 2>&1
scripts/with-moto.sh "$CARGO_TARGET_DIR/release/examples/local_bench"
