"""Joint refinement of every stroke of a painting at once, over the whole canvas.

Each stroke is rendered only on the small cells of the canvas it reaches, all in one batched call,
and the cells are composited in painting order without a loop over strokes (``neuralpaint.canvas.cells``),
so a step costs about the area the strokes cover rather than strokes x canvas. Gradients then flow
across block borders and between levels: strokes of different blocks and levels adjust to each
other, which removes what seams remain and lifts quality. The loss is pixel L2 (what PSNR
measures), and strokes that end up hidden under later ones restart on top where the painting is
furthest from the photo, so every stroke of the budget shows.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ..canvas.compositing import blank_canvas
from ..canvas.render import render_painting
from ..optim import Adam
from ..strokes import StrokeType
from ..canvas.cells import CELL, composite_cells, stroke_cells, visible_alpha
from .losses import PIXEL_LOSSES, error_map
from .starts import strokes_from_error


def render_over(renderer, params: Tensor, background: Tensor, cell: int = CELL) -> Tensor:
    """Differentiably composite strokes ``params (N, d)`` of ``renderer.stroke`` in order over
    ``background (3, H, W)``, each rendered only on the ``cell``-pixel cells it reaches
    (``neuralpaint.canvas.cells``). Returns ``(3, H, W)``."""
    return draw_over(renderer, params, background, cell)[0]


def draw_over(renderer, params: Tensor, background: Tensor, cell: int = CELL) -> tuple[Tensor, Callable[[], Tensor]]:
    """``render_over``, and a function giving each stroke's pixels that show in that picture,
    ``(N,)`` (as ``visible_areas``, from the same render)."""
    _, H, W = background.shape
    if params.shape[0] == 0:
        return background, lambda: params.new_zeros(0)
    layout = stroke_cells(renderer.stroke, params, H, W, cell)
    colour, alpha = renderer.render_cells(params, layout.rows, H, W, cell, layout.origins)
    painted = composite_cells(colour, alpha, layout, background)
    return painted, lambda: visible_alpha(alpha.detach(), layout, params.shape[0])


@torch.no_grad()
def visible_areas(renderer, params: Tensor, height: int, width: int, cell: int = CELL) -> Tensor:
    """Pixels of each stroke ``params (N, d)`` (of ``renderer.stroke``) that show in the finished
    ``height x width`` painting: its alpha times the transmittance of every later stroke, summed.
    Returns ``(N,)``."""
    layout = stroke_cells(renderer.stroke, params, height, width, cell)
    _, alpha = renderer.render_cells(params, layout.rows, height, width, cell, layout.origins)
    return visible_alpha(alpha, layout, params.shape[0])


@torch.no_grad()
def respawn_on_top(stroke: StrokeType, params: Tensor, lost: Tensor, painted: Tensor, target: Tensor,
                   size: float, opacity: float, generator: torch.Generator) -> Tensor:
    """``params (N, d)`` with the ``lost (N,)`` strokes replaced by fresh ones painted last:
    centred where the blurred squared error of ``painted`` vs ``target`` (``(3, h, w)``) is
    largest, in the photo's colour there, ``size`` (a fraction of the longer side) times 1/3..2/3
    long, opacity ``opacity``. Returns ``(N, d)``: the kept strokes in order, then the new ones."""
    _, h, w = target.shape
    error = error_map(painted[None], target[None], sigma=max(0.5, 0.25 * size * max(h, w)))
    fresh = strokes_from_error(stroke, error.square() + 1e-6, target[None], int(lost.sum()), size, opacity,
                               generator, longest_first=False)[0]
    return torch.cat([params[~lost], fresh.to(params.dtype)])


def refine(renderer, params: Tensor, photo: Tensor, canvas_colour, steps: int,
           lr: float, resolution: int, tick=None, loss: str = "l2", respawn_at: tuple[float, ...] = (),
           respawn_pixels: float = 4.0, respawn_size: float = 0.1, opacity: float = 0.4,
           generator: torch.Generator | None = None, constrain=None, feature=None,
           feature_weight: float = 1.0, pixel: bool = True, optimizer: Adam | None = None,
           show=None, frozen: int = 0) -> Tensor:
    """Optimise all strokes ``params (N, d)`` (canvas-relative, of ``renderer.stroke``) jointly for
    ``steps`` Adam steps against ``photo (3, H, W)``, rendered through ``renderer`` with the longer
    side ``resolution``, under the pixel loss ``loss`` (``l1`` or ``l2``). Returns new params (same
    count).

    At the fractions ``respawn_at`` of the steps (with a ``generator``), strokes that show on
    fewer than ``respawn_pixels`` pixels of the painting at ``resolution`` start again, moved to
    the top of the painting order (see ``respawn_on_top``; ``respawn_size`` and ``opacity`` are
    their length and opacity), with fresh optimiser state.

    ``constrain(params)``: projects the strokes in place after every step (opaque, minimum size,
    palette). ``feature``: a ``FeatureDistance`` added with ``feature_weight``; ``pixel=False``
    drops the pixel loss (painting against features only). ``optimizer``: an ``Adam`` whose
    moments carry on from an earlier call (a video's frame after frame; ``lr`` is then its own);
    a fresh one by default. ``show(params)``: sees the strokes after every step, before ``tick``.

    ``frozen``: the first ``frozen`` strokes stay as they are; they are drawn once, by the stroke
    type's engine, into the canvas the others are optimised over (exact: they lie beneath every
    other stroke). The early levels' big strokes are most of a refinement's cells."""
    if steps <= 0 or params.shape[0] <= frozen:
        return params
    _, H, W = photo.shape
    scale = min(1.0, resolution / max(H, W))
    h, w = max(1, round(H * scale)), max(1, round(W * scale))
    target = F.interpolate(photo[None], size=(h, w), mode="area")[0] if (h, w) != (H, W) else photo
    background = blank_canvas(h, w, canvas_colour, photo.device, photo.dtype)
    still, params = params[:frozen].detach(), params[frozen:]
    if frozen:
        background = render_painting(renderer.stroke, still, h, w, canvas=background)
    ones = torch.ones(1, 1, h, w, device=photo.device, dtype=photo.dtype)
    pixel_loss = PIXEL_LOSSES[loss]
    respawn = {round(f * steps) for f in respawn_at} - {0} if generator is not None else set()
    params = params.clone().requires_grad_(True)
    if optimizer is None:
        opt = Adam([params], lr=lr)
    else:  # the same strokes, in the same order: every row keeps its moments
        opt = optimizer
        opt.replace(params, torch.ones(params.shape[0], dtype=torch.bool, device=params.device))
    for i in range(steps):
        painted, visible = draw_over(renderer, params, background)
        if i in respawn:
            lost = visible() < respawn_pixels
            if lost.any():
                params = respawn_on_top(renderer.stroke, params.detach(), lost, painted.detach(), target, respawn_size,
                                        opacity, generator).requires_grad_(True)
                opt.replace(params, ~lost)  # the kept strokes keep their moments, the new ones start fresh
                painted = render_over(renderer, params, background)
        value = pixel_loss(painted[None], target[None], ones) if pixel else painted.new_zeros(())
        if feature is not None:
            value = value + feature_weight * feature(painted[None], target[None])
        opt.zero_grad()
        value.backward()
        opt.step()
        with torch.no_grad():
            params.clamp_(0.0, 1.0)
            if constrain is not None:
                constrain(params)
        if show is not None:
            show(torch.cat([still, params]) if frozen else params)
        if tick is not None:
            tick(value.item())
    return torch.cat([still, params.detach()])
