"""One interface for "stroke params -> (colour, alpha)", served by an engine or by a trained net.

The painter calls ``renderer.render(params, height, width)`` and does not care which it is:

* ``EngineRenderer`` differentiates through the stroke type's own engine, at any size;
* ``NeuralRenderer`` runs a renderer net (``neuralpaint.nets``) at its native size and resizes.

Both return ``colour (B, 3, height, width)`` and ``alpha (B, 1, height, width)`` in [0, 1].

Renderer checkpoints (``.pt``, read with ``torch.load(weights_only=True)``) are dicts::

    format: "neuralpaint-renderer", format_version: 1,
    stroke_type: str, stroke_options: dict,
    net_config: RendererConfig as a dict (rebuilds the net),
    state_dict: the weights (float16 in shipped checkpoints),
    steps: int, val: {"psnr_fg", "psnr_alpha", "psnr"}, train_config: dict,
    device: str, package_version: str
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from . import __version__
from .errors import NeuralPaintError
from .fileutil import atomic_path
from .nets import RendererConfig, RendererNet, build_net
from .strokes import StrokeType, get_stroke_type

CHECKPOINT_FORMAT = "neuralpaint-renderer"
CHECKPOINT_VERSION = 1


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


def save_checkpoint(path: str | os.PathLike, net: RendererNet, stroke: StrokeType, *, steps: int,
                    val: dict | None = None, train_config: dict | None = None, half: bool = False,
                    device: str = "cpu") -> Path:
    """Write a renderer checkpoint atomically (``half``: weights as float16, for shipping)."""
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu() for k, v in net.state_dict().items()}
    payload = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "stroke_type": stroke.name,
        "stroke_options": stroke.options,
        "net_config": net.cfg.to_dict(),
        "state_dict": state,
        "steps": int(steps),
        "val": dict(val or {}),
        "train_config": dict(train_config or {}),
        "device": device,
        "package_version": __version__,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint dict at ``path``, checked for format; ``NeuralPaintError`` if unusable."""
    p = Path(path)
    if not p.is_file():
        raise NeuralPaintError(f"{p}: no such renderer checkpoint")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for corrupt files
        raise NeuralPaintError(f"{p}: not a readable renderer checkpoint ({type(err).__name__})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise NeuralPaintError(f"{p}: not a neuralpaint renderer checkpoint")
    if ckpt.get("format_version") != CHECKPOINT_VERSION:
        raise NeuralPaintError(f"{p}: unsupported checkpoint version {ckpt.get('format_version')!r} "
                               f"(supported: {CHECKPOINT_VERSION})")
    for key in ("stroke_type", "net_config", "state_dict"):
        if key not in ckpt:
            raise NeuralPaintError(f"{p}: checkpoint lacks {key!r}")
    return ckpt


def load_net(path: str | os.PathLike, stroke_type: str | None = None,
             device: torch.device | str = "cpu") -> tuple[RendererNet, StrokeType, dict]:
    """Rebuild the net stored at ``path`` (in eval mode, float32, on ``device``).

    ``stroke_type``: when given, the checkpoint must be for that type. Returns the net, its stroke
    type and the checkpoint dict (metadata).
    """
    ckpt = read_checkpoint(path)
    if stroke_type is not None and ckpt["stroke_type"] != stroke_type:
        raise NeuralPaintError(f"{path}: checkpoint is for stroke type {ckpt['stroke_type']!r}, "
                               f"not {stroke_type!r}")
    stroke = get_stroke_type(ckpt["stroke_type"], **ckpt.get("stroke_options", {}))
    try:
        net = build_net(RendererConfig(**ckpt["net_config"]))
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()})
    except (TypeError, ValueError, RuntimeError) as err:
        raise NeuralPaintError(f"{path}: checkpoint does not rebuild its net ({str(err).splitlines()[0]})") from None
    return net.to(device).eval(), stroke, ckpt


def load_renderer(path: str | os.PathLike, stroke_type: str | None = None,
                  device: torch.device | str = "cpu") -> NeuralRenderer:
    """A ``NeuralRenderer`` from a checkpoint (see ``load_net``); its weights are frozen."""
    net, stroke, _ = load_net(path, stroke_type, device)
    net.requires_grad_(False)
    return NeuralRenderer(stroke, net)
