"""neuralpaint: turn a photo into a painting made of real, parameterised brush strokes."""
__version__ = "0.1.0"

from .errors import NeuralPaintError
from .strokes import StrokeType, get_stroke_type, stroke_type_names

__all__ = ["NeuralPaintError", "StrokeType", "get_stroke_type", "stroke_type_names", "__version__"]
