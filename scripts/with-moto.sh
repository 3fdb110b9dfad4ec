#!/usr/bin/env bash
# Run CMD against a private moto server:  scripts/with-moto.sh CMD [ARGS...]
# Starts scripts/moto_server.py on a free loopback port (log: ${FLOWFORM_RUN_DIR:-run}/moto.log),
# exports AWS_ENDPOINT_URL, dummy credentials and FLOWFORM_MOTO_URL, runs CMD,
# always stops moto on exit, and exits with CMD's status.
# CMD runs in the foreground (keeps stdin); a SIGTERM to this script takes effect when CMD ends.
# Note: awscli v1 ignores AWS_ENDPOINT_URL for sqs (gotcha G1): pass --endpoint-url there.
set -euo pipefail

if (($# == 0)); then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
run_dir="${FLOWFORM_RUN_DIR:-run}"
log="$run_dir/moto.log"
mkdir -p "$run_dir"

# Pinned tools (fast no-op when installed); env.sh gives FLOWFORM_AWS_PYTHON etc.
"$here/tools.sh" >/dev/null
# shellcheck source=/dev/null
. "${FLOWFORM_TOOLS_DIR:-$HOME/.cache/flowform-tools}/env.sh"

moto_pid=
# shellcheck disable=SC2317  # called from the EXIT trap
stop_moto() {
  if [[ -n "$moto_pid" ]]; then
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
    moto_pid=
  fi
}
trap stop_moto EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$FLOWFORM_AWS_PYTHON" "$here/moto_server.py" --port 0 --exit-with-parent >"$log" 2>&1 &
moto_pid=$!

# Wait (bounded) for the launcher's MOTO_PORT=<port> line.
port=
deadline=$((SECONDS + ${FLOWFORM_MOTO_START_TIMEOUT:-20}))
while ((SECONDS < deadline)); do
  port="$(sed -n 's/^MOTO_PORT=\([0-9][0-9]*\)$/\1/p' "$log")"
  [[ -n "$port" ]] && break
  kill -0 "$moto_pid" 2>/dev/null || break   # launcher died
  sleep 0.1
done
if [[ -z "$port" ]]; then
  echo "with-moto: moto server did not start (log: $log); last lines:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi

url="http://127.0.0.1:$port"
unset AWS_PROFILE AWS_SESSION_TOKEN   # keep real credentials/profiles out of the way
export AWS_ENDPOINT_URL="$url" FLOWFORM_MOTO_URL="$url"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_DEFAULT_REGION=ap-northeast-2 AWS_REGION=ap-northeast-2
export AWS_EC2_METADATA_DISABLED=true

rc=0
"$@" || rc=$?
exit "$rc"
