#!/usr/bin/env bash
# Install neuralpaint and everything it needs into ./.venv (idempotent; safe to re-run).
#
#   bash scripts/setup.sh          # then use .venv/bin/neuralpaint, .venv/bin/python -m pytest
#
# - Debian packages (apt-get, through sudo when not root), each only when missing:
#   python3-venv when this Python cannot make a virtual environment; libmypaint-1.5-1 and
#   mypaint-brushes for the `mypaint` stroke type; librsvg2-bin (rsvg-convert) with which the
#   tests check SVG export; libgomp1 (OpenMP) for numba's thread pool; chromium, the browser the
#   studio's tests (tests/test_web_browser.py) drive through Playwright. If they cannot be
#   installed, setup warns and the features (and their tests) that need them say so; everything
#   else works.
# - Python packages: the project with its test, style, cluster (Dask) and web (the studio) extras
#   (pip install -e ".[test,style,cluster,web]"),
#   then the compiled CPU kernels (numba, cached on disk: about 30 s once).
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

missing=()
ldconfig -p 2>/dev/null | grep -q 'libmypaint-1.5.so.1' || missing+=(libmypaint-1.5-1)
[ -d /usr/share/mypaint-data/1.0/brushes ] || missing+=(mypaint-brushes)
command -v rsvg-convert >/dev/null 2>&1 || missing+=(librsvg2-bin)
# GNU OpenMP: numba's thread pool for the compiled CPU kernels (without it numba uses a slower,
# single-caller pool; neuralpaint serialises kernel launches either way)
ldconfig -p 2>/dev/null | grep -q 'libgomp.so.1' || missing+=(libgomp1)
# the browser of the studio's tests (Playwright's own browser download needs the network)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}" \
    || echo "setup: WARNING: could not install ${missing[*]}; MyPaint strokes and SVG checks (libmypaint, rsvg-convert), the OpenMP thread pool (libgomp1) or the studio's browser tests (chromium) will be unavailable" >&2
fi

.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test,style,cluster,web]"
# compile the CPU kernels now (numba caches them on disk), not during the first painting
.venv/bin/python -m neuralpaint.kernels
echo "setup: ready ($(.venv/bin/python -c 'import torch, neuralpaint; print("neuralpaint", neuralpaint.__version__, "torch", torch.__version__)'))"
