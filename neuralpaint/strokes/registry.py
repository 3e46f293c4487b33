"""The registry of stroke types: names -> classes. Adding a type = one module + ``@register``."""
from __future__ import annotations

from typing import TypeVar

from ..errors import NeuralPaintError

_T = TypeVar("_T")
_STROKE_TYPES: dict[str, type] = {}


def register(cls: type[_T]) -> type[_T]:
    """Class decorator: make a ``StrokeType`` subclass available under ``cls.name``."""
    name = cls.name
    if name in _STROKE_TYPES and _STROKE_TYPES[name] is not cls:
        raise ValueError(f"stroke type {name!r} is registered twice")
    _STROKE_TYPES[name] = cls
    return cls


def stroke_type_names() -> list[str]:
    """Names of all registered stroke types, sorted."""
    return sorted(_STROKE_TYPES)


def get_stroke_type(name: str, **options):
    """Build the stroke type ``name`` with its ``options`` (e.g. ``brush="dry"``).

    Raises ``NeuralPaintError`` naming the known types when ``name`` is unknown.
    """
    try:
        cls = _STROKE_TYPES[name]
    except KeyError:
        raise NeuralPaintError(
            f"unknown stroke type {name!r}; known types: {', '.join(stroke_type_names())}"
        ) from None
    try:
        return cls(**options)
    except (TypeError, ValueError) as err:
        raise NeuralPaintError(f"bad options {options} for stroke type {name!r}: {err}") from None
