"""The registry of stroke types: names -> classes. Adding a type = one module with a ``@register``ed
``StrokeType`` subclass, imported by ``neuralpaint/strokes/__init__.py`` (docs/stroke-types.md)."""
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


def unregister(name: str) -> None:
    """Remove stroke type ``name`` (``KeyError`` if it is not registered); for tests and plugins."""
    del _STROKE_TYPES[name]


def stroke_type_names() -> list[str]:
    """Names of all registered stroke types, sorted."""
    return sorted(_STROKE_TYPES)


def stroke_type_class(name: str) -> type:
    """The class of stroke type ``name`` (``NeuralPaintError`` naming the known types otherwise):
    what a type declares (layout, hooks, command-line options) without building one."""
    try:
        return _STROKE_TYPES[name]
    except KeyError:
        raise NeuralPaintError(
            f"unknown stroke type {name!r}; known types: {', '.join(stroke_type_names())}"
        ) from None


def get_stroke_type(name: str, **options):
    """Build the stroke type ``name`` with its ``options`` (e.g. ``brush="dry"``).

    Raises ``NeuralPaintError`` naming the known types when ``name`` is unknown.
    """
    cls = stroke_type_class(name)
    try:
        return cls(**options)
    except (TypeError, ValueError) as err:
        raise NeuralPaintError(f"bad options {options} for stroke type {name!r}: {err}") from None


def recorded_stroke_type(name: str, options: dict):
    """The stroke type ``name`` a file recorded with ``options`` (a strokes file, a data set, a
    checkpoint): options it lacks, because it was written before they existed, take the type's
    ``legacy_options`` (the values they had then), not today's defaults."""
    return get_stroke_type(name, **{**stroke_type_class(name).legacy_options, **options})
