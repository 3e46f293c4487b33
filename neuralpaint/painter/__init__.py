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

import torch

from .. import __version__
from ..errors import NeuralPaintError
from ..device import resolve_device
from ..checkpoints import shipped_checkpoint
from ..photo import painting_size, prepare_photo
from ..renderers import EngineRenderer, HybridRenderer, load_renderer, model_renderer
from ..strokes import get_stroke_type
from ..strokesfile import Strokes
from .config import PaintConfig
from .progressive import PaintProgress, PaintState, paint_photo

__all__ = ["PaintConfig", "PaintProgress", "PaintState", "paint", "paint_image", "painting_size", "prepare_photo", "make_renderer"]


def make_renderer(cfg: PaintConfig, device: torch.device):
    """The renderer ``cfg.renderer`` asks for, for strokes of ``cfg.stroke`` with
    ``cfg.stroke_options`` (its ``.stroke`` is that stroke type). ``auto`` uses the engine where it
    is differentiable: on CPU it is several times faster than a neural renderer and exact (see the
    README's benchmark); for engines that are not (mypaint) it uses the neural renderer, with the
    engine in the loop (``HybridRenderer``) unless ``cfg.engine_in_loop`` is False (by default only
    there: elsewhere ``--renderer neural`` paints through the net alone)."""
    stroke = get_stroke_type(cfg.stroke, **cfg.stroke_options)
    if cfg.renderer == "engine" and not stroke.differentiable:
        raise NeuralPaintError(f"the {stroke.name} engine is not differentiable: paint with --renderer neural "
                               "(or auto); the final picture is still rendered by the engine")
    if cfg.renderer == "engine" or (cfg.renderer == "auto" and stroke.differentiable):
        return EngineRenderer(stroke)
    in_loop = not stroke.differentiable if cfg.engine_in_loop is None else cfg.engine_in_loop
    model = model_renderer(stroke) if cfg.renderer in ("auto", "model") and not cfg.checkpoint else None
    if model is not None:
        return HybridRenderer(model, cfg.engine_tolerance, cfg.of_stroke(stroke, "engine_every")) if in_loop else model
    if cfg.renderer == "model":
        raise NeuralPaintError(f"there is no differentiable model of the {stroke.name} engine: paint with "
                               "--renderer auto, engine or neural")
    path = Path(cfg.checkpoint) if cfg.checkpoint else shipped_checkpoint(stroke.name)
    if not path.is_file():
        raise NeuralPaintError(f"no neural renderer for {stroke.name}: {path} does not exist "
                               "(train one with neuralpaint train-renderer, or use --renderer engine)")
    renderer = load_renderer(path, stroke_type=stroke.name, device=device)
    if renderer.stroke.options != stroke.options:
        flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in renderer.stroke.options.items()
                         if stroke.options.get(k) != v)
        raise NeuralPaintError(f"{path}: renderer was trained with {renderer.stroke.options}, painting uses "
                               f"{stroke.options} (paint with {flags} to use it)")
    return HybridRenderer(renderer, cfg.engine_tolerance, cfg.of_stroke(stroke, "engine_every")) if in_loop else renderer


def paint_image(image, cfg: PaintConfig, progress: bool = False,
                watch=None) -> tuple[Strokes, PaintState, torch.Tensor]:
    """Paint ``image``; returns the strokes file object, the run's state and the photo as painted
    ``(3, H, W)`` (resized). ``watch``: see ``paint_photo`` (progress, live picture, stop
    request). See ``paint`` for the simple form."""
    cfg.validate()
    device = resolve_device(cfg.device)
    renderer = make_renderer(cfg, device)
    photo = prepare_photo(image, cfg.size, device)
    if min(photo.shape[1:]) < 2:
        raise NeuralPaintError(f"the photo is too thin to paint at size {cfg.size}: {tuple(photo.shape[1:])}")
    cfg = cfg.resolved(renderer)  # the defaults that depend on it, recorded in the strokes file; once
    state = paint_photo(photo, renderer, cfg, progress=progress, watch=watch)
    H, W = photo.shape[1:]
    metadata = {"generator": "neuralpaint paint", "neuralpaint_version": __version__,
                "config": {k: v for k, v in dataclasses.asdict(cfg).items()}, "levels": state.log,
                "interrupted": state.interrupted}
    strokes = Strokes.from_stroke(renderer.stroke, state.params.cpu(), W, H, cfg.canvas_colour, metadata)
    return strokes, state, photo


def paint(image, config: PaintConfig | None = None, progress: bool = False, **settings) -> Strokes:
    """Paint ``image`` (``(H, W, 3)`` array or ``(3, H, W)`` tensor, RGB in [0, 1]) and return the
    strokes. Settings are ``PaintConfig`` fields, given as a config or as keywords
    (``stroke="rectangle", max_strokes=300, size=256``)."""
    cfg = dataclasses.replace(config or PaintConfig(), **settings)
    return paint_image(image, cfg, progress=progress)[0]
