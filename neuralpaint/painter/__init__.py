"""Painting a photo with strokes: ``neuralpaint.paint(image, ...) -> Strokes``.

    import neuralpaint
    from neuralpaint.imagefiles import read_image

    strokes = neuralpaint.paint(read_image("test_images/astronaut.png"), stroke="rectangle",
                                max_strokes=300, size=256)
    canvas = neuralpaint.render_strokes(strokes)  # (H, W, 3) float32
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import __version__
from ..errors import NeuralPaintError
from ..device import resolve_device
from ..checkpoints import shipped_checkpoint
from ..renderers import EngineRenderer, load_renderer
from ..strokes import get_stroke_type
from ..strokesfile import Strokes
from .config import PaintConfig
from .progressive import PaintState, paint_photo

__all__ = ["PaintConfig", "PaintState", "paint", "paint_image", "painting_size", "prepare_photo", "make_renderer"]


def painting_size(height: int, width: int, size: int) -> tuple[int, int]:
    """``(H, W)`` with the longer side ``size`` and the photo's aspect ratio."""
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def prepare_photo(image: np.ndarray | torch.Tensor, size: int, device: torch.device) -> torch.Tensor:
    """``(H, W, 3)`` array or ``(3, H, W)`` tensor in [0, 1] -> ``(3, h, w)`` on ``device``, the
    longer side resized (area / bicubic) to ``size``."""
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3:
            raise NeuralPaintError(f"expected an (H, W, 3) RGB image, got shape {image.shape}")
        image = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)
    if image.dim() != 3 or image.shape[0] != 3:
        raise NeuralPaintError(f"expected a (3, H, W) image tensor, got shape {tuple(image.shape)}")
    image = image.float().to(device)
    h, w = painting_size(image.shape[1], image.shape[2], size)
    if (h, w) != tuple(image.shape[1:]):
        shrinking = h < image.shape[1]
        image = F.interpolate(image[None], size=(h, w), mode="area" if shrinking else "bicubic",
                              align_corners=None if shrinking else False)[0]
    return image.clamp(0.0, 1.0)


def make_renderer(cfg: PaintConfig, stroke, device: torch.device):
    """The renderer ``cfg.renderer`` asks for. ``auto`` uses the engine where it is differentiable:
    on CPU it is several times faster than a neural renderer and exact (see the README's
    benchmark); for engines that are not (mypaint) it uses the neural renderer."""
    if cfg.renderer == "engine" and not stroke.differentiable:
        raise NeuralPaintError(f"the {stroke.name} engine is not differentiable: paint with --renderer neural "
                               "(or auto); the final picture is still rendered by the engine")
    if cfg.renderer == "engine" or (cfg.renderer == "auto" and stroke.differentiable):
        return EngineRenderer(stroke)
    path = Path(cfg.checkpoint) if cfg.checkpoint else shipped_checkpoint(cfg.stroke)
    if not path.is_file():
        raise NeuralPaintError(f"no neural renderer for {cfg.stroke}: {path} does not exist "
                               "(train one with neuralpaint train-renderer, or use --renderer engine)")
    renderer = load_renderer(path, stroke_type=cfg.stroke, device=device)
    if renderer.stroke.options != stroke.options:
        raise NeuralPaintError(f"{path}: renderer was trained with {renderer.stroke.options}, painting uses {stroke.options}")
    return renderer


def paint_image(image, cfg: PaintConfig, progress: bool = False) -> tuple[Strokes, PaintState, torch.Tensor]:
    """Paint ``image``; returns the strokes file object, the run's state and the photo as painted
    ``(3, H, W)`` (resized). See ``paint`` for the simple form."""
    cfg.validate()
    device = resolve_device(cfg.device)
    stroke = get_stroke_type(cfg.stroke, **cfg.stroke_options)
    photo = prepare_photo(image, cfg.size, device)
    if min(photo.shape[1:]) < 2:
        raise NeuralPaintError(f"the photo is too thin to paint at size {cfg.size}: {tuple(photo.shape[1:])}")
    renderer = make_renderer(cfg, stroke, device)
    cfg = cfg.resolved(stroke, renderer)  # the defaults that depend on them, recorded in the strokes file
    state = paint_photo(photo, stroke, renderer, cfg, progress=progress)
    H, W = photo.shape[1:]
    metadata = {"generator": "neuralpaint paint", "neuralpaint_version": __version__,
                "config": {k: v for k, v in dataclasses.asdict(cfg).items()}, "levels": state.log,
                "interrupted": state.interrupted}
    strokes = Strokes.from_stroke(stroke, state.params.cpu(), W, H, cfg.canvas_colour, metadata)
    return strokes, state, photo


def paint(image, config: PaintConfig | None = None, progress: bool = False, **settings) -> Strokes:
    """Paint ``image`` (``(H, W, 3)`` array or ``(3, H, W)`` tensor, RGB in [0, 1]) and return the
    strokes. Settings are ``PaintConfig`` fields, given as a config or as keywords
    (``stroke="rectangle", max_strokes=300, size=256``)."""
    cfg = dataclasses.replace(config or PaintConfig(), **settings)
    return paint_image(image, cfg, progress=progress)[0]
