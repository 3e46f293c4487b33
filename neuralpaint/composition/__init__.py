"""Composing paintings from label maps (see docs/compose.md).

* ``composer.py``: ``compose(labels, styles, ...) -> Strokes`` and ``compose_run`` (everything it
  made), ``ComposeConfig``; style maps, matching a new map's colours to them.
* ``regions.py``: ``RegionObjective`` (per-region Gram + colour losses, feathered masks), the
  pixel synthesis, ``region_report`` (the benchmark's per-region distances).
* ``labels.py``: ``make_labels`` (a painting cut into flat-colour regions, with a legend),
  ``label_picture``, ``read_label_map`` / ``snap_label_picture`` (a label PNG snapped to its main
  colours).
* ``grams.py``: ``region_grams(features, masks) -> (R, C, C)``, Gram matrices under region masks
  (Gatys et al. 2017), ``region_masks`` (label map -> one-hot masks), ``masks_at``.

The package is named ``composition`` so that the library function ``neuralpaint.compose(...)`` (a
lazy export of ``neuralpaint/__init__.py``) does not clash with a subpackage of the same name.
"""
from .grams import masks_at, region_grams, region_masks
from .labels import LABEL_COLOURS, MAX_REGIONS, label_picture, make_labels, read_label_map, snap_label_picture
from .composer import ComposeConfig, ComposeResult, compose, compose_run

__all__ = ["LABEL_COLOURS", "MAX_REGIONS", "ComposeConfig", "ComposeResult", "compose", "compose_run", "label_picture",
           "make_labels", "masks_at", "read_label_map", "region_grams", "region_masks", "snap_label_picture"]
