#!/usr/bin/env bash
# Set up backbench on a fresh machine: system tools for the namespace sandbox, then a virtualenv
# with the harness and the Python packages the agent's contract promises. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# bubblewrap for the namespace sandbox; patch to apply mutants; util-linux's nsenter and prlimit
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v patch >/dev/null 2>&1 || missing+=(patch)
{ command -v nsenter && command -v prlimit; } >/dev/null 2>&1 || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: ${missing[*]} missing and cannot be installed here (needs root and apt-get)." >&2
    echo "setup: install them (e.g. 'sudo apt-get install ${missing[*]}'), or run with" >&2
    echo "setup: -T sandbox=local (no isolation)." >&2
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
log=$(mktemp)
if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]" >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup: pip install failed" >&2
  exit 1
fi
rm -f "$log"
# the build leaves an egg-info in the checkout, which shadows the installed metadata that inspect
# reads to name the entry point's tasks `backbench/<section>`
rm -rf backbench.egg-info
