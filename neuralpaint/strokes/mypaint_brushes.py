"""MyPaint brush files for the ``mypaint`` stroke type: where they are installed, how each is read
and checked, and how far its dabs can reach from the pen's path (``BrushInfo``: the bounding
boxes and cells a stroke is drawn on).

A brush is any ``.myb`` file (JSON, version 3) of the installed MyPaint brush collection, named
relative to its directory (``classic/dry_brush``), or a path to one. The reach is read from the
brush's settings and their input mappings (radius, random radius, offsets, tracking noise, speed
offsets, anti-aliasing); checked against libmypaint on all 196 brushes Debian installs.
"""
from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..arrays import is_tensor, namespace
from ..errors import NeuralPaintError
from . import libmypaint

DEFAULT_BRUSH = "deevad/brush"
BRUSH_DIRS = (
    "/usr/share/mypaint-data/1.0/brushes",  # Debian's mypaint-brushes (2.0)
    "/usr/share/mypaint-data/2.0/brushes",
    "/usr/local/share/mypaint-data/1.0/brushes",
    "/usr/local/share/mypaint-data/2.0/brushes",
    "/usr/share/mypaint/brushes",
)
# how the stroke type drives a brush (``strokes.mypaint``): its reach depends on them
PRESSURE_SCALE = 0.8  # pressures in the action are multiplied by this
REF = 64.0  # the reference canvas size of the data set
SPEED = 128.0  # pen speed in reference pixels per second
RADIUS_MAX = 1000.0  # libmypaint clamps dab radii to 0.2 .. 1000 pixels
GAUSS_MAX = 3.4642  # libmypaint's rand_gauss is a sum of 4 uniforms: |value| < 2 sqrt(3)
BOX_SAFETY = 1.1  # bounding boxes: extra factor on the brush's reach ...
BOX_PIXELS = 2.0  # ... plus pixels (fringe of a dab, snapping)
PRESSURES = 16  # ``BrushInfo.by_pressure``: the reach for action pressures up to k / PRESSURES


def brush_dirs() -> list[Path]:
    """Directories searched for brushes: ``NEURALPAINT_MYPAINT_BRUSHES`` (``os.pathsep``-separated),
    then the usual install locations."""
    extra = [p for p in os.environ.get("NEURALPAINT_MYPAINT_BRUSHES", "").split(os.pathsep) if p]
    return [Path(p) for p in (*extra, *BRUSH_DIRS)]


def available_brushes() -> list[str]:
    """Names of the installed brushes (``classic/dry_brush``, ...), sorted."""
    names = set()
    for d in brush_dirs():
        if d.is_dir():
            names.update(str(p.relative_to(d).with_suffix("")) for p in d.glob("*/*.myb"))
    return sorted(names)


def find_brush(name: str) -> Path:
    """The ``.myb`` file of brush ``name`` (a name relative to a brushes directory, or a path).

    Raises ``NeuralPaintError`` with a one-line message when there is none.
    """
    if not isinstance(name, str) or not name.strip():
        raise NeuralPaintError(f"the MyPaint brush must be a non-empty string, got {name!r}")
    path = Path(name).expanduser()
    if path.suffix == ".myb" and path.is_file():
        return path.resolve()
    stem = name[:-4] if name.endswith(".myb") else name
    dirs = brush_dirs()
    for d in dirs:
        candidate = d / f"{stem}.myb"
        if candidate.is_file():
            return candidate.resolve()
    if not any(d.is_dir() for d in dirs):
        raise NeuralPaintError(f"no MyPaint brush {name!r}: the brush collection is not installed "
                               f"({libmypaint.INSTALL_HINT})")
    raise NeuralPaintError(f"no MyPaint brush {name!r} (a name like {DEFAULT_BRUSH!r} relative to "
                           f"{next(str(d) for d in dirs if d.is_dir())}, or a path to a .myb file)")


@dataclass(frozen=True)
class BrushInfo:
    """A brush file, read and checked: its JSON text, and how far its dabs can reach from the path.

    For strokes whose action pressures are at most ``k / PRESSURES``, a dab of base radius ``r``
    pixels (``exp`` of the base ``radius_logarithmic``) lies within ``radius_factor * r`` of its
    centre, which is within ``offset_factor * r + speed_offset * S / 64`` of the path (``S`` the
    canvas's longer side), with ``(radius_factor, offset_factor) = by_pressure[k]``: maxima over
    the brush's input mappings (the radius and offsets often grow with the pressure).
    """

    name: str
    path: str
    by_pressure: tuple[tuple[float, float], ...]  # k = 0 .. PRESSURES
    speed_offset: float
    pixels: float
    # the dabs follow the pen's path (no slow tracking, which lags them behind it and inside its
    # bends): cells far from the path are known to be empty (``MyPaint.cells_touched``)
    tracks: bool = False

    def reach(self, radius, scale: float, pressure):
        """Pixels beyond the path within which every dab of strokes of base radii ``radius`` and
        largest action pressure ``pressure`` (``max(start_pressure, end_pressure)``) lies (numpy
        arrays or tensors, both of one kind)."""
        xp = namespace(radius)
        table = radius.new_tensor(self.by_pressure) if is_tensor(radius) else np.asarray(self.by_pressure)
        k = xp.ceil(xp.clip(pressure, 0.0, 1.0) * PRESSURES)
        k = k.long() if is_tensor(k) else k.astype(np.int64)
        dab = xp.clip(radius * table[k, 0], None, RADIUS_MAX)
        spread = radius * table[k, 1] + self.speed_offset * scale / REF
        return BOX_SAFETY * (dab + spread) + self.pixels


def _mapping_value(points: list, x: float) -> float:
    """libmypaint's piecewise-linear mapping at ``x`` (extrapolating the end segments)."""
    (x0, y0), (x1, y1) = points[0], points[1]
    for px, py in points[2:]:
        if x <= x1:
            break
        x0, y0, x1, y1 = x1, y1, px, py
    if x0 == x1 or y0 == y1:
        return y0
    return (y1 * (x - x0) + y0 * (x1 - x)) / (x1 - x0)


def _setting_range(settings: dict, name: str, default: float = 0.0,
                   input_ranges: dict | None = None) -> tuple[float, float]:
    """``(lowest, highest)`` value a setting can take: its base value plus, for each input mapping,
    its extremes over the input's range when known (``input_ranges``), else over its control
    points (mappings are piecewise linear)."""
    entry = settings.get(name)
    if not isinstance(entry, dict):
        return default, default
    base = float(entry.get("base_value", default))
    low = high = base
    for input_name, points in (entry.get("inputs") or {}).items():
        points = [(float(p[0]), float(p[1])) for p in points or []]
        if len(points) < 2:
            continue
        if input_ranges and input_name in input_ranges:
            lo, hi = input_ranges[input_name]
            ys = [_mapping_value(points, x) for x in (lo, hi, *(px for px, _ in points if lo < px < hi))]
        else:
            ys = [py for _, py in points]
        low += min(ys)
        high += max(ys)
    return low, high


@functools.cache
def load_brush(name: str) -> BrushInfo:
    """Read and check brush ``name`` (see ``find_brush``); cached per process.

    Raises ``NeuralPaintError`` with a one-line message for a missing or unreadable brush.
    """
    path = find_brush(name)
    try:
        text = path.read_bytes()
        data = json.loads(text)
    except (OSError, ValueError) as err:
        raise NeuralPaintError(f"cannot read MyPaint brush {str(path)!r}: {type(err).__name__}") from None
    if not isinstance(data, dict) or data.get("version") != 3 or not isinstance(data.get("settings"), dict):
        raise NeuralPaintError(f"{str(path)!r} is not a MyPaint brush file of version 3 (JSON)")
    s = data["settings"]
    # the inputs whose range is known here: pressure (at most 0.8 times the brush's gain, or for
    # strokes of action pressures at most ``pressure``, that times the gain), random
    gain = math.exp(_setting_range(s, "pressure_gain_log")[1])

    def factors(pressure: float) -> tuple[float, float]:
        ranges = {"pressure": (0.0, PRESSURE_SCALE * pressure * gain), "random": (0.0, 1.0)}
        top = lambda n: _setting_range(s, n, 0.0, ranges)[1]  # noqa: E731
        absmax = lambda n: max(abs(v) for v in _setting_range(s, n, 0.0, ranges))  # noqa: E731
        rlog = _setting_range(s, "radius_logarithmic", 0.0, ranges)
        radius_extra = rlog[1] - float((s.get("radius_logarithmic") or {}).get("base_value", 0.0))
        radius_factor = math.exp(radius_extra + GAUSS_MAX * max(top("radius_by_random"), 0.0))
        directional = sum(absmax(n) for n in ("offset_x", "offset_y", "offset_angle", "offset_angle_asc",
                                              "offset_angle_view", "offset_angle_2", "offset_angle_2_asc",
                                              "offset_angle_2_view"))
        offset_factor = (GAUSS_MAX * math.sqrt(2) * (max(top("offset_by_random"), 0.0) + max(top("tracking_noise"), 0.0))
                         + directional * math.exp(top("offset_multiplier")))
        return radius_factor, offset_factor

    full = {"pressure": (0.0, PRESSURE_SCALE * gain), "random": (0.0, 1.0)}
    absmax = lambda n: max(abs(v) for v in _setting_range(s, n, 0.0, full))  # noqa: E731
    speed_offset = 0.1 * absmax("offset_by_speed") * SPEED * 1.5  # norm speed * setting * 0.1 / viewzoom
    pixels = BOX_PIXELS + max(_setting_range(s, "anti_aliasing", 1.0, full)[1], 0.0)
    tracks = all(_setting_range(s, n, 0.0, full) == (0.0, 0.0) for n in ("slow_tracking", "slow_tracking_per_dab"))
    by_pressure = tuple(factors(k / PRESSURES) for k in range(PRESSURES + 1))
    return BrushInfo(name=name, path=str(path), by_pressure=by_pressure, speed_offset=speed_offset, pixels=pixels,
                     tracks=tracks)


@functools.cache
def engine_json(path: str) -> bytes:
    """The brush file's JSON without the settings and inputs this libmypaint does not know (newer
    brushes use some; libmypaint would warn on every brush made from them)."""
    data = json.loads(Path(path).read_bytes())
    settings = {}
    for name, entry in data["settings"].items():
        if libmypaint.has_setting(name) and isinstance(entry, dict):
            inputs = {k: v for k, v in (entry.get("inputs") or {}).items() if libmypaint.has_input(k)}
            settings[name] = {**entry, "inputs": inputs}
    return json.dumps({**data, "settings": settings}).encode()
