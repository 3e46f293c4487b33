#!/usr/bin/env bash
# Install neuralpaint and everything it needs into ./.venv (idempotent; safe to re-run).
#
#   bash scripts/setup.sh          # then use .venv/bin/neuralpaint, .venv/bin/python -m pytest
#
# - Debian packages: python3-venv when this Python cannot make a virtual environment
#   (installed with apt-get, through sudo when not root).
# - Python packages: the project with its test extra (pip install -e ".[test]").
#   The venv sees the system's site-packages, so an already-installed torch is reused.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 10), sys.version' \
  || { echo "setup: Python >= 3.10 is required" >&2; exit 1; }

apt_install() {
  command -v apt-get >/dev/null 2>&1 || { echo "setup: please install: $*" >&2; return 1; }
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt_install python3-venv
  fi
  "$PYTHON" -m venv --system-site-packages .venv
fi

.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
echo "setup: ready ($(.venv/bin/python -c 'import torch, neuralpaint; print("neuralpaint", neuralpaint.__version__, "torch", torch.__version__)'))"
