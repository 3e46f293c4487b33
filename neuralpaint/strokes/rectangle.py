"""``rectangle``: a rotated, filled rectangle of flat colour ("colour tape").

Parameters (9): ``xc, yc, w, h, theta, R, G, B, A``. The rectangle is centred at ``(xc, yc)``,
``w`` long along its own x-axis and ``h`` across, rotated by ``theta * pi`` (clockwise on screen,
since y points down). Edges are box-filtered over one pixel; a zero width or height draws nothing.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .. import kernels
from ..arrays import namespace, to_numpy, torch
from ..kernels import boxes as box_kernels
from . import vector
from .base import PixelGrid, StrokeType, box_coverage, log_uniform
from .vector import hex_colour, num, point

if TYPE_CHECKING:
    from torch import Tensor
from .registry import register


def rotated_frame(
    params_xy: Tensor, theta: Tensor, grid: PixelGrid
) -> tuple[Tensor, Tensor]:
    """Coordinates ``(u, v)`` of every pixel in a stroke's own frame, in pixels.

    ``params_xy (B, 2)``: centre as canvas fractions; ``theta (B,)`` in [0, 1] (angle / pi).
    Returns ``u, v`` of shape ``(B, h, w)``: ``u`` along the stroke's direction, ``v`` across.
    """
    B = params_xy.shape[0]
    cx = (params_xy[:, 0] * grid.width).view(B, 1, 1)
    cy = (params_xy[:, 1] * grid.height).view(B, 1, 1)
    angle = theta * math.pi
    cos, sin = torch.cos(angle).view(B, 1, 1), torch.sin(angle).view(B, 1, 1)
    dx, dy = grid.xs - cx, grid.ys - cy  # (B, 1, w), (B, h, 1)
    u = dx * cos + dy * sin
    v = dy * cos - dx * sin
    return u, v


def rotated_box_bounds(params, height: int, width: int):
    """``(B, 4)`` bounds ``(top, left, bottom, right)`` of rotated boxes whose first five
    parameters are ``xc, yc, w, h, theta`` (one pixel of margin for the anti-aliased edge).
    ``params``: numpy array or tensor; the bounds are the same kind."""
    xp = namespace(params)
    S = max(height, width)
    cx, cy = params[:, 0] * width, params[:, 1] * height
    half_l, half_t = params[:, 2] * S / 2, params[:, 3] * S / 2
    angle = params[:, 4] * math.pi
    c, s = xp.abs(xp.cos(angle)), xp.abs(xp.sin(angle))
    ex = half_l * c + half_t * s + 1.0
    ey = half_l * s + half_t * c + 1.0
    return xp.stack([cy - ey, cx - ex, cy + ey, cx + ex], 1)


def rotated_box_touches(params: Tensor, rows: Tensor, centres: Tensor, half: float, height: int,
                        width: int) -> Tensor:
    """``(T,)`` bool: the rotated box of stroke ``params[rows[k]]`` (``params (N, >=5)``: ``xc, yc,
    w, h, theta``), grown by half a pixel for the box-filtered edge, meets the square ``centres[k]
    +- half`` (``centres (T, 2)``, ``y, x`` pixels). Separating axes: the canvas's two and the
    box's two; never wrongly ``False``. The box's terms are computed once per stroke."""
    S = max(height, width)
    angle = params[:, 4] * math.pi
    cos, sin = torch.cos(angle), torch.sin(angle)
    hl, ht = params[:, 2] * (S / 2) + 0.5 + 1e-3, params[:, 3] * (S / 2) + 0.5 + 1e-3
    ac, as_ = cos.abs(), sin.abs()
    per_stroke = torch.stack([params[:, 0] * width, params[:, 1] * height, cos, sin, hl + half * (ac + as_),
                              ht + half * (ac + as_), half + hl * ac + ht * as_, half + hl * as_ + ht * ac], 1)
    if kernels.serves(per_stroke, centres):
        out = np.empty(rows.shape[0], np.bool_)
        box_kernels.box_touches(to_numpy(per_stroke, np.float64), to_numpy(rows), to_numpy(centres, np.float64), out)
        return torch.from_numpy(out)
    cx, cy, cos, sin, reach_u, reach_v, reach_x, reach_y = per_stroke.index_select(0, rows).unbind(1)
    dx, dy = centres[:, 1] - cx, centres[:, 0] - cy
    return (((dx * cos + dy * sin).abs() <= reach_u) & ((dy * cos - dx * sin).abs() <= reach_v)
            & (dx.abs() <= reach_x) & (dy.abs() <= reach_y))


def sample_rotated_boxes(n: int, generator, aspect: tuple[float, float]) -> Tensor:
    """``(n, 5)`` ``xc, yc, w, h, theta`` for a painting: lengths log-uniform in 2 %..30 % of the
    canvas, breadth ``w / aspect`` with aspect in ``aspect``, largest first."""
    length = log_uniform(n, 0.02, 0.30, generator).sort(descending=True).values
    ratio = torch.empty(n).uniform_(*aspect, generator=generator)
    pos = torch.rand(n, 2, generator=generator)
    theta = torch.rand(n, 1, generator=generator)
    return torch.cat([pos, length[:, None], (length / ratio)[:, None], theta], dim=1)


def init_rotated_boxes(centres: Tensor, sizes: Tensor, generator,
                       aspect: tuple[float, float]) -> Tensor:
    """``(n, 5)`` ``xc, yc, w, h, theta`` at ``centres``, ``sizes`` long, breadth ``w / aspect``."""
    n = centres.shape[0]
    u = torch.rand(n, 2, generator=generator).to(centres.device)
    ratio = aspect[0] + (aspect[1] - aspect[0]) * u[:, 0]
    return torch.stack([centres[:, 0], centres[:, 1], sizes, sizes / ratio, u[:, 1]], dim=1).clamp(0, 1)


def rotated_box_record(frame: vector.StrokeFrame, xc, yc, w, h, theta, c0, c2, opacity) -> dict:
    """The ``box`` stroke-list record of a rotated box ``xc, yc, w, h, theta`` (parameters): its
    corners start-left, end-left, end-right, start-right in output units, breadth, length, angle."""
    centre = np.array([xc * frame.width, yc * frame.height]) * frame.scale
    length, breadth = w * frame.side * frame.scale, h * frame.side * frame.scale
    angle = theta * math.pi
    along = np.array([math.cos(angle), math.sin(angle)])
    across = np.array([-along[1], along[0]])
    corners = [centre + su * 0.5 * length * along + sv * 0.5 * breadth * across
               for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    return vector.record("box", np.array(corners), width_start=breadth, width_end=breadth, length=length,
                         angle=theta * 180.0, colour_start=c0, colour_end=c2, opacity=opacity)


def rotated_box_from_record(rec: dict, width: float, height: float) -> dict[str, float]:
    """Inverse of ``rotated_box_record`` in an output of ``width x height`` units:
    ``{xc, yc, w, h, theta}``."""
    side = max(width, height)
    centre = np.asarray(rec["points"], dtype=np.float64).mean(axis=0) / [width, height]
    return {"xc": centre[0], "yc": centre[1], "w": rec["length"] / side, "h": rec["width_start"] / side,
            "theta": rec["angle"] / 180.0}


@register
class Rectangle(StrokeType):
    name = "rectangle"
    param_names = ("xc", "yc", "w", "h", "theta", "R", "G", "B", "A")
    shape = slice(0, 5)
    colour = slice(5, 8)
    alpha = 8
    x_indices = (0,)
    y_indices = (1,)
    length_indices = (2, 3)
    refine_steps = 300  # the cheapest engine: more refinement fits in the same time
    kernel_fields = ("xc", "yc", "w", "h", "theta", "R", "G", "B", "R", "G", "B", "A")  # kernels.boxes.FIELDS
    cell_kernel = "rectangle"

    def _render(self, params: Tensor, grid: PixelGrid) -> tuple[Tensor, Tensor]:
        B = params.shape[0]
        S = grid.scale
        u, v = rotated_frame(params[:, 0:2], params[:, 4], grid)
        half_l = (params[:, 2] * (S / 2)).view(B, 1, 1)
        half_t = (params[:, 3] * (S / 2)).view(B, 1, 1)
        cover = box_coverage(u, half_l) * box_coverage(v, half_t)  # (B, h, w)
        alpha = cover.unsqueeze(1) * params[:, 8].view(B, 1, 1, 1)
        colour = params[:, 5:8].view(B, 3, 1, 1).expand(B, 3, *cover.shape[1:])
        return colour, alpha

    def _paint_kernel(self, fields, boxes, canvas, top, height, width):
        box_kernels.paint_boxes("rectangle", fields, boxes, canvas, top, height, width)

    def bounding_boxes(self, params, height: int, width: int):
        return rotated_box_bounds(params, height, width)

    def cells_touched(self, params: Tensor, rows: Tensor, centres: Tensor, half: float, height: int,
                      width: int) -> Tensor:
        return rotated_box_touches(params, rows, centres, half, height, width)

    def init_strokes(self, centres: Tensor, colours: Tensor, sizes: Tensor,
                     generator=None) -> Tensor:
        shape = init_rotated_boxes(centres, sizes, generator, aspect=(1.0, 3.0))
        return torch.cat([shape, colours, torch.ones_like(sizes)[:, None]], dim=1)

    def sample_painting(self, n: int, generator=None) -> Tensor:
        shape = sample_rotated_boxes(n, generator, aspect=(1.0, 4.0))
        rest = torch.rand(n, 4, generator=generator)
        rest[:, 3] = rest[:, 3] * 0.4 + 0.6  # alpha 0.6..1
        return torch.cat([shape, rest], dim=1)

    # ---- vector forms -------------------------------------------------------------------------
    def svg_element(self, doc: vector.SvgDocument, i: int) -> str:
        """A ``<rect>`` rotated by ``theta * 180`` degrees (clockwise on screen)."""
        row = doc.params[i]
        xc, yc, w, h, theta, a = self.fields(row, "xc", "yc", "w", "h", "theta", "A")
        half_l, half_t = w * doc.side / 2, h * doc.side / 2
        return (f'<rect id="s{i}" x="{num(-half_l)}" y="{num(-half_t)}" width="{num(2 * half_l)}" '
                f'height="{num(2 * half_t)}" transform="translate({point((xc * doc.width, yc * doc.height))}) '
                f'rotate({num(theta * 180, 4)})" fill="{hex_colour(self.fields(row, "R", "G", "B"))}" '
                f'fill-opacity="{num(a, 4)}"/>')

    def stroke_record(self, frame: vector.StrokeFrame, row: np.ndarray) -> dict:
        colour = self.fields(row, "R", "G", "B")
        return rotated_box_record(frame, *self.fields(row, "xc", "yc", "w", "h", "theta"), colour, colour,
                                  self.field(row, "A"))

    def params_from_record(self, record: dict, width: float, height: float) -> list[float]:
        r, g, b = vector.rgb_from_hex(record["colour_start"], f"stroke {record.get('index')}")
        values = rotated_box_from_record(record, width, height) | {"R": r, "G": g, "B": b, "A": record["opacity"]}
        return [values[n] for n in self.param_names]
