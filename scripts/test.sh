#!/usr/bin/env bash
# Runs every test of flowform, the way CI does: installs the pinned Python tools
# (cfn-lint, checkov, moto, awscli), checks that out/ is fresh, then runs the whole
# workspace's tests with moto started on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowform-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

if ! command -v cargo >/dev/null; then
  echo "test.sh: cargo is not on PATH; install Rust (rustup) first" >&2
  exit 1
fi

scripts/tools.sh
# shellcheck disable=SC1091
. "${FLOWFORM_TOOLS_DIR:-$HOME/.cache/flowform-tools}/env.sh"

cargo build --workspace --all-targets --locked
echo "== flowform check (out/ is fresh)"
"$CARGO_TARGET_DIR/debug/flowform" check

echo "== cargo test (with moto)"
scripts/with-moto.sh cargo test --workspace --locked -- "$@"
