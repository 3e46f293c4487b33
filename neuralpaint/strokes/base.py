"""What every stroke type shares: the parameter layout, the pixel grid, anti-aliased coverage.

Conventions (all stroke types):

* ``params`` is ``(B, d)`` with every value in [0, 1]; the layout is ``[shape | colour | alpha]``.
* Positions are fractions of the canvas: ``x`` of its width, ``y`` of its height, origin top-left.
* Lengths (widths, radii) are fractions of the canvas's *longer side*, so a stroke keeps its shape
  on a non-square canvas and under rotation.
* Engines work in pixel units of the requested canvas, with pixel centres at ``i + 0.5``, and
  box-filter every edge over one pixel. That makes them resolution independent (a 4x render,
  downsampled, matches the 1x render) and differentiable everywhere.
* Output: ``colour (B, 3, h, w)`` in [0, 1] and ``alpha (B, 1, h, w)`` in [0, 1], composited as
  ``canvas = colour * alpha + canvas * (1 - alpha)``.

A stroke type's module imports no torch: its torch engine (``render``, samplers) imports torch on
first use (``neuralpaint.arrays.torch``), while what rendering a finished painting needs
(``bounding_boxes`` on numpy arrays, ``paint_onto`` through the compiled kernels) runs on numpy.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .. import kernels
from ..arrays import is_tensor, to_numpy, torch
from . import vector

if TYPE_CHECKING:
    from torch import Tensor


@dataclass(frozen=True)
class PixelGrid:
    """Pixel-centre coordinates of a window of the canvas, per stroke, in canvas pixels.

    ``xs``: ``(B, 1, w)``, ``ys``: ``(B, h, 1)``; they broadcast to ``(B, h, w)``.
    ``height``/``width`` are the full canvas size, ``scale`` its longer side in pixels.
    """

    xs: Tensor
    ys: Tensor
    height: int
    width: int

    @property
    def scale(self) -> int:
        return max(self.height, self.width)


def make_grid(
    batch: int,
    height: int,
    width: int,
    window: tuple[int, int] | None,
    offset: Tensor | None,
    device,
    dtype,
) -> PixelGrid:
    """Pixel centres of a ``window = (h, w)`` at per-stroke ``offset (B, 2) = (top, left)``.

    With no window the whole ``height x width`` canvas is rendered.
    """
    h, w = (height, width) if window is None else window
    xs = torch.arange(w, device=device, dtype=dtype).add_(0.5).view(1, 1, w)
    ys = torch.arange(h, device=device, dtype=dtype).add_(0.5).view(1, h, 1)
    if offset is None:
        xs, ys = xs.expand(batch, 1, w), ys.expand(batch, h, 1)
    else:
        offset = offset.to(device=device, dtype=dtype)
        ys = ys + offset[:, 0].view(batch, 1, 1)
        xs = xs + offset[:, 1].view(batch, 1, 1)
    return PixelGrid(xs=xs, ys=ys, height=height, width=width)


def box_coverage(dist: Tensor, half_width: Tensor) -> Tensor:
    """Fraction of a one-pixel box centred at signed distance ``dist`` that lies in ``[-hw, hw]``.

    Exact for a band seen across its edges; tends to zero as ``half_width -> 0`` (a vanishing
    stroke draws nothing) and is piecewise linear, so gradients exist almost everywhere.
    Shapes broadcast; units are pixels.
    """
    # the overlap of [d - 1/2, d + 1/2] with [-hw, hw]: hw + 1/2 - |d| across the edge, at most 1
    # (a whole pixel); a band thinner than a pixel loses the part of the pixel beyond its far side,
    # 1/2 - hw - |d| where that is positive; a negative width covers nothing. (Fewer and cheaper
    # passes than min/max of the two ends: this is the inner loop of the rotated-box engines.)
    hw, d = half_width.clamp_min(0.0), dist.abs()
    return (hw + 0.5 - d).clamp(0.0, 1.0) - (0.5 - hw - d).clamp(0.0, 1.0)


def log_uniform(n: int, low: float, high: float, generator) -> Tensor:
    """``(n,)`` samples whose logarithm is uniform on ``[log low, log high]``."""
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    return torch.exp(math.log(low) + u * (math.log(high) - math.log(low))).float()


@dataclass(frozen=True)
class CommandLineOption:
    """A command-line option that sets a constructor option of a stroke type (``--brush`` ->
    ``brush``). Stroke types declaring the same ``flag`` share it; the commands that build stroke
    types (``paint``, ``random-strokes``, ``make-dataset``) offer every declared flag."""

    flag: str  # e.g. "--brush"
    option: str  # the constructor keyword it sets, e.g. "brush"
    help: str  # what a value means for this type, with its default
    choices: tuple[str, ...] = ()  # the values allowed (empty: the constructor checks them)
    kind: str = "a valid value"  # what a value is, for the error message: "an oil brush texture"


class StrokeType:
    """A stroke type: its parameter layout, its random samplers and its differentiable engine.

    Subclasses set ``name`` and ``param_names``, the slices ``shape``, ``colour``, ``alpha`` of
    the layout, which indices hold x / y positions and lengths (used to move strokes between a
    block and the canvas), and implement ``_render``, ``bounding_boxes`` and ``sample_painting``.
    Instances are immutable and cheap; options such as the brush texture are constructor
    arguments (see ``options``), set on the command line by ``command_line_options``.

    Everything else that depends on the layout is a hook with a default here: the compiled
    kernels (``kernel_fields``, ``cell_kernel``, ``_paint_kernel``), ``cells_touched``,
    ``render_window``, and the vector forms: ``svg_element`` (default: none, the SVG embeds the
    engine's raster), ``stroke_record`` (default: the bounding box) and ``params_from_record``.
    """

    name: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]
    shape: ClassVar[slice]
    colour: ClassVar[slice]
    alpha: ClassVar[int]
    x_indices: ClassVar[tuple[int, ...]] = ()
    y_indices: ClassVar[tuple[int, ...]] = ()
    length_indices: ClassVar[tuple[int, ...]] = ()
    # a length parameter of 1 makes the stroke this fraction of the canvas's longer side across
    # (its width or length): how the painter turns a minimum stroke size in pixels into parameters
    length_scale: ClassVar[float] = 1.0
    differentiable: ClassVar[bool] = True  # False: ``render`` has no gradient (e.g. mypaint, drawn by libmypaint)
    # optimiser steps every stroke receives in its level (``PaintConfig.iters_per_stroke``; 20
    # loses about 0.1 dB on astronaut with the oil brush even with the refinement after it)
    iters_per_stroke: ClassVar[int] = 40
    # the painter's default joint refinement steps: what keeps 500 strokes at 256^2 near 20 s on
    # 2 CPU cores with this engine (docs/benchmarks.md, painting benchmark)
    refine_steps: ClassVar[int] = 150
    # ... and the longer side of the canvas it runs on (at most the painting's)
    refine_size: ClassVar[int] = 128
    # ... and the fractions of its steps at which hidden strokes restart on top (every 5 % up to 80 %)
    refine_respawn_at: ClassVar[tuple[float, ...]] = tuple(k / 20 for k in range(1, 17))
    # ... and how many of the first levels' strokes it keeps fixed (drawn once beneath the others)
    refine_frozen_levels: ClassVar[int] = 0
    # with the engine in the loop (``renderers.HybridRenderer``), it draws every N-th render
    engine_every: ClassVar[int] = 8
    # pixels per band when a finished painting is rendered band by band (``canvas.render``)
    band_pixels: ClassVar[int] = 1 << 22

    # command-line options setting constructor options (``--brush``): see ``CommandLineOption``
    command_line_options: ClassVar[tuple[CommandLineOption, ...]] = ()
    # the values of options that files written before the option existed were made with
    # (``registry.recorded_stroke_type``)
    legacy_options: ClassVar[dict] = {}

    @property
    def n_params(self) -> int:
        return len(self.param_names)

    @classmethod
    def index(cls, name: str) -> int:
        """The column of parameter ``name`` (``ValueError`` naming the layout if there is none)."""
        try:
            return cls.param_names.index(name)
        except ValueError:
            raise ValueError(f"{cls.name} has no parameter {name!r}; it has {', '.join(cls.param_names)}") from None

    @classmethod
    def field(cls, row, name: str):
        """Parameter ``name`` of ``row`` (``(..., d)``): ``row[..., index(name)]``."""
        return row[..., cls.index(name)]

    @classmethod
    def fields(cls, row, *names: str):
        """Parameters ``names`` of ``row`` (``(..., d)``), in that order: ``(..., len(names))``."""
        return row[..., [cls.index(n) for n in names]]

    @classmethod
    def implements(cls, hook: str) -> bool:
        """Whether this type overrides ``StrokeType``'s default of method ``hook``."""
        return getattr(cls, hook) is not getattr(StrokeType, hook)

    @property
    def options(self) -> dict:
        """Constructor options that change the rendering (stored in strokes files)."""
        return {}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({opts})"

    # ---- validation -------------------------------------------------------------------------
    def check_params(self, params: Tensor) -> None:
        """Raise ``ValueError`` unless ``params`` is a floating ``(B, d)`` tensor for this type."""
        if not is_tensor(params):
            raise TypeError(f"{self.name} expects params as a torch.Tensor, got {type(params).__name__}")
        if params.dim() != 2 or params.shape[1] != self.n_params:
            raise ValueError(
                f"{self.name} expects params of shape (B, {self.n_params}), got {tuple(params.shape)}"
            )
        if not params.is_floating_point():
            raise ValueError(f"{self.name} expects floating-point params, got {params.dtype}")

    # ---- rendering --------------------------------------------------------------------------
    def render(
        self,
        params: Tensor,
        height: int,
        width: int,
        *,
        window: tuple[int, int] | None = None,
        offset: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Render a batch of strokes.

        Args:
            params: ``(B, d)`` in [0, 1] (values outside are clamped).
            height, width: the canvas size in pixels the parameters refer to.
            window: ``(h, w)`` size of the rendered window; the whole canvas when ``None``.
            offset: ``(B, 2)`` per-stroke ``(top, left)`` of the window in canvas pixels.

        Returns:
            ``colour (B, 3, h, w)`` and ``alpha (B, 1, h, w)``, both in [0, 1], differentiable
            with respect to ``params``.
        """
        self.check_params(params)
        if height < 1 or width < 1:
            raise ValueError(f"canvas size must be positive, got {height}x{width}")
        if window is not None and (window[0] < 1 or window[1] < 1):
            raise ValueError(f"window size must be positive, got {window}")
        if offset is not None and tuple(offset.shape) != (params.shape[0], 2):
            raise ValueError(f"offset must have shape ({params.shape[0]}, 2), got {tuple(offset.shape)}")
        grid = make_grid(params.shape[0], height, width, window, offset, params.device, params.dtype)
        return self._render(params.clamp(0.0, 1.0), grid)

    def _render(self, params: Tensor, grid: PixelGrid) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    # ---- the compiled CPU kernels (``neuralpaint.kernels``) ---------------------------------------
    # A stroke type with kernels names, in ``kernel_fields``, the parameter that feeds each field of
    # its kernel family's layout (``kernels.boxes.FIELDS``, ``kernels.curves.FIELDS``; a name may
    # feed several fields), and implements the hooks it has kernels for:
    # ``cell_kernel``: the family's kernel name for the painter's cells (``canvas.cells``);
    # ``_paint_kernel(fields, boxes, canvas, top, height, width)``: paints in place (numpy).
    kernel_fields: ClassVar[tuple[str, ...]] = ()
    cell_kernel: ClassVar[str | None] = None
    _paint_kernel = None

    @functools.cached_property
    def kernel_columns(self) -> np.ndarray:
        """``(F,)`` int64: the column of ``params`` that feeds each field of the kernel layout."""
        return np.array([self.param_names.index(n) for n in self.kernel_fields], np.int64)

    def kernel_extra(self, dtype) -> tuple:
        """Arrays and constants the cell kernels take after the cell size, in numpy ``dtype``."""
        return ()

    def render_cells(self, params: Tensor, rows: Tensor, height: int, width: int, cell: int,
                     origins: Tensor) -> tuple[Tensor, Tensor]:
        """Stroke ``params[rows[k]]`` (``params (N, d)``, ``rows (T,)``) of a ``height x width``
        canvas on the ``cell x cell`` square at ``origins[k]`` (``(T, 2)``, top, left):
        ``colour (T, 3, cell, cell)``, ``alpha (T, 1, cell, cell)``, differentiable in ``params``.
        The stroke type's cell kernel where one serves these tensors, otherwise ``render`` with a
        window per pair."""
        from ..canvas.cells import kernel_cells  # torch: only the painter renders cells

        if self.cell_kernel is None or not kernels.serves(params):
            return self.render(params.index_select(0, rows), height, width, window=(cell, cell),
                               offset=origins.to(params.dtype))
        self.check_params(params)
        colour, alpha = kernel_cells(self, params.clamp(0.0, 1.0), rows, origins, height, width, cell)
        return colour.view(-1, 3, cell, cell), alpha.view(-1, 1, cell, cell)

    def paint_onto(self, params, canvas, top: int, height: int, width: int) -> bool:
        """Paint strokes ``params (N, d)`` in order onto ``canvas (3, h, w)`` in place, without
        gradient, with the stroke type's compiled kernel: the canvas holds rows ``top .. top + h -
        1`` (and the first ``w`` columns) of a ``height x width`` picture. Numpy arrays or CPU
        tensors (the canvas's memory is painted either way). Returns ``False``, having done
        nothing, where no kernel serves them (``can_paint_onto`` tells beforehand)."""
        if not self.can_paint_onto(params, canvas):
            return False
        params = np.clip(self.check_array(params), 0.0, 1.0)
        boxes = pixel_ranges(self.bounding_boxes(params, height, width), height, width)
        fields = np.ascontiguousarray(params[:, self.kernel_columns])
        self._paint_kernel(fields, boxes, to_numpy(canvas), top, height, width)
        return True

    def can_paint_onto(self, params, canvas) -> bool:
        """Whether ``paint_onto`` paints these arrays (a kernel for this stroke type serves them)."""
        contiguous = canvas.is_contiguous() if is_tensor(canvas) else canvas.flags.c_contiguous
        return self._paint_kernel is not None and kernels.serves(params, canvas) and contiguous

    def render_window(self, params: np.ndarray, height: int, width: int, top: int, left: int, h: int, w: int,
                      device="cpu") -> tuple[np.ndarray, np.ndarray]:
        """Strokes ``params (B, d)`` (numpy) on the ``h x w`` window at ``top, left`` of a ``height x
        width`` canvas, no gradient: ``colour (B, 3, h, w)``, ``alpha (B, 1, h, w)`` numpy arrays in
        the params' dtype. By default the torch engine renders them on ``device``; stroke types
        with a torch-free renderer override this."""
        from ..device import resolve_device

        one = torch.as_tensor(params, device=resolve_device(device))
        offset = one.new_tensor([[top, left]]).expand(one.shape[0], 2)
        with torch.no_grad():
            colour, alpha = self.render(one, height, width, window=(h, w), offset=offset)
        return colour.cpu().numpy(), alpha.cpu().numpy()

    def check_array(self, params) -> np.ndarray:
        """``params`` as a floating numpy ``(B, d)`` array for this type (``ValueError`` otherwise)."""
        params = to_numpy(params)
        if params.ndim != 2 or params.shape[1] != self.n_params:
            raise ValueError(f"{self.name} expects params of shape (B, {self.n_params}), got {params.shape}")
        if params.dtype.kind != "f":
            raise ValueError(f"{self.name} expects floating-point params, got {params.dtype}")
        return params

    def bounding_boxes(self, params, height: int, width: int):
        """``(B, 4)`` float boxes ``(top, left, bottom, right)`` in canvas pixels outside which the
        stroke's alpha is exactly zero (not clipped to the canvas). ``params (B, d)``: a numpy array
        or a tensor; the boxes are the same kind."""
        raise NotImplementedError

    def cells_touched(self, params: Tensor, rows: Tensor, centres: Tensor, half: float, height: int,
                      width: int) -> Tensor | None:
        """Which squares of pixel centres ``centres (T, 2) +- half`` (``y, x`` pixels of a ``height
        x width`` canvas) stroke ``params[rows[k]]`` (``params (N, d)`` in [0, 1], ``rows (T,)``)
        may paint on: ``(T,)`` bool, ``False`` only where its alpha is zero at every pixel centre
        of the square. ``None``: not known (the bounding box is all there is), which is the default."""
        return None

    # ---- vector forms (``neuralpaint.export``; building blocks in ``strokes.vector``) ------------
    def svg_element(self, doc: vector.SvgDocument, i: int) -> str | None:
        """The SVG element of stroke ``i`` of ``doc`` (``doc.params[i]``, user units = canvas
        pixels), with ``id="s<i>"``; it may add defs (``doc.defs``, ``doc.shared``). ``None``, the
        default: no vector form, the exporter embeds the stroke rendered by ``render_window``."""
        return None

    def stroke_record(self, frame: vector.StrokeFrame, row: np.ndarray) -> dict:
        """The stroke-list fields of stroke ``row`` (``(d,)`` float64) in output units
        (``vector.record``). Default: the ``bbox`` record, the corners of its bounding box, with
        colour and opacity where the layout has them."""
        box = self.bounding_boxes(np.asarray(row[None], np.float32), frame.height, frame.width)[0]
        top, left, bottom, right = (box.astype(np.float64) * frame.scale).tolist()
        colour = row[getattr(self, "colour", slice(0, 0))]
        c0, c2 = (colour, colour) if len(colour) == 3 else (colour[:3], colour[3:6]) if len(colour) == 6 else (None, None)
        alpha = getattr(self, "alpha", None)
        return vector.record("bbox", [[left, top], [right, top], [right, bottom], [left, bottom]],
                             colour_start=c0, colour_end=c2, opacity=row[alpha] if isinstance(alpha, int) else None)

    def params_from_record(self, record: dict, width: float, height: float) -> list[float]:
        """Inverse of ``stroke_record`` for an output of ``width x height`` units: the stroke's
        ``d`` parameters (before clipping to [0, 1]). Default: not invertible."""
        raise NotImplementedError(f"{self.name} strokes cannot be rebuilt from a stroke list")

    # ---- sampling ---------------------------------------------------------------------------
    def sample(self, n: int, generator=None) -> Tensor:
        """``(n, d)`` random strokes for renderer training: every parameter uniform in [0, 1]."""
        return torch.rand(n, self.n_params, generator=generator)

    def sample_painting(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``(n, d)`` strokes sized like a real painting (about 2 % to 30 % of the canvas,
        log-uniform), ordered largest first."""
        raise NotImplementedError

    def init_strokes(self, centres: Tensor, colours: Tensor, sizes: Tensor,
                     generator: torch.Generator | None = None) -> Tensor:
        """``(n, d)`` strokes to start an optimisation from: centred at ``centres (n, 2)`` (x, y as
        canvas fractions), painted in ``colours (n, 3)``, about ``sizes (n,)`` long (fractions of the
        canvas's longer side), fully opaque, with random direction. All on the inputs' device."""
        raise NotImplementedError

    # ---- moving strokes between a block and the canvas ---------------------------------------
    def keep_for_canvas_(self, params: Tensor, fraction: float) -> Tensor:
        """Project, in place, strokes ``params (..., d)`` of a region whose longer side is
        ``fraction`` of the canvas's onto those that ``to_canvas`` moves to the canvas without
        clamping a parameter (so the painter optimises the stroke the canvas will show); returns
        them. Default: nothing to do (lengths scale linearly)."""
        return params

    def to_canvas(self, params: Tensor, box: tuple[int, int, int, int], height: int, width: int) -> Tensor:
        """Map strokes drawn in block-local coordinates to canvas coordinates.

        ``box = (top, left, h, w)`` is the block in canvas pixels; ``params`` are relative to the
        block as if it were a canvas of size ``h x w``. Returns ``(B, d)`` relative to the canvas
        (lengths may leave [0, 1] when the block is bigger than the canvas, which it never is).
        """
        top, left, bh, bw = box
        out = params.clone()
        xi, yi, li = list(self.x_indices), list(self.y_indices), list(self.length_indices)
        out[:, xi] = (left + params[:, xi] * bw) / width
        out[:, yi] = (top + params[:, yi] * bh) / height
        out[:, li] = params[:, li] * (max(bh, bw) / max(height, width))
        return out


def pixel_ranges(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """``(N, 4)`` float boxes -> int64 ``top, left, bottom, right`` pixel ranges, clipped to the
    canvas (empty ranges have ``bottom <= top`` or ``right <= left``)."""
    b = np.asarray(boxes, np.float64)
    out = np.stack([np.clip(np.floor(b[:, 0]), 0, height), np.clip(np.floor(b[:, 1]), 0, width),
                    np.clip(np.ceil(b[:, 2]), 0, height), np.clip(np.ceil(b[:, 3]), 0, width)], 1)
    return out.astype(np.int64)
