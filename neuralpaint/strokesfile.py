"""The strokes file: a painting as an ordered list of parameterised strokes (``.npz``).

A strokes file holds everything needed to re-render a painting at any resolution: the stroke
type and its options, the strokes in painting order, the canvas size they were fitted at and the
canvas colour. It is a NumPy ``.npz`` archive (a zip of ``.npy`` arrays, compressed or not) that
``numpy.load(path, allow_pickle=False)`` reads; it never contains pickled objects.

Format version 1 has exactly these keys (readers ignore any others):

==================  ============================  ===============================================
key                 array                         meaning
==================  ============================  ===============================================
``format_version``  integer, shape ``()``         ``1``
``stroke_type``     unicode string, shape ``()``  registered stroke type, e.g. ``"oilpaintbrush"``
``params``          float32, shape ``(N, d)``     one row per stroke, in painting order (row 0 is
                                                  painted first); ``d`` is the type's parameter
                                                  count, every value finite and in [0, 1]; ``N``
                                                  may be 0 (an empty painting)
``canvas_size``     int64, shape ``(2,)``         ``[height, width]`` in pixels that ``params``
                                                  refer to, each in 1 .. 65536
``canvas_colour``   float32, shape ``(3,)``       RGB of the bare canvas, each in [0, 1]
``stroke_options``  unicode string, shape ``()``  JSON object of the stroke type's constructor
                                                  options, e.g. ``{"brush": "oil"}`` (``{}`` for
                                                  none)
``metadata``        unicode string, shape ``()``  JSON object, free-form provenance: source image,
                                                  seed, command line... (``{}`` for none)
==================  ============================  ===============================================

Parameters follow the stroke type's layout (see ``neuralpaint.strokes``): positions are fractions
of the canvas width/height, lengths fractions of its longer side, so the painting renders at any
size with the aspect ratio of ``canvas_size``. Rendering composites each stroke in order over a
canvas filled with ``canvas_colour``: ``canvas = colour * alpha + canvas * (1 - alpha)``.

Reading checks every field and raises ``NeuralPaintError`` with a one-line message naming the
file and the problem. Writing validates first and replaces the destination atomically.
"""
from __future__ import annotations

import json
import math
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .arrays import is_tensor
from .errors import NeuralPaintError
from .fileutil import atomic_write
from .strokes import StrokeType, recorded_stroke_type

FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)
MAX_CANVAS_SIDE = 65536
KEYS = ("format_version", "stroke_type", "params", "canvas_size", "canvas_colour", "stroke_options", "metadata")


@dataclass(frozen=True, eq=False)
class Strokes:
    """A painting: ``params (N, d)`` float32 strokes of one type, in painting order.

    ``width``/``height`` are the canvas size in pixels the params refer to, ``canvas_colour`` the
    bare canvas RGB in [0, 1]. ``stroke_options`` are the stroke type's constructor options and
    ``metadata`` free-form JSON-serialisable provenance. Fields are converted on construction
    (params to a float32 array, colour to floats exactly representable in float32) so a saved
    and reloaded object compares equal field by field; values are checked by ``validate``.
    """

    stroke_type: str
    params: np.ndarray
    width: int
    height: int
    canvas_colour: tuple[float, float, float]
    stroke_options: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        params = self.params
        if is_tensor(params):
            params = params.detach().cpu().numpy()
        set_ = object.__setattr__
        set_(self, "params", np.ascontiguousarray(params, dtype=np.float32))
        colour = np.asarray(self.canvas_colour, dtype=np.float32).ravel()
        set_(self, "canvas_colour", tuple(float(c) for c in colour))
        set_(self, "stroke_options", dict(self.stroke_options or {}))
        set_(self, "metadata", dict(self.metadata or {}))

    @classmethod
    def from_stroke(
        cls,
        stroke: StrokeType,
        params,
        width: int,
        height: int,
        canvas_colour: tuple[float, float, float],
        metadata: dict | None = None,
    ) -> Strokes:
        """Build from a stroke-type object, taking its name and options."""
        return cls(stroke.name, params, width, height, canvas_colour, stroke.options, metadata or {})

    @property
    def n(self) -> int:
        """Number of strokes ``N``."""
        return int(self.params.shape[0])

    def stroke(self) -> StrokeType:
        """The stroke type object, built with ``stroke_options``."""
        return recorded_stroke_type(self.stroke_type, self.stroke_options)

    def params_tensor(self, device=None):
        """A copy of ``params`` as a float32 ``(N, d)`` tensor on ``device``."""
        import torch  # the painter's side: rendering and exporting use ``params``

        return torch.tensor(self.params, dtype=torch.float32, device=device)


# ---- validation ------------------------------------------------------------------------------
def _json_object(value, what: str, source: str) -> str:
    """``value`` as JSON text; it must be a dict that JSON can represent."""
    if not isinstance(value, dict):
        raise NeuralPaintError(f"{source}: {what} must be a JSON object, got {type(value).__name__}")
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise NeuralPaintError(f"{source}: {what} is not JSON-serialisable: {err}") from None


def validate(strokes: Strokes, source: str | os.PathLike = "strokes") -> StrokeType:
    """Check every field of ``strokes``; return its stroke type object.

    Raises ``NeuralPaintError`` with a one-line message starting with ``source`` (a file name).
    """
    src = str(source)

    def fail(problem: str):
        raise NeuralPaintError(f"{src}: {problem}")

    options_json = _json_object(strokes.stroke_options, "stroke_options", src)
    _json_object(strokes.metadata, "metadata", src)
    if not isinstance(strokes.stroke_type, str):
        fail(f"stroke_type must be a string, got {type(strokes.stroke_type).__name__}")
    try:
        stroke = recorded_stroke_type(strokes.stroke_type, strokes.stroke_options)
    except NeuralPaintError as err:
        fail(str(err))
    except (TypeError, ValueError) as err:
        fail(f"bad stroke_options {options_json} for stroke type {strokes.stroke_type!r}: {err}")

    params = strokes.params
    d = stroke.n_params
    if params.ndim != 2 or params.shape[1] != d:
        fail(f"params must have shape (N, {d}) for stroke type {stroke.name!r}, got {params.shape}")
    if not np.isfinite(params).all():
        fail(f"params contain {np.count_nonzero(~np.isfinite(params))} NaN or infinite value(s)")
    if params.size and (params.min() < 0.0 or params.max() > 1.0):
        fail(f"params must lie in [0, 1], found min {params.min():.6g} and max {params.max():.6g}")

    for name, side in (("width", strokes.width), ("height", strokes.height)):
        if isinstance(side, bool) or not isinstance(side, (int, np.integer)):
            fail(f"canvas {name} must be an integer, got {side!r}")
        if not 1 <= side <= MAX_CANVAS_SIDE:
            fail(f"canvas {name} must be in 1..{MAX_CANVAS_SIDE} pixels, got {side}")

    colour = strokes.canvas_colour
    if len(colour) != 3 or not all(math.isfinite(c) and 0.0 <= c <= 1.0 for c in colour):
        fail(f"canvas_colour must be 3 values in [0, 1], got {list(colour)}")
    return stroke


# ---- writing ---------------------------------------------------------------------------------
def save_strokes(strokes: Strokes, path: str | os.PathLike) -> Path:
    """Validate ``strokes`` and write them to ``path`` atomically, creating parent directories
    (the name is kept as given; ``.npz`` is not appended). Returns ``path`` as a ``Path``."""
    path = Path(path)
    validate(strokes, path)
    arrays = {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "stroke_type": np.array(strokes.stroke_type, dtype=np.str_),
        "params": strokes.params,
        "canvas_size": np.array([strokes.height, strokes.width], dtype=np.int64),
        "canvas_colour": np.array(strokes.canvas_colour, dtype=np.float32),
        "stroke_options": np.array(json.dumps(strokes.stroke_options), dtype=np.str_),
        "metadata": np.array(json.dumps(strokes.metadata), dtype=np.str_),
    }
    try:
        with atomic_write(path) as f:
            np.savez_compressed(f, **arrays)
    except OSError as err:
        raise NeuralPaintError(f"{path}: cannot write: {err.strerror or err}") from None
    return path


# ---- reading ---------------------------------------------------------------------------------
def _string(arr: np.ndarray, key: str, src: str) -> str:
    if arr.shape != () or arr.dtype.kind != "U":
        raise NeuralPaintError(f"{src}: {key} must be a unicode string scalar, got {arr.dtype} {arr.shape}")
    return str(arr)


def _json_dict(arr: np.ndarray, key: str, src: str) -> dict:
    try:
        value = json.loads(_string(arr, key, src))
    except json.JSONDecodeError as err:
        raise NeuralPaintError(f"{src}: {key} is not valid JSON ({err})") from None
    if not isinstance(value, dict):
        raise NeuralPaintError(f"{src}: {key} must be a JSON object, got {type(value).__name__}")
    return value


def _describe(arr: np.ndarray) -> str:
    """Short text for an unexpected array: its values if small, else its dtype and shape."""
    return repr(arr.tolist()) if arr.size <= 4 else f"{arr.dtype} array of shape {arr.shape}"


def _read_arrays(path: str | os.PathLike, src: str) -> dict[str, np.ndarray]:
    """The arrays under ``KEYS`` of the ``.npz`` at ``path``, after checking the format version."""
    try:
        with open(path, "rb") as f:
            signature = f.read(4)
    except OSError as err:
        raise NeuralPaintError(f"{src}: cannot read: {err.strerror or err}") from None
    if signature not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise NeuralPaintError(f"{src}: not a strokes file (not an .npz/zip archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in KEYS if k not in archive.files]
            if "format_version" not in missing:
                version = archive["format_version"]
                if version.shape != () or version.dtype.kind not in "iu" or int(version) not in SUPPORTED_VERSIONS:
                    raise NeuralPaintError(
                        f"{src}: unsupported format_version {_describe(version)}; this version of "
                        f"neuralpaint reads format version(s) {', '.join(map(str, SUPPORTED_VERSIONS))}"
                    )
            if missing:
                raise NeuralPaintError(f"{src}: not a strokes file: missing key(s) {', '.join(missing)}")
            return {k: archive[k] for k in KEYS}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise NeuralPaintError(f"{src}: corrupt or truncated .npz file ({err})") from None


def load_strokes(path: str | os.PathLike) -> Strokes:
    """Read and validate a strokes file (see the module docstring for the format)."""
    src = str(path)
    if not Path(path).is_file():
        raise NeuralPaintError(f"{src}: no such file")
    data = _read_arrays(path, src)
    params, size, colour = data["params"], data["canvas_size"], data["canvas_colour"]
    if params.dtype.kind != "f":
        raise NeuralPaintError(f"{src}: params must be floating point, got {params.dtype}")
    if size.shape != (2,) or size.dtype.kind not in "iu":
        raise NeuralPaintError(f"{src}: canvas_size must be 2 integers [height, width], got {_describe(size)}")
    if colour.shape != (3,) or colour.dtype.kind not in "fiu":
        raise NeuralPaintError(f"{src}: canvas_colour must be 3 numbers, got {_describe(colour)}")
    strokes = Strokes(
        stroke_type=_string(data["stroke_type"], "stroke_type", src),
        params=params,
        width=int(size[1]),
        height=int(size[0]),
        canvas_colour=tuple(float(c) for c in colour),
        stroke_options=_json_dict(data["stroke_options"], "stroke_options", src),
        metadata=_json_dict(data["metadata"], "metadata", src),
    )
    validate(strokes, src)
    return strokes


# ---- colours ---------------------------------------------------------------------------------
_NAMED_COLOURS = {"white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0)}


def parse_colour(text: str) -> tuple[float, float, float]:
    """``"white"``, ``"black"``, ``"#rrggbb"`` or ``"#rgb"`` (case-insensitive) -> RGB in [0, 1]."""
    s = str(text).strip().lower()
    if s in _NAMED_COLOURS:
        return _NAMED_COLOURS[s]
    digits = s[1:]
    if s.startswith("#") and len(digits) in (3, 6) and all(c in "0123456789abcdef" for c in digits):
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        return tuple(int(digits[i : i + 2], 16) / 255.0 for i in (0, 2, 4))
    raise NeuralPaintError(f"bad colour {text!r}: use white, black, #rrggbb or #rgb")
