"""Strokes composited on a grid of small square cells: the painter's differentiable compositor.

A canvas is cut into ``cell x cell`` cells (``CELL`` pixels a side). Each stroke is rendered only on the cells its
bounding box reaches (and, where the stroke type can tell, only on those it may touch): one
batched engine call renders every (stroke, cell) pair of a painting, so the work is about the
area the strokes cover. The pairs are sorted by cell and, inside a cell, by painting order, and
compositing in order becomes a sum over the pairs with no loop over strokes:

    canvas = background * T_all + sum_k colour_k * alpha_k * T_after(k)

where ``T_after(k)`` is the product of ``1 - alpha`` over the later strokes in the same cell and
``T_all`` over all of them. The products are exponentials of a running sum of ``log(1 - alpha)``
(in float64): ``T_after(k) = exp(S[last of k's cell] - S[k])`` with ``S`` the cumulative sum over
all pairs. Alpha is held below ``1 - ALPHA_CAP`` inside the logarithm, so a fully opaque stroke
lets ``1e-6`` of what is below through.

Several canvases of the same size (the painter's blocks) share one layout: each stroke names its
canvas, and cells are numbered canvas by canvas.

On CPU tensors the compiled kernels (``neuralpaint.kernels``) do the work, wrapped here as autograd
ops (``kernel_cells`` renders a stroke type's cells, ``composite_cells`` composites them); elsewhere
the tensor code below, which the tests hold the kernels to. ``kernels.serves`` decides.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .. import kernels
from ..kernels import boxes as box_kernels
from ..kernels import compositor

ALPHA_CAP = 1e-6  # 1 - alpha is at least this inside log(1 - alpha)
CELL = 4  # the painter's cell side in pixels (2 and 8 were slower: docs/benchmarks.md)


@dataclass(frozen=True)
class CellLayout:
    """Which stroke is rendered on which cell, sorted by cell and then by painting order.

    ``rows (T,)``: the stroke of each pair; ``cells (T,)``: its cell (``canvas * ch * cw + y * cw
    + x``), ascending; ``origins (T, 2)``: the cell's ``(top, left)`` pixel in its canvas;
    ``first (K,)``: the index of the first pair of each cell that has any; ``run (T,)``: which of
    those ``K`` cells each pair is in; ``start``, ``last (T,)``: the index of the first and the last
    pair of each pair's cell. ``grid = (canvases, ch, cw)``; ``cell``: cell side in pixels.
    """

    rows: Tensor
    cells: Tensor
    origins: Tensor
    first: Tensor
    run: Tensor
    start: Tensor
    last: Tensor
    grid: tuple[int, int, int]
    cell: int

    def __len__(self) -> int:
        return self.rows.shape[0]


def _runs(cells: Tensor) -> dict[str, Tensor]:
    """For sorted ``cells (T,)``: ``first``, ``run``, ``start`` and ``last`` of ``CellLayout``."""
    starts = torch.ones_like(cells, dtype=torch.bool)
    starts[1:] = cells[1:] != cells[:-1]
    first = starts.nonzero(as_tuple=True)[0]
    run = starts.cumsum(0) - 1
    ends = torch.cat([first[1:], first.new_full((1,), cells.shape[0])]) - 1
    return dict(first=first, run=run, start=first.index_select(0, run), last=ends.index_select(0, run))


def _box_pairs(boxes: Tensor, height: int, width: int, cell: int,
               include: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Every (stroke, cell) pair of the boxes, stroke by stroke: ``rows, y, x`` (cell row and
    column), each ``(T,)``; strokes where ``include (N,)`` is False get none."""
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be (N, 4), got {tuple(boxes.shape)}")
    if cell < 1 or height < 1 or width < 1:
        raise ValueError(f"cell size and canvas size must be positive, got cell {cell}, {height}x{width}")
    N, device = boxes.shape[0], boxes.device
    top, left = boxes[:, 0].clamp(0, height), boxes[:, 1].clamp(0, width)
    bottom, right = boxes[:, 2].clamp(0, height), boxes[:, 3].clamp(0, width)
    y0, x0 = (top / cell).floor().long(), (left / cell).floor().long()
    ny = ((bottom / cell).ceil().long() - y0).clamp_min(0)
    nx = ((right / cell).ceil().long() - x0).clamp_min(0)
    some = (bottom > top) & (right > left)
    if include is not None:
        some = some & include.to(device)
    if kernels.serves(boxes):
        zero = torch.zeros_like(ny)
        pairs = compositor.box_pairs(y0.numpy(), x0.numpy(), torch.where(some, ny, zero).numpy(),
                                     torch.where(some, nx, zero).numpy())
        return tuple(torch.from_numpy(a) for a in pairs)
    counts = torch.where(some, ny * nx, 0)
    rows = torch.repeat_interleave(torch.arange(N, device=device), counts)
    per_row = torch.stack([counts.cumsum(0) - counts, y0, x0, nx], 1).index_select(0, rows)
    k = torch.arange(rows.shape[0], device=device) - per_row[:, 0]
    return rows, per_row[:, 1] + k // per_row[:, 3], per_row[:, 2] + k % per_row[:, 3]


def _layout(rows: Tensor, y: Tensor, x: Tensor, canvas: Tensor | None, canvases: int, height: int,
            width: int, cell: int) -> CellLayout:
    """The pairs ``rows, y, x`` (in stroke order) sorted by cell: a ``CellLayout``."""
    ch, cw = -(-height // cell), -(-width // cell)
    cells = y * cw + x
    if canvas is not None:
        if canvas.dim() != 1:
            raise ValueError(f"canvas must be (N,), got {tuple(canvas.shape)}")
        cells = cells + canvas.to(cells.device).index_select(0, rows) * (ch * cw)
    if cells.device.type == "cpu" and kernels.enabled():  # a counting sort, with the runs
        sorted_ = compositor.sort_pairs(rows.contiguous().numpy(), cells.contiguous().numpy(), canvases * ch * cw)
        order, first, run, start, last = (torch.from_numpy(a) for a in sorted_)
        runs = dict(first=first, run=run, start=start, last=last)
        cells = cells.index_select(0, order)
    else:
        cells, order = torch.sort(cells, stable=True)  # pairs come in stroke order: it stays inside a cell
        runs = _runs(cells)
    rows, origins = rows.index_select(0, order), torch.stack([y, x], 1).index_select(0, order) * cell
    return CellLayout(rows=rows, cells=cells, origins=origins, **runs, grid=(canvases, ch, cw), cell=cell)


def cell_layout(boxes: Tensor, height: int, width: int, cell: int, canvas: Tensor | None = None,
                canvases: int = 1) -> CellLayout:
    """The (stroke, cell) pairs of strokes with bounding ``boxes (N, 4)`` (``top, left, bottom,
    right`` in pixels, unclipped) on ``height x width`` canvases cut into ``cell``-pixel cells.

    ``canvas (N,)`` (long): which of ``canvases`` canvases each stroke is on (all on one when
    ``None``). Strokes whose box misses the canvas get no pair."""
    rows, y, x = _box_pairs(boxes, height, width, cell)
    return _layout(rows, y, x, canvas, canvases, height, width, cell)


def stroke_cells(stroke, params: Tensor, height: int, width: int, cell: int, canvas: Tensor | None = None,
                 canvases: int = 1, include: Tensor | None = None) -> CellLayout:
    """``cell_layout`` of strokes ``params (N, d)`` of a stroke type, without the cells the
    stroke type can tell it does not touch (``StrokeType.cells_touched``) and without the strokes
    where ``include (N,)`` (bool) is False."""
    params = params.detach()
    rows, y, x = _box_pairs(stroke.bounding_boxes(params, height, width), height, width, cell, include)
    centres = torch.stack([y, x], 1).to(params.dtype) * cell + cell / 2
    touched = stroke.cells_touched(params.clamp(0.0, 1.0), rows, centres, (cell - 1) / 2, height, width)
    if touched is not None:
        keep = touched.nonzero(as_tuple=True)[0]
        rows, y, x = rows.index_select(0, keep), y.index_select(0, keep), x.index_select(0, keep)
    return _layout(rows, y, x, canvas, canvases, height, width, cell)


def _transmittance(alpha: Tensor, layout: CellLayout) -> tuple[Tensor, Tensor]:
    """``alpha (T, P)`` -> ``T_after (T, P)`` (through the later pairs of each pair's cell) and
    ``T_all (K, P)`` (through every pair of each occupied cell, ``layout.first`` order)."""
    # the running sum runs over every pair of every cell, so it is kept in float64; the differences
    # (sums over one cell) are small and go back to alpha's precision before the exponential
    S = torch.log1p(-alpha.clamp(max=1.0 - ALPHA_CAP)).double().cumsum(0)
    S_last = S.index_select(0, layout.last)
    after = (S_last - S).to(alpha.dtype).exp()
    # S just before each cell's first pair
    before_first = torch.cat([S.new_zeros(1, S.shape[1]), S]).index_select(0, layout.first)
    through = (S_last.index_select(0, layout.first) - before_first).to(alpha.dtype).exp()
    return after, through


def to_cells(images: Tensor, layout: CellLayout) -> Tensor:
    """``images (C, k, H, W)`` (one per canvas of the layout) cut into its cells:
    ``(C * ch * cw, k, cell * cell)``, zero beyond the images' right and bottom edges."""
    t, (_, ch, cw) = layout.cell, layout.grid
    C, k, H, W = images.shape
    cells = F.pad(images, (0, cw * t - W, 0, ch * t - H)).view(C, k, ch, t, cw, t)
    return cells.permute(0, 2, 4, 1, 3, 5).reshape(C * ch * cw, k, t * t)


class _CompositeCells(torch.autograd.Function):
    """``out = background * T_all + sum_k colour_k * w_k`` per cell, ``w_k = alpha_k * T_after(k)``,
    with a backward written out (autograd through the running sum takes twice the passes).
    ``colour (T, 3, P)``, ``alpha (T, P)``, ``background (M, 3, P)`` (every cell of the layout's
    grid, ``to_cells``) -> ``(M, 3, P)``.

    For a cell's pair ``k`` (``g``: the gradient of its cell, ``gw_k = sum_rgb g * colour_k``):
    ``d/d colour_k = g * w_k``, and since ``log(1 - alpha_k)`` enters ``T_after`` of every earlier
    pair of the cell and ``T_all``, ``d/d alpha_k = gw_k * T_after(k) - R_k / (1 - alpha_k)`` with
    ``R_k = sum_{j < k} gw_j * w_j + (sum_rgb g * background) * T_all`` (an exclusive running sum
    inside the cell; zero where alpha is held at the cap)."""

    @staticmethod
    def forward(ctx, colour: Tensor, alpha: Tensor, background: Tensor, layout: CellLayout) -> Tensor:
        after, through = _transmittance(alpha, layout)
        weight = alpha * after
        occupied = layout.cells.index_select(0, layout.first)
        shown = torch.ones_like(background[:, :1]).index_copy(0, occupied, through[:, None])
        out = (background * shown).index_add(0, layout.cells, colour * weight[:, None])
        ctx.layout = layout
        ctx.save_for_backward(colour, alpha, background, after, weight, through, shown)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        colour, alpha, background, after, weight, through, shown = ctx.saved_tensors
        layout = ctx.layout
        g = grad.index_select(0, layout.cells)  # (T, 3, P)
        grad_colour = g * weight[:, None] if ctx.needs_input_grad[0] else None
        gw = (g * colour).sum(1)  # (T, P)
        # the exclusive running sum of gw * w inside each cell (float64: it runs over every cell)
        Q = torch.cat([gw.new_zeros(1, gw.shape[1], dtype=torch.float64), (gw * weight).double().cumsum(0)])
        below = (Q[:-1] - Q.index_select(0, layout.start)).to(alpha.dtype)
        occupied = layout.cells.index_select(0, layout.first)
        behind = ((grad.index_select(0, occupied) * background.index_select(0, occupied)).sum(1) * through)
        below = below + behind.index_select(0, layout.run)
        open_ = alpha < 1.0 - ALPHA_CAP
        grad_alpha = gw * after - torch.where(open_, below / (1.0 - alpha).clamp_min(ALPHA_CAP), 0.0)
        grad_background = grad * shown if ctx.needs_input_grad[2] else None
        return grad_colour, grad_alpha, grad_background, None


def composite_cells(colour: Tensor, alpha: Tensor, layout: CellLayout, background: Tensor) -> Tensor:
    """Pairs ``colour (T, 3, t, t)``, ``alpha (T, 1, t, t)`` of ``layout`` composited in painting
    order over ``background``: ``(3, H, W)`` for one canvas or ``(C, 3, H, W)`` for ``C``.
    Returns the same shape; differentiable in the cells' strokes and the background."""
    T, t = len(layout), layout.cell
    canvases, ch, cw = layout.grid
    if colour.shape != (T, 3, t, t) or alpha.shape != (T, 1, t, t):
        raise ValueError(f"expected colour ({T}, 3, {t}, {t}) and alpha ({T}, 1, {t}, {t}), "
                         f"got {tuple(colour.shape)} and {tuple(alpha.shape)}")
    single = background.dim() == 3
    bg = background[None] if single else background
    C, _, H, W = bg.shape
    if C != canvases or H > ch * t or W > cw * t or H <= (ch - 1) * t or W <= (cw - 1) * t:
        raise ValueError(f"background {tuple(background.shape)} does not fit the layout's grid {layout.grid} "
                         f"of {t}-pixel cells")
    P = t * t
    cells_bg = to_cells(bg, layout).to(alpha.dtype)
    if kernels.serves(colour, alpha, cells_bg):
        end = torch.cat([layout.first[1:], layout.first.new_full((1,), T)])
        out = _KernelComposite.apply(colour.reshape(T, 3, P), alpha.reshape(T, P), cells_bg, layout.cells,
                                     layout.first, end)
    else:
        out = _CompositeCells.apply(colour.reshape(T, 3, P), alpha.reshape(T, P), cells_bg, layout)
    out = out.view(C, ch, cw, 3, t, t).permute(0, 3, 1, 4, 2, 5).reshape(C, 3, ch * t, cw * t)[:, :, :H, :W]
    return out[0] if single else out


@torch.no_grad()
def visible_alpha(alpha: Tensor, layout: CellLayout, n: int, inside: Tensor | None = None) -> Tensor:
    """How many pixels of each of ``n`` strokes show in the finished picture: alpha times the
    transmittance of every later stroke, summed over ``alpha (T, 1, t, t)``; with ``inside
    (C, 1, H, W)`` (one weight per pixel of each canvas) only where it is set. Returns ``(n,)``."""
    a = alpha.reshape(len(layout), -1)
    after, _ = _transmittance(a, layout)
    shown = a * after
    if inside is not None:
        shown = shown * to_cells(inside, layout)[:, 0].index_select(0, layout.cells)
    return a.new_zeros(n).index_add(0, layout.rows, shown.sum(1))


# ---- the compiled kernels as autograd ops (CPU tensors; ``kernels.serves``) -----------------------

class _KernelComposite(torch.autograd.Function):
    """``kernels.compositor``'s ordered compositing per cell, exact (no cap on alpha), with its
    backward: ``colour (T, 3, P)``, ``alpha (T, P)``, ``background (M, 3, P)`` -> ``(M, 3, P)``."""

    @staticmethod
    def forward(ctx, colour: Tensor, alpha: Tensor, background: Tensor, cells: Tensor, first: Tensor,
                end: Tensor) -> Tensor:
        colour, alpha, background = colour.contiguous(), alpha.contiguous(), background.contiguous()
        out = background.clone()
        below = torch.empty_like(colour)
        compositor.composite_forward(_np(colour), _np(alpha), _np(background), _np(cells), _np(first), _np(end),
                                     out.numpy(), below.numpy())
        ctx.save_for_backward(colour, alpha, below, cells, first, end)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        colour, alpha, below, cells, first, end = ctx.saved_tensors
        grad = grad.contiguous().to(alpha.dtype)
        grad_colour, grad_alpha = torch.empty_like(colour), torch.empty_like(alpha)
        grad_background = grad.clone()
        compositor.composite_backward(_np(colour), _np(alpha), _np(below), _np(grad), _np(cells), _np(first),
                                      _np(end), grad_colour.numpy(), grad_alpha.numpy(), grad_background.numpy())
        return grad_colour, grad_alpha, grad_background, None, None, None


class _KernelCells(torch.autograd.Function):
    """A stroke type's cell kernels (``kernels.boxes.cells_forward`` / ``cells_backward``) as a
    differentiable op on its params (see ``kernel_cells``). The kernels read the kernel family's
    layout, gathered from the params by ``columns``; the gradient is scattered back to them."""

    @staticmethod
    def forward(ctx, params: Tensor, rows: Tensor, origins: Tensor, height: int, width: int, cell: int,
                kernel: str, columns: Tensor, extra: tuple):
        fields = params.index_select(1, columns).contiguous()
        T, P = rows.shape[0], cell * cell
        colour, alpha = params.new_empty(T, 3, P), params.new_empty(T, P)
        box_kernels.cells_forward(kernel, _np(fields), _np(rows), _np(origins), height, width, cell, extra,
                                  colour.numpy(), alpha.numpy())
        ctx.save_for_backward(fields, rows, origins, columns)
        ctx.setup = params.shape, height, width, cell, kernel, extra
        return colour, alpha

    @staticmethod
    def backward(ctx, grad_colour: Tensor, grad_alpha: Tensor):
        fields, rows, origins, columns = ctx.saved_tensors
        shape, height, width, cell, kernel, extra = ctx.setup
        T, P = rows.shape[0], cell * cell
        grad_colour = fields.new_zeros(T, 3, P) if grad_colour is None else grad_colour.contiguous()
        grad_alpha = fields.new_zeros(T, P) if grad_alpha is None else grad_alpha.contiguous()
        per_pair = fields.new_empty(T, fields.shape[1])
        box_kernels.cells_backward(kernel, _np(fields), _np(rows), _np(origins), height, width, cell, extra,
                                   _np(grad_colour), _np(grad_alpha), per_pair.numpy())
        grad_fields = torch.zeros_like(fields).index_add_(0, rows, per_pair)
        grad = fields.new_zeros(shape).index_add_(1, columns, grad_fields)
        return grad, None, None, None, None, None, None, None, None


def kernel_cells(stroke, params: Tensor, rows: Tensor, origins: Tensor, height: int, width: int,
                 cell: int) -> tuple[Tensor, Tensor]:
    """Strokes ``params (N, d)`` (in [0, 1], a CPU float tensor) of a stroke type with a cell
    kernel (``stroke.cell_kernel``) on ``cell x cell`` squares: stroke ``rows[k]`` on the square at
    ``origins[k]`` (``(T, 2)``, top, left) of a ``height x width`` canvas -> ``colour (T, 3, cell *
    cell)``, ``alpha (T, cell * cell)``; the same pixels as ``stroke.render`` with a window,
    differentiable in ``params``."""
    columns = torch.from_numpy(stroke.kernel_columns)
    extra = stroke.kernel_extra(np.float32 if params.dtype == torch.float32 else np.float64)
    return _KernelCells.apply(params, rows.contiguous(), origins.to(torch.int64).contiguous(), height, width,
                              cell, stroke.cell_kernel, columns, extra)


def _np(t: Tensor):
    return t.detach().contiguous().numpy()
