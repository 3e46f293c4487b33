"""Float pictures to 8-bit RGB, in one pass."""
from __future__ import annotations

import numpy as np

from . import launch, numba

if numba is not None:
    from numba import njit, prange

if numba is not None:

    @njit(parallel=True, cache=True)
    def _to_rgb8(pixels, consts, out):  # pragma: no cover
        # consts = 0, 1, 255 in the pixels' dtype: the arithmetic stays in it, as torch's does
        zero, one, scale = consts[0], consts[1], consts[2]
        for r in prange(pixels.shape[1]):
            for x in range(pixels.shape[2]):
                for ch in range(3):
                    out[r, x, ch] = np.uint8(np.rint(min(max(pixels[ch, r, x], zero), one) * scale))



def to_rgb8(pixels) -> np.ndarray:
    """``(3, h, w)`` values -> ``(h, w, 3)`` uint8 RGB: clamped to [0, 1], times 255, rounded half
    to even (as ``torch.round``), in one pass. Any strides; float32 or float64 numpy array."""
    out = np.empty((pixels.shape[1], pixels.shape[2], 3), np.uint8)
    launch(_to_rgb8, pixels, np.array([0.0, 1.0, 255.0], pixels.dtype), out)
    return out
