"""Renderer checkpoints (``.pt``, read with ``torch.load(weights_only=True)``) are dicts::

    format: "neuralpaint-renderer", format_version: 1,
    stroke_type: str, stroke_options: dict,
    net_config: RendererConfig as a dict (rebuilds the net),
    state_dict: the weights (float16 in shipped checkpoints),
    steps: int, val: {"psnr_fg", "psnr_alpha", "psnr"}, train_config: dict,
    device: str, package_version: str

The renderers shipped with neuralpaint live in the repository's ``checkpoints/`` folder and are
installed inside the package (``neuralpaint/checkpoints/``); ``shipped_checkpoint`` finds them.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from . import __version__
from .errors import NeuralPaintError
from .fileutil import atomic_path
from .nets import RendererConfig, RendererNet, build_net
from .resources import data_path
from .strokes import StrokeType, recorded_stroke_type

CHECKPOINT_FORMAT = "neuralpaint-renderer"
CHECKPOINT_VERSION = 1


def shipped_checkpoint(stroke_type: str) -> Path:
    """Where the shipped renderer for ``stroke_type`` is (``checkpoints/<type>.pt``); the path
    may not exist (no renderer shipped for that type)."""
    return data_path("checkpoints") / f"{stroke_type}.pt"


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
    stroke = recorded_stroke_type(ckpt["stroke_type"], ckpt.get("stroke_options", {}))
    try:
        net = build_net(RendererConfig(**ckpt["net_config"]))
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()})
    except (TypeError, ValueError, RuntimeError) as err:
        raise NeuralPaintError(f"{path}: checkpoint does not rebuild its net ({str(err).splitlines()[0]})") from None
    return net.to(device).eval(), stroke, ckpt
