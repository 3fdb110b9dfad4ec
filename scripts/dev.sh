#!/usr/bin/env bash
# The donut shop on this machine in one command, from a fresh clone:
#   scripts/dev.sh [flowform-local dev flags, e.g. --http-port 9000 --retry-after 1]
# Installs the pinned tools (scripts/tools.sh), builds flowform, migrate and flowform-local,
# packages the handler zips (`flowform package`: minutes the first time, seconds after), then
# runs `flowform-local dev --standins` for the dev stage, which starts the pinned moto on a free
# loopback port (unless $AWS_ENDPOINT_URL names one), creates, migrates and seeds two MariaDB
# databases through its --before hook ($FLOWFORM_DEV_DB, default donut_dev, and
# <that>_customer on $FLOWFORM_DEV_MYSQL, default mysql://root@127.0.0.1:3306), and runs every
# function as its Lambda binary, the factory and marketing stand-ins, the HTTP API on
# 127.0.0.1:8080. Ctrl-C stops everything, moto included.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowform-target}"

mysql="${FLOWFORM_DEV_MYSQL:-mysql://root@127.0.0.1:3306}"
db="${FLOWFORM_DEV_DB:-donut_dev}"
case "$mysql" in
  mysql://127.0.0.1:*|mysql://*@127.0.0.1:*|mysql://localhost:*|mysql://*@localhost:*) ;;
  *) echo "dev.sh: FLOWFORM_DEV_MYSQL must be a loopback MariaDB/MySQL server, got $mysql" >&2; exit 2 ;;
esac

echo "== tools"
scripts/tools.sh >/dev/null
echo "== build"
cargo build -q --locked -p generator --bin flowform -p shop --bin migrate -p local --bin flowform-local
bin="$CARGO_TARGET_DIR/debug"
echo "== flowform package"
"$bin/flowform" package
echo "== flowform-local dev (starts moto; the databases are migrated and seeded by --before)"
exec "$bin/flowform-local" dev --standins \
  --before "\"$bin/migrate\" --seed --stock \"\$FLOWFORM_DB_STOCK_PLAINTEXT_URL\" --customer \"\$FLOWFORM_DB_CUSTOMER_PLAINTEXT_URL\"" \
  --db "stock=$mysql/$db" --db "customer=$mysql/${db}_customer" "$@"
