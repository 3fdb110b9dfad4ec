#!/usr/bin/env bash
# Runs every test of flowform, the way CI does: checks formatting (rustfmt) and lints
# (clippy, warnings are errors), installs the pinned Python tools (cfn-lint, checkov, moto,
# awscli, zig), makes sure MariaDB answers on 127.0.0.1:3306, builds the handler zips
# (`flowform package`), checks that out/ is fresh, then runs the whole workspace's tests with
# moto started on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowform-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

if ! command -v cargo >/dev/null; then
  echo "test.sh: cargo is not on PATH; install Rust (rustup) first" >&2
  exit 1
fi

for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    echo "test.sh: cargo ${component/rustfmt/fmt} is missing; install it with 'rustup component add $component'" >&2
    exit 1
  fi
done
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

scripts/tools.sh
# shellcheck disable=SC1091
. "${FLOWFORM_TOOLS_DIR:-$HOME/.cache/flowform-tools}/env.sh"

# MariaDB (root, no password) on 127.0.0.1:3306: the handler tests create their own databases.
mariadb_up() { (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; }
if ! mariadb_up; then
  if [[ -x /usr/sbin/mariadbd ]] && command -v start-stop-daemon >/dev/null; then
    echo "== starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    for _ in $(seq 30); do mariadb_up && break; sleep 1; done
  fi
  mariadb_up || {
    echo "test.sh: MariaDB is not answering on 127.0.0.1:3306; start it (e.g. 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd') and run again" >&2
    exit 1
  }
fi

cargo build --workspace --all-targets --locked
echo "== flowform package (handler zips for Lambda)"
"$CARGO_TARGET_DIR/debug/flowform" package
echo "== flowform check (out/ is fresh)"
"$CARGO_TARGET_DIR/debug/flowform" check

echo "== cargo test (with moto)"
scripts/with-moto.sh cargo test --workspace --locked -- "$@"
