"""neuralpaint: turn a photo into a painting made of real, parameterised brush strokes.

    import neuralpaint

    strokes = neuralpaint.paint(neuralpaint.read_image("photo.jpg"), stroke="rectangle", max_strokes=300)
"""
__version__ = "0.1.0"

from .errors import NeuralPaintError

# imported on first use (PEP 562), so ``import neuralpaint`` and ``neuralpaint --help`` do not load torch
_LAZY = {
    "StrokeType": ("strokes", "StrokeType"),
    "get_stroke_type": ("strokes", "get_stroke_type"),
    "stroke_type_names": ("strokes", "stroke_type_names"),
    "paint": ("painter", "paint"),
    "PaintConfig": ("painter.config", "PaintConfig"),
    "render_painting": ("canvas.render", "render_painting"),
    "render_strokes": ("canvas.render", "render_strokes"),
    "random_painting": ("random_strokes", "random_painting"),
    "stylize": ("style", "stylize"),
    "compose": ("composition.composer", "compose"),
    "paint_video": ("video", "paint_video"),
    "paint_many": ("batch", "paint_many"),
    "PhotoResult": ("batch", "PhotoResult"),
    "load_strokes": ("strokesfile", "load_strokes"),
    "save_strokes": ("strokesfile", "save_strokes"),
    "Strokes": ("strokesfile", "Strokes"),
    "read_image": ("imagefiles.io", "read_image"),
}

__all__ = ["NeuralPaintError", "PaintConfig", "compose", "PhotoResult", "StrokeType", "Strokes", "get_stroke_type",
           "load_strokes", "paint", "paint_many", "paint_video", "random_painting", "read_image", "render_strokes", "save_strokes", "stylize",
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
