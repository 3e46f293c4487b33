"""A small ctypes binding to libmypaint (1.5 / 1.6), the brush engine of the MyPaint program.

Only what the ``mypaint`` stroke type needs: brushes loaded from ``.myb`` JSON, and a sparse tiled
surface whose tiles live in NumPy arrays, so the pixels can be read back (the GObject-introspection
binding draws but cannot). Everything is looked up lazily: importing this module never fails; the
first use raises ``MyPaintUnavailable`` (a ``NeuralPaintError``, one line) when the library is missing.

The surface is libmypaint's own ``MyPaintTiledSurface2`` (so brushes receive ``viewzoom``), with the
two tile-store callbacks implemented here: libmypaint asks for a 64 x 64 tile of premultiplied
RGBA ``uint16`` (1.0 = 32768) and gets a NumPy array, created on the first write. Only the tiles a
stroke touches are ever allocated, wherever on the (unbounded) surface they are.

Facts used, from libmypaint's public headers (``mypaint-tiled-surface.h``, ``mypaint-surface.h``,
``mypaint-brush.h``, ``mypaint-rectangle.h``, ``mypaint-symmetry.h``):

* ``mypaint_brush_stroke_to_2(brush, surface2, x, y, pressure, xtilt, ytilt, dtime, viewzoom,
  viewrotation, barrel_rotation)``; the first event after a reset only places the brush;
* ``mypaint_tiled_surface2_init(self, start, end)`` fills in the vtable, the operation queue and the
  symmetry data; ``mypaint_tiled_surface2_destroy`` frees those but not ``self``;
* ``mypaint_surface2_end_atomic(surface2, MyPaintRectangles*)`` flushes the queued dabs;
* ``MyPaintTileRequest = {int tx, ty; gboolean readonly; guint16 *buffer; gpointer context;
  int thread_id, mipmap_level}``.

Tile callbacks run on the calling thread (``threadsafe_tile_requests`` stays false), so a surface
must be used from one thread at a time.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from ctypes import POINTER, Structure, c_char_p, c_double, c_float, c_int, c_void_p

import numpy as np

from ..errors import NeuralPaintError

MYPAINT_TILE = 64  # libmypaint's tile side in pixels (MYPAINT_TILE_SIZE)
ONE = 1 << 15  # the value of 1.0 in a tile
LIBRARY_NAMES = ("libmypaint-1.5.so.1", "libmypaint-1.6.so.1", "libmypaint.so.1", "libmypaint.so")
INSTALL_HINT = ("install the Debian packages libmypaint-1.5-1 and mypaint-brushes "
                "(bash scripts/setup.sh does)")


class MyPaintUnavailable(NeuralPaintError):
    """libmypaint cannot be loaded, or lacks a function this binding needs."""


# ---- structures (layouts from the public headers) -----------------------------------------------
class Rectangle(Structure):
    _fields_ = [("x", c_int), ("y", c_int), ("width", c_int), ("height", c_int)]


class Rectangles(Structure):
    _fields_ = [("num_rectangles", c_int), ("rectangles", POINTER(Rectangle))]


class TileRequest(Structure):
    _fields_ = [("tx", c_int), ("ty", c_int), ("readonly", c_int), ("buffer", c_void_p),
                ("context", c_void_p), ("thread_id", c_int), ("mipmap_level", c_int)]


class _Surface(Structure):  # MyPaintSurface
    _fields_ = [("draw_dab", c_void_p), ("get_color", c_void_p), ("begin_atomic", c_void_p),
                ("end_atomic", c_void_p), ("destroy", c_void_p), ("save_png", c_void_p),
                ("refcount", c_int)]


class _Surface2(Structure):  # MyPaintSurface2
    _fields_ = [("parent", _Surface), ("draw_dab_pigment", c_void_p),
                ("get_color_pigment", c_void_p), ("end_atomic_multi", c_void_p)]


class _SymmetryState(Structure):
    _fields_ = [("type", c_int), ("center_x", c_float), ("center_y", c_float), ("angle", c_float),
                ("num_lines", c_float)]


class _SymmetryData(Structure):
    _fields_ = [("state_current", _SymmetryState), ("state_pending", _SymmetryState),
                ("pending_changes", c_int), ("active", c_int), ("num_symmetry_matrices", c_int),
                ("symmetry_matrices", c_void_p)]


class _TiledSurface2(Structure):  # MyPaintTiledSurface2
    _fields_ = [("parent", _Surface2), ("tile_request_start", c_void_p),
                ("tile_request_end", c_void_p), ("operation_queue", c_void_p),
                ("threadsafe_tile_requests", c_int), ("tile_size", c_int),
                ("symmetry_data", _SymmetryData), ("num_bboxes", c_int),
                ("num_bboxes_dirtied", c_int), ("bboxes", POINTER(Rectangle)),
                ("_reserve", ctypes.c_char * 256)]  # slack in case a build's struct is bigger


# MyPaintBrushState numbers (enum order in mypaint-brush-settings-gen.h)
STATE_X, STATE_Y, STATE_ACTUAL_X, STATE_ACTUAL_Y = 0, 1, 14, 15

TILE_CALLBACK = ctypes.CFUNCTYPE(None, c_void_p, POINTER(TileRequest))

_SIGNATURES = {
    "mypaint_brush_new": (c_void_p, []),
    "mypaint_brush_unref": (None, [c_void_p]),
    "mypaint_brush_from_defaults": (None, [c_void_p]),
    "mypaint_brush_from_string": (c_int, [c_void_p, c_char_p]),
    "mypaint_brush_set_base_value": (None, [c_void_p, c_int, c_float]),
    "mypaint_brush_get_base_value": (c_float, [c_void_p, c_int]),
    "mypaint_brush_setting_from_cname": (c_int, [c_char_p]),
    "mypaint_brush_input_from_cname": (c_int, [c_char_p]),
    "mypaint_brush_reset": (None, [c_void_p]),
    "mypaint_brush_set_state": (None, [c_void_p, c_int, c_float]),
    "mypaint_brush_get_state": (c_float, [c_void_p, c_int]),
    "mypaint_brush_new_stroke": (None, [c_void_p]),
    "mypaint_brush_stroke_to_2": (c_int, [c_void_p, c_void_p, c_float, c_float, c_float, c_float,
                                          c_float, c_double, c_float, c_float, c_float]),
    "mypaint_tiled_surface2_init": (None, [c_void_p, TILE_CALLBACK, TILE_CALLBACK]),
    "mypaint_tiled_surface2_destroy": (None, [c_void_p]),
    "mypaint_surface2_end_atomic": (None, [c_void_p, POINTER(Rectangles)]),
    "mypaint_surface_begin_atomic": (None, [c_void_p]),
}


@functools.cache
def library() -> ctypes.CDLL:
    """The loaded libmypaint (``NEURALPAINT_LIBMYPAINT`` may name the file); cached.

    Raises ``MyPaintUnavailable`` with a one-line message naming the Debian packages.
    """
    names = [os.environ["NEURALPAINT_LIBMYPAINT"]] if os.environ.get("NEURALPAINT_LIBMYPAINT") else []
    names += list(LIBRARY_NAMES)
    found = ctypes.util.find_library("mypaint-1.5") or ctypes.util.find_library("mypaint")
    if found:
        names.append(found)
    lib = None
    for name in names:
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError:
            continue
    if lib is None:
        raise MyPaintUnavailable(f"the mypaint stroke type needs libmypaint, which is not installed: {INSTALL_HINT}")
    for fn, (restype, argtypes) in _SIGNATURES.items():
        try:
            f = getattr(lib, fn)
        except AttributeError:
            raise MyPaintUnavailable(f"{lib._name} lacks {fn}: libmypaint 1.5 or newer is needed; "
                                     f"{INSTALL_HINT}") from None
        f.restype, f.argtypes = restype, argtypes
    return lib


@functools.cache
def setting_id(cname: str) -> int:
    """The ``MyPaintBrushSetting`` number of a setting's canonical name (``radius_logarithmic``)."""
    value = library().mypaint_brush_setting_from_cname(cname.encode())
    if value < 0:
        raise ValueError(f"libmypaint has no brush setting {cname!r}")
    return value


@functools.cache
def has_input(cname: str) -> bool:
    """Whether this libmypaint knows the brush input ``cname`` (``pressure``, ``speed1``, ...)."""
    return library().mypaint_brush_input_from_cname(cname.encode()) >= 0


def has_setting(cname: str) -> bool:
    """Whether this libmypaint knows the brush setting ``cname``."""
    try:
        setting_id(cname)
    except ValueError:
        return False
    return True


# ---- the tile store ---------------------------------------------------------------------------
_STORES: dict[int, "TileSurface"] = {}  # surface address -> its store, for the C callbacks
_ZERO_TILE = np.zeros((MYPAINT_TILE, MYPAINT_TILE, 4), np.uint16)  # handed out for reads of tiles never written
_SCRATCH = np.zeros((MYPAINT_TILE, MYPAINT_TILE, 4), np.uint16)  # last resort if a callback fails


def _tile_request_start(surface: int, request) -> None:
    req = request.contents
    try:
        store = _STORES[surface]
        key = (req.tx, req.ty)
        tile = store.tiles.get(key)
        if tile is None:
            if req.readonly:
                tile = _ZERO_TILE
            else:
                tile = store.tiles[key] = np.zeros((MYPAINT_TILE, MYPAINT_TILE, 4), np.uint16)
        req.buffer = tile.ctypes.data
    except BaseException:  # never let an exception unwind through C
        _SCRATCH.fill(0)
        req.buffer = _SCRATCH.ctypes.data


def _tile_request_end(surface: int, request) -> None:
    return None


_START = TILE_CALLBACK(_tile_request_start)
_END = TILE_CALLBACK(_tile_request_end)


class TileSurface:
    """An unbounded, initially transparent libmypaint surface; ``tiles`` maps ``(tx, ty)`` to the
    ``(64, 64, 4)`` uint16 premultiplied RGBA tiles painted so far. Close it (or use ``with``)."""

    def __init__(self) -> None:
        lib = library()
        self.tiles: dict[tuple[int, int], np.ndarray] = {}
        self._struct = _TiledSurface2()
        lib.mypaint_tiled_surface2_init(ctypes.byref(self._struct), _START, _END)
        if self._struct.tile_size != MYPAINT_TILE:
            raise MyPaintUnavailable(f"unexpected libmypaint tile size {self._struct.tile_size} (expected {MYPAINT_TILE})")
        self.address = ctypes.addressof(self._struct)
        _STORES[self.address] = self

    def begin(self) -> None:
        library().mypaint_surface_begin_atomic(self.address)

    def end(self) -> None:
        """Flush the queued dabs into the tiles."""
        rect = Rectangle()
        rects = Rectangles(1, ctypes.pointer(rect))
        library().mypaint_surface2_end_atomic(self.address, ctypes.byref(rects))

    def close(self) -> None:
        if _STORES.pop(self.address, None) is not None:
            library().mypaint_tiled_surface2_destroy(self.address)

    def __enter__(self) -> "TileSurface":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def read(self, top: int, left: int, height: int, width: int) -> np.ndarray:
        """``(height, width, 4)`` uint16 premultiplied RGBA of the surface pixels from ``(top, left)``."""
        out = np.zeros((height, width, 4), np.uint16)
        if not self.tiles or height <= 0 or width <= 0:
            return out
        ty0, ty1 = top // MYPAINT_TILE, (top + height - 1) // MYPAINT_TILE
        tx0, tx1 = left // MYPAINT_TILE, (left + width - 1) // MYPAINT_TILE
        for (tx, ty), tile in self.tiles.items():
            if not (ty0 <= ty <= ty1 and tx0 <= tx <= tx1):
                continue
            y0, x0 = ty * MYPAINT_TILE, tx * MYPAINT_TILE
            a, b = max(top, y0), min(top + height, y0 + MYPAINT_TILE)
            c, d = max(left, x0), min(left + width, x0 + MYPAINT_TILE)
            out[a - top : b - top, c - left : d - left] = tile[a - y0 : b - y0, c - x0 : d - x0]
        return out


class Brush:
    """A fresh libmypaint brush from ``.myb`` JSON text (defaults first, then the file's settings).

    Every new brush seeds its random generator the same way, so the same events give the same dabs.
    """

    def __init__(self, json_text: bytes) -> None:
        lib = library()
        self.handle = lib.mypaint_brush_new()
        if not self.handle:
            raise MemoryError("mypaint_brush_new failed")
        lib.mypaint_brush_from_defaults(self.handle)
        if not lib.mypaint_brush_from_string(self.handle, json_text):
            self.close()
            raise ValueError("libmypaint could not read the brush")

    def set(self, cname: str, value: float) -> None:
        library().mypaint_brush_set_base_value(self.handle, setting_id(cname), float(value))

    def get(self, cname: str) -> float:
        return library().mypaint_brush_get_base_value(self.handle, setting_id(cname))

    def place(self, x: float, y: float) -> None:
        """Put the pen at ``(x, y)`` without moving it there (no dabs, no speed)."""
        lib = library()
        for state, value in ((STATE_X, x), (STATE_Y, y), (STATE_ACTUAL_X, x), (STATE_ACTUAL_Y, y)):
            lib.mypaint_brush_set_state(self.handle, state, value)

    def close(self) -> None:
        if self.handle:
            library().mypaint_brush_unref(self.handle)
            self.handle = None

    def __enter__(self) -> "Brush":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def paint_events(brush: Brush, surface: TileSurface, events: np.ndarray, viewzoom: float) -> None:
    """Feed motion events ``(N, 4)`` = ``x, y, pressure, dtime`` (surface pixels, seconds) to the
    brush as one stroke and flush the dabs into ``surface``."""
    stroke_to = library().mypaint_brush_stroke_to_2
    handle, address = brush.handle, surface.address
    surface.begin()
    for x, y, pressure, dtime in events.tolist():
        stroke_to(handle, address, x, y, pressure, 0.0, 0.0, dtime, viewzoom, 0.0, 0.0)
    surface.end()
