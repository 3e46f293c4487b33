"""Joint refinement of every stroke of a painting at once, over the whole canvas.

Each stroke is rendered only inside a window around its bounding box (windows are grouped by size
so each group renders in one batched call), and the windows are composited in painting order, so
a step costs about the area the strokes cover rather than strokes x canvas. Gradients then flow
across block borders and between levels: strokes of different blocks and levels adjust to each
other, which removes what seams remain and lifts quality.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..canvas import blank_canvas
from ..strokes import StrokeType
from .losses import masked_l1

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
            window.add_(alpha * (colour - window))
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
            grads[2 * group][k] = gw * alpha
            grads[2 * group + 1][k] = (gw * (colour - before)).sum(0, keepdim=True)
            gw.mul_(1 - alpha)
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


def refine(stroke: StrokeType, renderer, params: Tensor, photo: Tensor, canvas_colour, steps: int,
           lr: float, resolution: int, tick=None) -> Tensor:
    """Optimise all strokes ``params (N, d)`` (canvas-relative) jointly for ``steps`` Adam steps
    against ``photo (3, H, W)``, rendered with the longer side ``resolution``. Returns new params."""
    if steps <= 0 or params.shape[0] == 0:
        return params
    _, H, W = photo.shape
    scale = min(1.0, resolution / max(H, W))
    h, w = max(1, round(H * scale)), max(1, round(W * scale))
    target = F.interpolate(photo[None], size=(h, w), mode="area")[0] if (h, w) != (H, W) else photo
    background = blank_canvas(h, w, canvas_colour, photo.device, photo.dtype)
    ones = torch.ones(1, 1, h, w, device=photo.device, dtype=photo.dtype)
    params = params.clone().requires_grad_(True)
    opt = torch.optim.Adam([params], lr=lr)
    for _ in range(steps):
        painted = render_over(stroke, renderer, params, background)
        loss = masked_l1(painted[None], target[None], ones)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            params.clamp_(0.0, 1.0)
        if tick is not None:
            tick(loss.item())
    return params.detach()
