#!/usr/bin/env bash
# Watch the donut shop's whole story run locally: the end-to-end test with every function's
# log lines printed live (prefixed by function name) and the story's steps announced.
# Needs what scripts/test.sh needs (it installs the tools; run it once first).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowform-target}"
scripts/tools.sh >/dev/null
# shellcheck disable=SC1091
. "${FLOWFORM_TOOLS_DIR:-$HOME/.cache/flowform-tools}/env.sh"
[[ -e dist/lambda/checkout.zip ]] || cargo run -q -p generator --bin flowform -- package
FLOWFORM_E2E_VERBOSE=1 scripts/with-moto.sh cargo test -q -p tests --test it e2e:: -- --nocapture
