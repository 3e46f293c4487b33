"""Stroke types: parameter layouts, random samplers and differentiable engines.

Importing this package registers every built-in type; ``get_stroke_type(name)`` builds one.
"""
from .base import StrokeType, box_coverage
from .registry import (get_stroke_type, recorded_stroke_type, register, stroke_type_class, stroke_type_names,
                       unregister)

# built-in types (importing registers them)
from . import markerpen, mypaint, oilpaintbrush, rectangle, watercolor  # noqa: E402,F401  isort: skip

__all__ = ["StrokeType", "box_coverage", "get_stroke_type", "recorded_stroke_type", "register", "stroke_type_class",
           "stroke_type_names", "unregister"]
