"""numpy arrays and torch tensors side by side, without importing torch until it is needed.

Rendering a finished painting needs numpy and the compiled kernels only; gradients need torch,
whose import takes 2-3 s. Modules that hold both (a stroke type owns its torch engine and its
torch-free geometry) use these:

* ``torch`` and ``F`` (``torch.nn.functional``) -- the modules, imported on first attribute use;
* ``is_tensor(x)`` -- whether ``x`` is a torch tensor (never imports torch: if torch is not
  loaded, nothing is a tensor);
* ``namespace(x)`` -- the array module of ``x`` (``torch`` or ``numpy``), for code written once
  for both (``xp.stack([...], 1)``, ``xp.clip``, ``xp.amin``...);
* ``to_numpy(x)`` -- a numpy view (CPU tensors share memory) or copy of an array or tensor.
"""
from __future__ import annotations

import importlib
import sys

import numpy as np


class OnFirstUse:
    """A module imported at its first attribute access (``torch.tensor`` imports torch then)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


torch = OnFirstUse("torch")
F = OnFirstUse("torch.nn.functional")


def is_tensor(x) -> bool:
    """Whether ``x`` is a ``torch.Tensor``; imports nothing."""
    loaded = sys.modules.get("torch")
    return loaded is not None and isinstance(x, loaded.Tensor)


def namespace(x):
    """``torch`` for a tensor, ``numpy`` otherwise."""
    return sys.modules["torch"] if is_tensor(x) else np


def to_numpy(x, dtype=None) -> np.ndarray:
    """``x`` (array, tensor on any device, or sequence) as a numpy array of ``dtype`` (kept when
    ``None``). A CPU tensor of that dtype shares its memory with the result (no copy)."""
    if is_tensor(x):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)
