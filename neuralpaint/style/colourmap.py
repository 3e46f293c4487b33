"""A painting whose strokes keep their shapes is an affine function of the strokes' colours.

Every engine draws ``colour = b + sum_j c_j W_j`` (``c``: the stroke's colour parameters; the
oil brush's bristle shading, a watercolour's blend along the curve are in ``b`` and ``W_j``) and an
alpha that does not depend on ``c``. With the alphas fixed, compositing in order,
``canvas = colour * alpha + canvas * (1 - alpha)``, makes the finished painting

    image = background * T_0 + sum_i (alpha_i * T_i) * colour_i,   T_i = prod_{j > i} (1 - alpha_j)

(``T_i``: how much of stroke ``i`` later strokes let through). ``ColourMap`` renders each stroke
once per colour parameter (plus once with all colours zero) in its own window, folds ``alpha_i * T_i``
into those renders and keeps them as sparse columns; afterwards rendering the painting for new
colours is one gather-multiply-add over the strokes' window pixels, a few milliseconds, and
exactly differentiable. This is what makes colour-only optimisation (``stylize`` colour and palette
modes) cheap: the engine's own backward pass, many times its forward, is never run.

Whether a renderer really is affine in the colours is checked on random colours when the map is
built, on the premultiplied colour ``colour * alpha`` that compositing uses (``ColourMap.build``
returns None when it is not, e.g. for a neural renderer; the caller then renders through the
painter's windowed compositor instead). The renders need no gradient, so an engine that is not
differentiable can build the map too: MyPaint (libmypaint) is affine in its brush colour up to its
16-bit surface's rounding.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

CHUNK_PIXELS = 1 << 20  # window pixels rendered per engine call
TOLERANCE = 1e-3  # largest error of the affine model (premultiplied colour, alpha) still counted as exact
# (a quarter of an 8-bit level; the differentiable engines are exact to ~1e-6, libmypaint to ~3e-4)


def stroke_windows(stroke, params: Tensor, height: int, width: int) -> tuple[Tensor, Tensor]:
    """Per stroke a square window covering its bounding box: ``sides (N,)`` (multiples of 8, at
    most the canvas's longer side rounded up) and ``corners (N, 2)`` integer ``(top, left)``."""
    boxes = stroke.bounding_boxes(params, height, width).detach()
    top, left = boxes[:, 0].clamp(0, height).floor(), boxes[:, 1].clamp(0, width).floor()
    bottom, right = boxes[:, 2].clamp(0, height).ceil(), boxes[:, 3].clamp(0, width).ceil()
    side = torch.maximum(bottom - top, right - left).clamp_min(1)
    side = (torch.ceil(side / 8) * 8).clamp(max=8 * math.ceil(max(height, width) / 8))
    return side.long(), torch.stack([top, left], dim=1).long()


class ColourMap:
    """``image = ColourMap(...)(colours (N, K))`` -> ``(3, height, width)``; see the module docstring.

    ``columns``: the ``K`` colour parameter columns of ``params``; every other parameter stays
    as in ``params`` (the map is built for those)."""

    def __init__(self, base: Tensor, basis: Tensor, index: Tensor, owner: Tensor, constant: Tensor,
                 columns: Tensor, height: int, width: int):
        self.base, self.basis, self.index, self.owner = base, basis, index, owner  # (3,P) (K,3,P) (P,) (P,)
        self.constant, self.columns, self.height, self.width = constant, columns, height, width  # (3, h*w)

    @classmethod
    @torch.no_grad()
    def build(cls, renderer, params: Tensor, columns: Tensor, height: int, width: int,
              background: Tensor, generator: torch.Generator | None = None) -> "ColourMap | None":
        """The map of the painting ``params (N, d)`` (strokes of ``renderer.stroke``) over
        ``background (3, height, width)``, or None when ``renderer`` is not affine in the
        ``columns`` (checked on random colours)."""
        N, K = params.shape[0], len(columns)
        device, dtype = params.device, params.dtype
        sides, corners = stroke_windows(renderer.stroke, params, height, width)
        alphas: list[Tensor | None] = [None] * N
        colour0: list[Tensor | None] = [None] * N
        slopes: list[Tensor | None] = [None] * N
        for side in sides.unique().tolist():
            members = (sides == side).nonzero(as_tuple=True)[0]
            per_call = max(1, CHUNK_PIXELS // (side * side * (K + 2)))
            for idx in members.split(per_call):
                n = idx.shape[0]
                probe = torch.rand(n, K, generator=generator).to(device=device, dtype=dtype)
                trials = params[idx].repeat(K + 2, 1)  # zero colours, one unit colour each, random colours
                trials[:, columns] = 0.0
                for j in range(K):
                    trials[(j + 1) * n : (j + 2) * n, columns[j]] = 1.0
                trials[(K + 1) * n :, columns] = probe
                colour, alpha = renderer.render_windows(trials, height, width, side, corners[idx].repeat(K + 2, 1))
                colour, alpha = colour.view(K + 2, n, 3, side, side), alpha.view(K + 2, n, 1, side, side)
                slope = colour[1 : K + 1] - colour[0]  # (K, n, 3, s, s)
                predicted = colour[0] + torch.einsum("nk,knchw->nchw", probe, slope)
                miss = ((predicted - colour[K + 1]) * alpha[K + 1]).abs().max()
                if miss > TOLERANCE or (alpha - alpha[0]).abs().max() > TOLERANCE:
                    return None
                for k, i in enumerate(idx.tolist()):
                    alphas[i], colour0[i], slopes[i] = alpha[0, k, 0], colour[0, k], slope[:, k]
        # transmittance, last stroke first; windows may run past the canvas: pad it
        pad = int(sides.max())
        clear = torch.ones(height + pad, width + pad, device=device, dtype=dtype)
        bases, basis, index, owner = [], [], [], []
        canvas_index = torch.arange((height + pad) * (width + pad), device=device).view(height + pad, width + pad)
        inside = torch.zeros(height + pad, width + pad, dtype=torch.bool, device=device)
        inside[:height, :width] = True
        for i in range(N - 1, -1, -1):
            top, left = corners[i].tolist()
            side = int(sides[i])
            window = clear[top : top + side, left : left + side]
            weight = alphas[i] * window  # (s, s)
            window.mul_(1 - alphas[i])
            keep = (inside[top : top + side, left : left + side] & (weight > 0)).flatten()
            w = weight.flatten()[keep]
            bases.append(colour0[i].flatten(1)[:, keep] * w)
            basis.append(slopes[i].flatten(2)[:, :, keep] * w)
            rows = canvas_index[top : top + side, left : left + side].flatten()[keep]
            index.append((rows // (width + pad)) * width + rows % (width + pad))
            owner.append(torch.full((int(keep.sum()),), i, device=device, dtype=torch.long))
        constant = (background * clear[:height, :width]).flatten(1)
        cat = lambda parts, dim, empty: torch.cat(parts, dim) if parts else empty  # noqa: E731
        return cls(cat(bases, 1, torch.zeros(3, 0, device=device, dtype=dtype)),
                   cat(basis, 2, torch.zeros(K, 3, 0, device=device, dtype=dtype)),
                   cat(index, 0, torch.zeros(0, dtype=torch.long, device=device)),
                   cat(owner, 0, torch.zeros(0, dtype=torch.long, device=device)),
                   constant, columns, height, width)

    @property
    def pixels(self) -> int:
        """Stored window pixels (memory is about ``(3 K + 5) * pixels`` numbers)."""
        return int(self.index.shape[0])

    def __call__(self, colours: Tensor) -> Tensor:
        """``colours (N, K)`` (the colour columns) -> the painting ``(3, height, width)``; differentiable."""
        c = colours[self.owner]  # (P, K)
        contrib = self.base + torch.einsum("pk,kcp->cp", c, self.basis)
        image = self.constant.index_add(1, self.index, contrib)
        return image.view(3, self.height, self.width)
