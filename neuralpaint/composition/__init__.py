"""Composing paintings from label maps (issue 26, in progress; see docs/compose.md).

* ``labels.py``: ``make_labels`` (a painting cut into flat-colour regions, with a legend),
  ``label_picture``, ``read_label_map`` (a label PNG snapped to its main colours).
* ``grams.py``: ``region_grams(features, masks) -> (R, C, C)``, Gram matrices under region masks
  (Gatys et al. 2017), ``region_masks`` (label map -> one-hot masks), ``masks_at``.

The package is named ``composition`` so that the planned library function
``neuralpaint.compose(...)`` (a lazy export of ``neuralpaint/__init__.py``) does not clash with a
subpackage of the same name.
"""
from .grams import masks_at, region_grams, region_masks
from .labels import LABEL_COLOURS, MAX_REGIONS, label_picture, make_labels, read_label_map

__all__ = ["LABEL_COLOURS", "MAX_REGIONS", "label_picture", "make_labels", "masks_at", "read_label_map",
           "region_grams", "region_masks"]
