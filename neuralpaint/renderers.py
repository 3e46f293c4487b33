"""One interface for "stroke params -> (colour, alpha)", served by an engine or by a trained net.

The painter calls ``renderer.render(params, height, width)`` and does not care which it is:

* ``EngineRenderer`` differentiates through the stroke type's own engine, at any size;
* ``NeuralRenderer`` runs a renderer net (``neuralpaint.nets``) at its native size and resizes.

Both return ``colour (B, 3, height, width)`` and ``alpha (B, 1, height, width)`` in [0, 1].

Checkpoints (the nets' weights and metadata) are read and written by ``neuralpaint.checkpoints``.
"""
from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import Tensor

from .checkpoints import load_net
from .errors import NeuralPaintError
from .nets import RendererNet
from .strokes import StrokeType


class EngineRenderer:
    """Renders through the stroke type's differentiable engine."""

    exact = True  # renders what the final picture shows

    def __init__(self, stroke: StrokeType):
        self.stroke = stroke

    def render(self, params: Tensor, height: int, width: int) -> tuple[Tensor, Tensor]:
        """``params (B, d) -> colour (B, 3, height, width), alpha (B, 1, height, width)``."""
        return self.stroke.render(params, height, width)

    def render_windows(self, params: Tensor, height: int, width: int, side: int,
                       corners: Tensor) -> tuple[Tensor, Tensor]:
        """Each stroke of a ``height x width`` canvas rendered only in its ``side x side`` window
        at ``corners (B, 2)`` (top, left): ``colour (B, 3, side, side), alpha (B, 1, side, side)``."""
        return self.stroke.render(params, height, width, window=(side, side), offset=corners.to(params.dtype))

    def render_cells(self, params: Tensor, rows: Tensor, height: int, width: int, cell: int,
                     origins: Tensor) -> tuple[Tensor, Tensor]:
        """Stroke ``params[rows[k]]`` of a ``height x width`` canvas on the ``cell x cell`` square
        at ``origins[k]`` (top, left), for ``rows (T,)``, ``origins (T, 2)``: ``colour (T, 3, cell,
        cell), alpha (T, 1, cell, cell)``."""
        return self.stroke.render_cells(params, rows, height, width, cell, origins)


class NeuralRenderer:
    """Renders through a renderer net: ``alpha = A * mask`` (``mask`` for stroke types without an
    opacity parameter, ``stroke.alpha is None``), resized to the requested size."""

    exact = False  # an imitation of the engine that renders the final picture

    def __init__(self, stroke: StrokeType, net: RendererNet):
        if net.cfg.n_params != stroke.n_params:
            raise NeuralPaintError(f"renderer net takes {net.cfg.n_params} params but {stroke.name} has {stroke.n_params}")
        self.stroke = stroke
        self.net = net

    @property
    def size(self) -> int:
        return self.net.cfg.size

    def render(self, params: Tensor, height: int, width: int) -> tuple[Tensor, Tensor]:
        """``params (B, d) -> colour (B, 3, height, width), alpha (B, 1, height, width)``."""
        self.stroke.check_params(params)
        colour, mask = self.net(params.clamp(0.0, 1.0))
        if (height, width) != (self.size, self.size):
            colour = F.interpolate(colour, size=(height, width), mode="bilinear", align_corners=False)
            mask = F.interpolate(mask, size=(height, width), mode="bilinear", align_corners=False)
        if self.stroke.alpha is None:  # no opacity parameter (mypaint): the mask is the alpha
            return colour, mask
        alpha = mask * params[:, self.stroke.alpha].clamp(0.0, 1.0).view(-1, 1, 1, 1)
        return colour, alpha

    def render_windows(self, params: Tensor, height: int, width: int, side: int,
                       corners: Tensor) -> tuple[Tensor, Tensor]:
        """Each stroke of a ``height x width`` canvas in its ``side x side`` window at
        ``corners (B, 2)`` (top, left): ``colour (B, 3, side, side), alpha (B, 1, side, side)``.

        The net draws at its own size; each window is resampled from that directly (the same
        bilinear sampling as ``render`` at ``height x width`` followed by a crop, without the
        canvas-sized intermediate). Window pixels beyond the canvas repeat its edge."""
        B, n = params.shape[0], self.size
        colour, alpha = self.render(params, n, n)
        steps = torch.arange(side, device=params.device, dtype=params.dtype) + 0.5
        ys = (corners[:, :1].to(params.dtype) + steps) * (2.0 / height) - 1.0  # (B, side), grid_sample units
        xs = (corners[:, 1:].to(params.dtype) + steps) * (2.0 / width) - 1.0
        grid = torch.stack([xs[:, None, :].expand(B, side, side), ys[:, :, None].expand(B, side, side)], dim=-1)
        sample = lambda image: F.grid_sample(image, grid, mode="bilinear", padding_mode="border",  # noqa: E731
                                             align_corners=False)
        return sample(colour), sample(alpha)

    def render_cells(self, params: Tensor, rows: Tensor, height: int, width: int, cell: int,
                     origins: Tensor) -> tuple[Tensor, Tensor]:
        """Stroke ``params[rows[k]]`` on the ``cell x cell`` square at ``origins[k]`` (top, left)
        of a ``height x width`` canvas: ``colour (T, 3, cell, cell), alpha (T, 1, cell, cell)``.

        Each stroke is drawn once by the net; every cell samples its stroke's drawing bilinearly
        (as ``render_windows`` does: pixels beyond the canvas repeat its edge)."""
        n = self.size
        colour, alpha = self.render(params, n, n)
        steps = torch.arange(cell, device=params.device, dtype=params.dtype) + 0.5
        # source pixel coordinates in the net's drawing (align_corners=False), held inside it
        ys = ((origins[:, :1].to(params.dtype) + steps) * (n / height) - 0.5).clamp(0, n - 1)  # (T, cell)
        xs = ((origins[:, 1:].to(params.dtype) + steps) * (n / width) - 0.5).clamp(0, n - 1)
        y0, x0 = ys.floor().long(), xs.floor().long()
        y1, x1 = (y0 + 1).clamp(max=n - 1), (x0 + 1).clamp(max=n - 1)
        wy, wx = (ys - y0)[:, :, None, None], (xs - x0)[:, None, :, None]
        pixels = torch.cat([colour, alpha], 1).permute(0, 2, 3, 1).reshape(-1, 4)  # (B * n * n, 4)
        base = (rows * (n * n))[:, None, None]
        at = lambda yy, xx: pixels[base + yy[:, :, None] * n + xx[:, None, :]]  # noqa: E731  (T, cell, cell, 4)
        top_left, bottom_left = at(y0, x0), at(y1, x0)
        top = top_left + wx * (at(y0, x1) - top_left)
        bottom = bottom_left + wx * (at(y1, x1) - bottom_left)
        out = (top + wy * (bottom - top)).permute(0, 3, 1, 2)
        return out[:, :3], out[:, 3:]


def load_renderer(path: str | os.PathLike, stroke_type: str | None = None,
                  device: torch.device | str = "cpu") -> NeuralRenderer:
    """A ``NeuralRenderer`` from a checkpoint (see ``load_net``); its weights are frozen."""
    net, stroke, _ = load_net(path, stroke_type, device)
    net.requires_grad_(False)
    return NeuralRenderer(stroke, net)
