"""Compiled CPU kernels (numba + numpy; no torch): the inner loops of painting and rendering.

Each kernel is one loop over pixels, compiled by numba, with its backward written out where the
painter needs gradients. They take and fill numpy arrays; ``neuralpaint.canvas.cells`` wraps the
differentiable ones as torch autograd ops, and the finished-painting render
(``neuralpaint.canvas.render``) calls the others directly, without torch.

* ``compositor`` -- strokes composited in order per cell (forward and backward), and the cell
  layout's pairing and counting sort;
* ``boxes`` -- the rotated-box family (``rectangle``, ``oilpaintbrush``): on the painter's cells
  (forward and backward), the cell test, and whole canvases;
* ``curves`` -- the tapered quadratic Bezier family (``markerpen``, ``watercolor``) on whole canvases;
* ``pixels`` -- float pictures to 8-bit RGB.

A family reads stroke parameters in its own layout (``boxes.FIELDS``, ``curves.FIELDS``); a
stroke type says which of its named parameters feed each field (``StrokeType.kernel_fields``).

Kernels are compiled on first use and cached on disk (numba's ``cache=True``: beside these files,
or under ``NUMBA_CACHE_DIR``); ``python -m neuralpaint.kernels`` compiles them all once
(``scripts/setup.sh`` does). ``serves`` is the one place that decides whether they run: numba is
installed, ``NEURALPAINT_KERNELS=torch`` is not set, and every array is a float32 or float64 CPU
array (numpy, or a CPU tensor); otherwise callers use their tensor code, which the tests hold
these kernels to.
"""
from __future__ import annotations

import os
import threading

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; the tensor code covers its absence
    numba = None

# Kernels are launched one at a time: numba's fallback thread pool (``workqueue``, used where
# neither OpenMP nor TBB is installed) must not be entered from two Python threads at once (the
# animation is rendered in a second thread while the main one may render too).
_LAUNCH = threading.Lock()

PARTS = 64  # canvas rows are dealt out to the threads in this many interleaved sets (for balance)
FLOAT_DTYPES = ("float32", "float64", "torch.float32", "torch.float64")


def launch(kernel, *args):
    """Run a compiled ``kernel`` on ``args``, one launch at a time in this process."""
    with _LAUNCH:
        return kernel(*args)


def enabled() -> bool:
    """Whether the kernels are in use at all: numba is installed and ``NEURALPAINT_KERNELS=torch``
    (the tensor code everywhere, for comparisons) is not set."""
    return numba is not None and os.environ.get("NEURALPAINT_KERNELS", "").lower() != "torch"


def serves(*arrays) -> bool:
    """Whether the kernels serve these arrays: ``enabled()``, and each is a float32 or float64
    array on the CPU (a numpy array, or a torch tensor on the CPU)."""
    if not enabled():
        return False
    for a in arrays:
        device = getattr(a, "device", "cpu")
        if getattr(device, "type", device) != "cpu" or str(a.dtype) not in FLOAT_DTYPES:
            return False
    return True
