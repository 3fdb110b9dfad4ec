#!/usr/bin/env bash
# The chaos run: the donut shop on one machine under a mix of faults, ending with one JSON
# ledger line; exits non-zero when anything is lost or applied twice, or an asked-for fault
# never fired. Flags go to tests/examples/chaos.rs (see its header), e.g.
#   scripts/chaos.sh                                  # every fault at once (the default mix)
#   scripts/chaos.sh --calm --checkouts 200           # no faults, as a control
#   scripts/chaos.sh --seed 42 --sns-outage-ms 10000 --db-drop-rate 0.05
# Needs MariaDB on 127.0.0.1:3306 and the handler zips (`flowform package`; scripts/test.sh
# builds them); installs the pinned tools and starts moto itself.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowform-target}"
scripts/tools.sh >/dev/null
cargo build --locked -q -p tests --example chaos
FLOWFORM_RUN_DIR="${FLOWFORM_RUN_DIR:-run/chaos}" exec scripts/with-moto.sh "$CARGO_TARGET_DIR/debug/examples/chaos" "$@"
