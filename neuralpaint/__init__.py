"""neuralpaint: turn a photo into a painting made of real, parameterised brush strokes.

    import neuralpaint

    strokes = neuralpaint.paint(neuralpaint.read_image("photo.jpg"), stroke="rectangle", max_strokes=300)
"""
__version__ = "0.1.0"

from .errors import NeuralPaintError
from .strokes import StrokeType, get_stroke_type, stroke_type_names

# imported on first use (PEP 562), so ``import neuralpaint`` and the CLI stay light
_LAZY = {
    "paint": ("painter", "paint"),
    "PaintConfig": ("painter.config", "PaintConfig"),
    "render_painting": ("canvas", "render_painting"),
    "read_image": ("images", "read_image"),
}

__all__ = ["NeuralPaintError", "PaintConfig", "StrokeType", "get_stroke_type", "paint", "read_image",
           "render_painting", "stroke_type_names", "__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
