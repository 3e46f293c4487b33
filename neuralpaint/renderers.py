"""One interface for "stroke params -> (colour, alpha)", served by an engine or by a trained net.

The painter calls ``renderer.render(params, height, width)`` and does not care which it is:

* ``EngineRenderer`` differentiates through the stroke type's own engine, at any size;
* ``NeuralRenderer`` runs a renderer net (``neuralpaint.nets``) at its native size and resizes;
* ``ModelRenderer`` differentiates through a model of an engine that has none (mypaint's dab
  model, ``strokes.dabmodel``), at any size;
* ``HybridRenderer`` puts an engine without gradient (mypaint's libmypaint) in the loop: the
  engine's pixels forward, a model's or a renderer net's gradients backward.

All return ``colour (B, 3, height, width)`` and ``alpha (B, 1, height, width)`` in [0, 1].

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
from .strokes.dabmodel import DabModel, brush_model


class EngineRenderer:
    """Renders through the stroke type's differentiable engine."""

    exact = True  # renders what the final picture shows
    draws_cells = True  # the painter draws blocks with render_cells: only where each stroke reaches

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


class ModelRenderer(EngineRenderer):
    """Renders through a differentiable model of a stroke type's engine (``MODELS``): an
    imitation, like a net, but drawn at any size and only where each stroke reaches."""

    exact = False  # the engine renders the final picture

    def __init__(self, stroke: StrokeType, model):
        super().__init__(stroke)
        self.model = model

    def render(self, params: Tensor, height: int, width: int) -> tuple[Tensor, Tensor]:
        return self.model.render(params, height, width)

    def render_windows(self, params: Tensor, height: int, width: int, side: int,
                       corners: Tensor) -> tuple[Tensor, Tensor]:
        return self.model.render(params, height, width, window=(side, side), offset=corners.to(params.dtype))

    def render_cells(self, params: Tensor, rows: Tensor, height: int, width: int, cell: int,
                     origins: Tensor) -> tuple[Tensor, Tensor]:
        return self.model.render_cells(params, rows, height, width, cell, origins)


# stroke type name -> its differentiable model, for engines without gradient
MODELS = {"mypaint": lambda stroke: DabModel(stroke, brush_model(stroke.brush))}


def model_renderer(stroke: StrokeType) -> ModelRenderer | None:
    """The ``ModelRenderer`` of ``stroke`` where ``MODELS`` has one, else None."""
    make = MODELS.get(stroke.name)
    return None if make is None else ModelRenderer(stroke, make(stroke))


class NeuralRenderer:
    """Renders through a renderer net: ``alpha = A * mask`` (``mask`` for stroke types without an
    opacity parameter, ``stroke.alpha is None``), resized to the requested size."""

    exact = False  # an imitation of the engine that renders the final picture
    draws_cells = False  # the net draws a stroke's whole canvas anyway: the painter draws blocks with render

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


class HybridRenderer:
    """The engine in the loop, for stroke types whose engine has no gradient (mypaint): the picture
    of a differentiable stand-in (``net``: a ``ModelRenderer`` or a renderer net) corrected by the
    engine's,

        render(θ) = net(θ) + (engine(θ_k) - net(θ_k)).detach()

    a straight-through estimator whose forward value is the engine's picture (at ``θ_k = θ``) and
    whose gradient is the net's. The painter's loss is then measured on what the final picture
    shows, however well the net imitates the engine; the net only says which way to move.

    The correction ``engine(θ_k) - net(θ_k)`` is kept per stroke (per stroke and cell for
    ``render_cells``) and drawn again only for strokes whose parameters moved by more than
    ``tolerance`` (largest absolute change of any parameter) since it was drawn, and for cells
    not drawn before: with ``tolerance = 0`` every forward value is the engine's own render.
    One correction is kept per kind of call and canvas size (the painter renders the same
    strokes step after step).

    ``every = n`` lets the engine draw only at every n-th render of a kind (the 1st, the
    (n+1)-th, ...). The renders in between draw nothing: each pair keeps the correction of the
    last drawing render while its stroke has moved by at most ``STALE`` (a few optimiser steps),
    and pairs without one (new cells, strokes restarted elsewhere) show the net alone."""

    exact = True  # forward values are the engine's: what the final picture shows
    STALE = 0.1  # between drawing renders, a correction is kept while its stroke moved at most this

    def __init__(self, net: NeuralRenderer | ModelRenderer, tolerance: float = 0.0, every: int = 1):
        if tolerance < 0:
            raise NeuralPaintError(f"the engine tolerance must be 0 or more, got {tolerance}")
        if not (isinstance(every, int) and every >= 1):
            raise NeuralPaintError(f"the engine must draw every 1 or more renders, got {every!r}")
        self.net = net
        self.draws_cells = net.draws_cells  # blocks as the gradient's renderer draws them
        self.stroke = net.stroke
        self.tolerance = tolerance
        self.every = every
        # (kind, height, width[, cell]) -> (keys (T,), params drawn at (T, d), colour, alpha corrections)
        self._kept: dict = {}
        self._renders: dict = {}  # kind -> renders so far (for ``every``)
        self.engine_draws = 0  # (stroke, window) pairs the engine has drawn: for tests and benchmarks

    def render(self, params: Tensor, height: int, width: int) -> tuple[Tensor, Tensor]:
        """``params (B, d) -> colour (B, 3, height, width), alpha (B, 1, height, width)``: the
        engine's values, the net's gradient."""
        colour, alpha = self.net.render(params, height, width)
        rows = torch.arange(params.shape[0], device=params.device)
        draw = lambda sub: self.stroke.render(params.detach().index_select(0, sub), height, width)  # noqa: E731
        return self._corrected(("render", height, width), params, rows, rows, colour, alpha, draw)

    def render_windows(self, params: Tensor, height: int, width: int, side: int,
                       corners: Tensor) -> tuple[Tensor, Tensor]:
        """Each stroke of a ``height x width`` canvas in its ``side x side`` window at ``corners (B,
        2)``: ``colour (B, 3, side, side), alpha (B, 1, side, side)`` (engine values, net gradient)."""
        colour, alpha = self.net.render_windows(params, height, width, side, corners)
        with torch.no_grad():  # not kept: the windows are not the painter's step-after-step renders
            engine_colour, engine_alpha = self.stroke.render(params.detach(), height, width, window=(side, side),
                                                             offset=corners.to(params.dtype))
        self.engine_draws += params.shape[0]
        return colour + (engine_colour - colour).detach(), alpha + (engine_alpha - alpha).detach()

    def render_cells(self, params: Tensor, rows: Tensor, height: int, width: int, cell: int,
                     origins: Tensor) -> tuple[Tensor, Tensor]:
        """Stroke ``params[rows[k]]`` on the ``cell x cell`` square at ``origins[k]`` of a ``height x
        width`` canvas (``rows (T,)``, ``origins (T, 2)``): ``colour (T, 3, cell, cell), alpha (T,
        1, cell, cell)`` (engine values, net gradient)."""
        colour, alpha = self.net.render_cells(params, rows, height, width, cell, origins)
        # a pair's key: its stroke and its cell (cells on the grid from the canvas's corner)
        ch, cw = -(-height // cell) + 1, -(-width // cell) + 1
        keys = (rows * ch + origins[:, 0] // cell) * cw + origins[:, 1] // cell
        draw = lambda sub: self.stroke.render_cells(  # noqa: E731
            params.detach(), rows.index_select(0, sub), height, width, cell, origins.index_select(0, sub))
        return self._corrected(("cells", height, width, cell), params, rows, keys, colour, alpha, draw)

    def _corrected(self, kind: tuple, params: Tensor, rows: Tensor, keys: Tensor, colour: Tensor, alpha: Tensor,
                   draw) -> tuple[Tensor, Tensor]:
        """``colour, alpha (T, C, h, w)`` of the net for the pairs ``keys (T,)`` (unique; pair k
        draws stroke ``params[rows[k]]``) plus the kept corrections, drawn again by ``draw(sub)``
        (the engine's ``colour, alpha`` of the pairs ``sub``) where the stroke moved or the pair is
        new; between drawing renders (``every``) nothing is drawn."""
        with torch.no_grad():
            count = self._renders.get(kind, 0)
            self._renders[kind] = count + 1
            drawing = count % self.every == 0
            limit = self.tolerance if drawing else max(self.tolerance, self.STALE)
            now = params.detach().index_select(0, rows)  # (T, d)
            fresh = torch.ones(keys.shape[0], dtype=torch.bool, device=keys.device)
            old = self._kept.get(kind)
            if old is not None and keys.numel() and old[0].numel():
                old_keys, old_params, old_colour, old_alpha = old
                order = old_keys.argsort()
                at = torch.searchsorted(old_keys, keys, sorter=order).clamp(max=old_keys.shape[0] - 1)
                match = order[at]
                same = (old_keys[match] == keys) & ((old_params[match] - now).abs().amax(1) <= limit)
                fresh = ~same
            # kept corrections where they still hold; the rest drawn now, or between drawing
            # renders the net alone (a zero correction, not kept)
            fix_colour = torch.zeros_like(colour)
            fix_alpha = torch.zeros_like(alpha)
            drawn_at = now.clone()  # the params each pair's correction was drawn at
            if not fresh.all():
                kept = match[~fresh]
                fix_colour[~fresh] = old_colour[kept]
                fix_alpha[~fresh] = old_alpha[kept]
                drawn_at[~fresh] = old_params[kept]
            if drawing:
                sub = fresh.nonzero(as_tuple=True)[0]
                if sub.numel():
                    engine_colour, engine_alpha = draw(sub)
                    fix_colour[sub] = engine_colour - colour.detach().index_select(0, sub)
                    fix_alpha[sub] = engine_alpha - alpha.detach().index_select(0, sub)
                    self.engine_draws += int(sub.numel())
                self._kept[kind] = (keys, drawn_at, fix_colour, fix_alpha)
        return colour + fix_colour, alpha + fix_alpha


def load_renderer(path: str | os.PathLike, stroke_type: str | None = None,
                  device: torch.device | str = "cpu") -> NeuralRenderer:
    """A ``NeuralRenderer`` from a checkpoint (see ``load_net``); its weights are frozen."""
    net, stroke, _ = load_net(path, stroke_type, device)
    net.requires_grad_(False)
    return NeuralRenderer(stroke, net)
