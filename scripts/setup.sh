#!/usr/bin/env bash
# Set up backbench on a fresh machine: system tools for the namespace sandbox, then a virtualenv
# with the harness and the Python packages the agent's contract promises. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# bubblewrap for the namespace sandbox; patch to apply mutants; util-linux's nsenter and prlimit;
# iptables to keep a sample's agent from the reference loaded beside its submission
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v patch >/dev/null 2>&1 || missing+=(patch)
{ command -v nsenter && command -v prlimit; } >/dev/null 2>&1 || missing+=(util-linux)
PATH="$PATH:/usr/sbin:/sbin" command -v ip6tables >/dev/null 2>&1 || missing+=(iptables)
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

# The interpreter: $PYTHON, else python3; CPython 3.11.2 or newer, below 3.13 (requires-python).
PYTHON=${PYTHON:-python3}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "setup: $PYTHON not found: install Python 3.11 or 3.12 (3.11.2 or newer), or set PYTHON" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(not (3, 11, 2) <= sys.version_info[:3] < (3, 13))'; then
  echo "setup: $PYTHON is $("$PYTHON" -V 2>&1); backbench needs Python 3.11.2 or newer, below" \
    "3.13 (requires-python in pyproject.toml): set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
# Debian ships venv's ensurepip apart from python3, in python3.X-venv
if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  venv_package=$("$PYTHON" -c 'import sys; print(f"python3.{sys.version_info[1]}-venv")')
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing $venv_package" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$venv_package" >/dev/null
  else
    echo "setup: $PYTHON cannot make a venv: install $venv_package (needs root)" >&2
    exit 1
  fi
fi
# a venv left without pip (venv failed half-way) is made again
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  rm -rf .venv
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
