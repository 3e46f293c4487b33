"""Joint refinement of every stroke of a painting at once, over the whole canvas.

Each stroke is rendered only inside a window around its bounding box (windows are grouped by size
so each group renders in one batched call), and the windows are composited in painting order, so
a step costs about the area the strokes cover rather than strokes x canvas. Gradients then flow
across block borders and between levels: strokes of different blocks and levels adjust to each
other, which removes what seams remain and lifts quality. The loss is pixel L2 (what PSNR
measures), and strokes that end up hidden under later ones restart on top where the painting is
furthest from the photo, so every stroke of the budget shows.
"""
from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import Tensor

from ..compositing import blank_canvas
from ..optim import Adam
from ..strokes import StrokeType
from .losses import PIXEL_LOSSES, error_map
from .starts import strokes_from_error

BUCKETS = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)  # window sides (pixels)


def _windows(stroke: StrokeType, params: Tensor, height: int, width: int) -> tuple[Tensor, Tensor]:
    """Per stroke: the window side (a bucket) and its integer ``(top, left)``; ``(N,)`` and ``(N, 2)``."""
    boxes = stroke.bounding_boxes(params.detach(), height, width)
    top, left = boxes[:, 0].clamp(0, height), boxes[:, 1].clamp(0, width)
    bottom, right = boxes[:, 2].clamp(0, height), boxes[:, 3].clamp(0, width)
    side = torch.maximum(bottom - top, right - left).ceil().clamp_min(1)
    buckets = torch.tensor(BUCKETS, device=params.device, dtype=side.dtype)
    choice = torch.searchsorted(buckets, side).clamp(max=len(BUCKETS) - 1)
    sides = buckets[choice]
    corner = torch.stack([top.floor(), left.floor()], dim=1)
    return sides.long(), corner.long()


class _CompositeWindows(torch.autograd.Function):
    """Strokes rendered in square windows, composited in order over a canvas.

    Autograd through a chain of N whole-canvas updates costs N canvas-sized tensors each way;
    this op works in place and touches only the windows. Forward keeps each window's content
    from before its stroke (the sum of window areas), and backward walks the strokes in reverse:
    for ``out = before + a * (c - before)``, ``dc = g * a``, ``da = sum_rgb g * (c - before)``,
    and the gradient passed on to earlier strokes is ``g * (1 - a)``.
    """

    @staticmethod
    def forward(ctx, background: Tensor, order: list, pad: int, *windows: Tensor) -> Tensor:
        _, H, W = background.shape
        canvas = F.pad(background.detach(), (0, pad, 0, pad))
        befores = []
        for group, k, top, left, side in order:
            colour, alpha = windows[2 * group][k], windows[2 * group + 1][k]
            window = canvas[:, top : top + side, left : left + side]
            befores.append(window.clone())
            window.lerp_(colour, alpha)
        ctx.order, ctx.pad, ctx.befores, ctx.size = order, pad, befores, (H, W)
        ctx.save_for_backward(*windows)
        return canvas[:, :H, :W].clone()

    @staticmethod
    def backward(ctx, grad: Tensor):
        windows = ctx.saved_tensors
        H, W = ctx.size
        g = F.pad(grad, (0, ctx.pad, 0, ctx.pad))
        grads = [torch.zeros_like(t) for t in windows]
        for (group, k, top, left, side), before in zip(reversed(ctx.order), reversed(ctx.befores)):
            colour, alpha = windows[2 * group][k], windows[2 * group + 1][k]
            gw = g[:, top : top + side, left : left + side]
            torch.mul(gw, alpha, out=grads[2 * group][k])
            torch.sum(gw * (colour - before), 0, keepdim=True, out=grads[2 * group + 1][k])
            gw.sub_(grads[2 * group][k])  # g * (1 - a)
        grad_background = g[:, :H, :W] if ctx.needs_input_grad[0] else None
        return (grad_background, None, None, *grads)


def render_over(stroke: StrokeType, renderer, params: Tensor, background: Tensor) -> Tensor:
    """Differentiably composite strokes ``params (N, d)`` in order over ``background (3, H, W)``,
    each rendered only in its window. Returns ``(3, H, W)``."""
    _, H, W = background.shape
    if params.shape[0] == 0:
        return background
    sides, corners = _windows(stroke, params, H, W)
    windows, where = [], {}
    for group, side in enumerate(sides.unique().tolist()):
        idx = (sides == side).nonzero(as_tuple=True)[0]
        windows.extend(renderer.render_windows(params[idx], H, W, side, corners[idx]))
        for k, i in enumerate(idx.tolist()):
            where[i] = (group, k)
    order = [(*where[i], top, left, side)
             for i, ((top, left), side) in enumerate(zip(corners.tolist(), sides.tolist()))]
    return _CompositeWindows.apply(background, order, int(sides.max().item()), *windows)


@torch.no_grad()
def visible_areas(stroke: StrokeType, renderer, params: Tensor, height: int, width: int) -> Tensor:
    """Pixels of each stroke ``params (N, d)`` that show in the finished ``height x width``
    painting: its alpha times the transmittance of every later stroke, summed. Returns ``(N,)``."""
    N = params.shape[0]
    sides, corners = _windows(stroke, params, height, width)
    pad = int(sides.max().item())
    clear = torch.ones(height + pad, width + pad, device=params.device, dtype=params.dtype)
    alphas: list[Tensor | None] = [None] * N
    for side in sides.unique().tolist():
        idx = (sides == side).nonzero(as_tuple=True)[0]
        _, alpha = renderer.render_windows(params[idx], height, width, side, corners[idx])
        for k, i in enumerate(idx.tolist()):
            alphas[i] = alpha[k, 0]
    area = torch.zeros(N, device=params.device, dtype=params.dtype)
    for i in range(N - 1, -1, -1):
        top, left = corners[i].tolist()
        side = int(sides[i])
        window = clear[top : top + side, left : left + side]
        area[i] = (alphas[i] * window).sum()
        window.mul_(1 - alphas[i])
    return area


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


def refine(stroke: StrokeType, renderer, params: Tensor, photo: Tensor, canvas_colour, steps: int,
           lr: float, resolution: int, tick=None, loss: str = "l2", respawn_at: tuple[float, ...] = (),
           respawn_pixels: float = 4.0, respawn_size: float = 0.1, opacity: float = 0.4,
           generator: torch.Generator | None = None, constrain=None, feature=None,
           feature_weight: float = 1.0, pixel: bool = True) -> Tensor:
    """Optimise all strokes ``params (N, d)`` (canvas-relative) jointly for ``steps`` Adam steps
    against ``photo (3, H, W)``, rendered with the longer side ``resolution``, under the pixel
    loss ``loss`` (``l1`` or ``l2``). Returns new params (same count).

    At the fractions ``respawn_at`` of the steps (with a ``generator``), strokes that show on
    fewer than ``respawn_pixels`` pixels of the painting at ``resolution`` start again, moved to
    the top of the painting order (see ``respawn_on_top``; ``respawn_size`` and ``opacity`` are
    their length and opacity), with fresh optimiser state.

    ``constrain(params)``: projects the strokes in place after every step (opaque, minimum size,
    palette). ``feature``: a ``FeatureDistance`` added with ``feature_weight``; ``pixel=False``
    drops the pixel loss (painting against features only)."""
    if steps <= 0 or params.shape[0] == 0:
        return params
    _, H, W = photo.shape
    scale = min(1.0, resolution / max(H, W))
    h, w = max(1, round(H * scale)), max(1, round(W * scale))
    target = F.interpolate(photo[None], size=(h, w), mode="area")[0] if (h, w) != (H, W) else photo
    background = blank_canvas(h, w, canvas_colour, photo.device, photo.dtype)
    ones = torch.ones(1, 1, h, w, device=photo.device, dtype=photo.dtype)
    pixel_loss = PIXEL_LOSSES[loss]
    respawn = {round(f * steps) for f in respawn_at} - {0} if generator is not None else set()
    params = params.clone().requires_grad_(True)
    opt = Adam([params], lr=lr)
    for i in range(steps):
        painted = render_over(stroke, renderer, params, background)
        if i in respawn:
            lost = visible_areas(stroke, renderer, params.detach(), h, w) < respawn_pixels
            if lost.any():
                params = respawn_on_top(stroke, params.detach(), lost, painted.detach(), target, respawn_size,
                                        opacity, generator).requires_grad_(True)
                opt.replace(params, ~lost)  # the kept strokes keep their moments, the new ones start fresh
                painted = render_over(stroke, renderer, params, background)
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
        if tick is not None:
            tick(value.item())
    return params.detach()
