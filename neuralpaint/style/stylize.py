"""Re-optimising a painting's strokes towards the style of an image: ``stylize(strokes, style) -> Strokes``.

    from neuralpaint.strokesfile import load_strokes
    from neuralpaint.style import stylize

    styled = stylize(load_strokes("out/astronaut_strokes.npz"), "style_images/starry_night.jpg", mode="texture")

Every stroke keeps its place in the painting order; the stroke count and type never change.

1. **Palette transfer (every mode; all of ``palette`` mode).** The strokes' colours, weighted by
   the area each stroke shows in the finished painting, are moved so that their distribution in
   CIE Lab matches the style image's pixels (iterated sliced optimal transport,
   ``palette.transfer_colours``); then ``palette_steps`` Adam steps on the colours bring the
   rendered painting's Lab colours closer to the style's under the sliced Wasserstein distance,
   which accounts for overlaps, opacity and the bare canvas. No network. Only colour parameters
   change.
2. **Colours against the style (``colour`` and ``texture`` modes).** ``steps`` Adam steps on the
   colour parameters minimise

       style_weight * Gram style loss (backbone layers of the mode)
     + content_weight * content loss (features at one deeper layer + a small blurred-luminance term)
     + colour_weight * sliced Wasserstein distance of the painting's Lab colours to the style's

   with the painting rendered at a reduced working resolution (``work_size`` pixels on its longer
   side, default 256). With shapes fixed the painting is an affine function of the colours
   (``colourmap.ColourMap``: each stroke rendered once per colour parameter, then every step is a
   sparse multiply-add), so a step costs the backbone's forward and backward pass and not the
   engine's. Shape and opacity parameters stay bit-identical.
3. **Texture (``texture`` mode).** ``texture_steps`` more Adam steps move every parameter (strokes
   also move, turn, resize and change opacity, at ``shape_lr``) through the painter's windowed
   compositor (``painter.refine.render_over``) at ``texture_size`` pixels (default 128: the
   engine's backward pass is the expensive part).

Stroke types whose engine is not differentiable (MyPaint) build the colour map from their engine
all the same (it needs renders, not gradients), so colour and palette modes optimise what
libmypaint draws; the texture phase goes through their shipped neural renderer. The final picture
of the returned strokes is drawn by the engine (libmypaint) as always.

The content defaults to the photo recorded in the strokes file's metadata (key ``source``) when
that file still exists, else the painting itself as it was.
"""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .. import __version__
from ..backbones import load_backbone
from ..colour import colour_view, lab_to_rgb, rgb_to_lab, with_colours
from ..canvas.compositing import blank_canvas
from ..device import resolve_device
from ..errors import NeuralPaintError
from ..optim import Adam
from ..painter import PaintConfig
from ..painter import make_renderer as painter_renderer
from ..painter.refine import render_over, visible_areas
from ..photo import image_tensor, resize_image
from ..renderers import EngineRenderer
from ..resources import STYLE_IMAGE_SUFFIXES, data_path, shipped_style_names
from ..strokesfile import Strokes, validate
from .losses import ColourTarget, ContentLoss, StyleLoss, image_colours
from .colourmap import ColourMap
from .palette import transfer_colours

MODES = ("colour", "texture", "palette")
SWD_SCALE = 10.0  # the colour term is the sliced Wasserstein distance in Lab units divided by this


@dataclass
class StylizeConfig:
    """How to stylise a painting; the defaults of ``stylize`` and of ``neuralpaint stylize``."""

    mode: str = "colour"  # colour | texture | palette
    style_weight: float = 1.0
    content_weight: float = 1.0
    colour_weight: float = 1.0  # sliced Wasserstein (Lab) term of the optimisation
    pixel_weight: float = 0.1  # blurred-luminance part of the content loss
    steps: int = 60  # Adam steps on the colours (colour and texture modes), at work_size
    texture_steps: int = 15  # then Adam steps on every parameter (texture mode), at texture_size
    lr: float = 0.01  # colour parameters
    shape_lr: float = 0.002  # shape and opacity parameters (texture mode)
    backbone: str = "auto"  # auto | vgg19 | vgg16 | efficientnet_lite0
    weights: str | None = None  # the backbone's weights file (--vgg-weights); default: its usual place
    softmax: bool | None = None  # softmax-transform features before the Gram (None: the backbone's default)
    work_size: int = 256  # longer side of the canvas during the optimisation
    palette_iterations: int = 30  # rounds of sliced optimal transport of the stroke colours
    palette_steps: int = 20  # then Adam steps on the colours against the rendered painting's colour distance
    texture_size: int = 256  # longer side of the canvas in the texture phase
    seed: int = 0
    device: str = "cpu"

    def validate(self) -> None:
        """Raise ``NeuralPaintError`` on settings that cannot work."""
        checks = [
            (self.mode in MODES, f"--mode must be one of {', '.join(MODES)}, got {self.mode!r}"),
            (self.style_weight >= 0, f"--style-weight must be 0 or more, got {self.style_weight}"),
            (self.content_weight >= 0, f"--content-weight must be 0 or more, got {self.content_weight}"),
            (self.colour_weight >= 0, f"colour_weight must be 0 or more, got {self.colour_weight}"),
            (self.pixel_weight >= 0, f"pixel_weight must be 0 or more, got {self.pixel_weight}"),
            (0 <= self.steps <= 100_000, f"--steps must be in 0..100000, got {self.steps}"),
            (self.lr > 0 and self.shape_lr > 0, "learning rates must be positive"),
            (32 <= self.work_size <= 4096, f"work_size must be in 32..4096, got {self.work_size}"),
            (0 <= self.palette_iterations <= 1000, f"palette_iterations must be in 0..1000, got {self.palette_iterations}"),
            (0 <= self.palette_steps <= 10_000, f"palette_steps must be in 0..10000, got {self.palette_steps}"),
            (0 <= self.texture_steps <= 100_000, f"texture_steps must be in 0..100000, got {self.texture_steps}"),
            (32 <= self.texture_size <= 4096, f"texture_size must be in 32..4096, got {self.texture_size}"),
        ]
        for ok, message in checks:
            if not ok:
                raise NeuralPaintError(message)


@dataclass
class StylizeResult:
    """``strokes``: the stylised painting; ``log``: per optimisation step the loss terms
    (``style``, ``content``, ``colour``, ``total``); ``backbone``: the one used (None in palette
    mode); ``seconds``: time per phase."""

    strokes: Strokes
    log: list[dict] = field(default_factory=list)
    backbone: str | None = None
    seconds: dict = field(default_factory=dict)


# ---- inputs ------------------------------------------------------------------------------------
def as_image(image, what: str) -> Tensor:
    """A path (read with ``images.read_image``), an ``(H, W, 3)`` array or a ``(3, H, W)`` tensor
    in [0, 1] -> ``(3, H, W)`` float32 tensor on the CPU. ``NeuralPaintError`` when unusable."""
    from ..imagefiles.io import read_image

    if isinstance(image, (str, os.PathLike)):
        image = read_image(image)
    if not isinstance(image, (np.ndarray, Tensor)):
        raise NeuralPaintError(f"{what}: expected a path, an (H, W, 3) array or a (3, H, W) tensor")
    image = image_tensor(image, what)
    if min(image.shape[1:]) < 2:
        raise NeuralPaintError(f"{what}: image is {image.shape[2]}x{image.shape[1]} pixels; it must be at least 2x2")
    return image.detach().float().cpu().clamp(0.0, 1.0)


def style_image_path(style: str | os.PathLike) -> Path:
    """The file of a style image given as a path or as the name of a shipped one
    (``"starry_night"`` -> ``style_images/starry_night.jpg``, see ``resources.shipped_style_names``).
    A path that exists, or has a suffix, is returned as it is; a bare name that is neither a file
    nor shipped raises ``NeuralPaintError`` naming the shipped styles."""
    path = Path(style)
    if path.exists() or path.suffix:
        return path
    for suffix in STYLE_IMAGE_SUFFIXES:
        shipped = data_path("style_images") / f"{path}{suffix}"
        if shipped.is_file():
            return shipped
    names = ", ".join(shipped_style_names()) or "none installed"
    raise NeuralPaintError(f"style image {str(style)!r}: no such file, and not a shipped style image ({names})")


def read_style_image(style) -> tuple[Tensor, str]:
    """``style``: a path, the name of a shipped style image, an ``(H, W, 3)`` array or a
    ``(3, H, W)`` tensor -> the image ``(3, H, W)`` (CPU, see ``as_image``) and what the metadata
    records of it: the file's path, or ``"(array)"``."""
    if isinstance(style, (str, os.PathLike)):
        path = style_image_path(style)
        return as_image(path, f"style image {path}"), str(path)
    return as_image(style, "style image"), "(array)"


def resize_long_side(image: Tensor, side: int) -> Tensor:
    """``(3, H, W)`` resized so that its longer side is ``side`` pixels (aspect kept)."""
    H, W = image.shape[1:]
    scale = side / max(H, W)
    return resize_image(image, max(2, round(H * scale)), max(2, round(W * scale)))


def working_size(strokes: Strokes, work_size: int) -> tuple[int, int]:
    """``(h, w)`` of the optimisation canvas: the painting's aspect, longer side at most ``work_size``."""
    scale = min(1.0, work_size / max(strokes.height, strokes.width))
    return max(2, round(strokes.height * scale)), max(2, round(strokes.width * scale))


def source_photo(strokes: Strokes) -> Path | None:
    """The photo recorded in the strokes file's metadata (``source``) when that file exists."""
    source = strokes.metadata.get("source")
    if isinstance(source, str) and source and Path(source).is_file():
        return Path(source)
    return None


def make_renderer(stroke, device: torch.device):
    """The painter's differentiable renderer for ``stroke`` (a ``StrokeType``; the renderer's
    ``.stroke``): its engine, or its shipped neural renderer for engines that are not
    differentiable (MyPaint)."""
    return painter_renderer(PaintConfig(stroke=stroke.name, stroke_options=stroke.options, renderer="auto"), device)


def render_preview(strokes: Strokes, height: int, width: int, device: torch.device | str = "cpu") -> Tensor:
    """The painting rendered by its engine at ``height x width``: ``(3, height, width)``."""
    from .. import render_painting

    stroke = strokes.stroke()
    params = strokes.params_tensor(device)
    return render_painting(stroke, params, height, width, strokes.canvas_colour)


# ---- the two phases ----------------------------------------------------------------------------
def palette_transfer(renderer, params: Tensor, style: Tensor, height: int, width: int,
                     iterations: int, generator: torch.Generator, n_style_pixels: int = 20_000) -> Tensor:
    """``params (N, d)`` (strokes of ``renderer.stroke``) with their colours moved so that the area-weighted distribution of the
    stroke colours matches ``style (3, h, w)``'s in Lab (see ``palette.transfer_colours``); the
    weights are the areas the strokes show in the ``height x width`` painting. Only colour
    parameters change."""
    if params.shape[0] == 0 or iterations == 0:
        return params
    areas = visible_areas(renderer, params, height, width)  # (N,)
    cols = colour_view(renderer.stroke, params)  # (N, k, 3)
    N, k, _ = cols.shape
    weights = (areas / k).repeat_interleave(k)
    target = image_colours(style, n_style_pixels, generator).to(params.device)
    moved = transfer_colours(rgb_to_lab(cols.reshape(-1, 3)), weights, target, iterations, generator=generator)
    return with_colours(renderer.stroke, params, lab_to_rgb(moved).reshape(N, k, 3))


def engine_renderer(renderer):
    """``renderer`` when it renders what the final picture shows, else the engine of its stroke type
    (for renders that need no gradient: MyPaint's libmypaint)."""
    return renderer if renderer.exact else EngineRenderer(renderer.stroke)


def colour_painter(renderer, params: Tensor, columns: Tensor, height: int, width: int, canvas_colour,
                   generator: torch.Generator):
    """A differentiable ``draw(colours (N, K)) -> (3, height, width)`` of the painting ``params``
    with its ``columns`` replaced: the affine ``ColourMap`` of the stroke's engine when it is affine
    in the colours (every engine shipped, MyPaint's included), else the painter's windowed
    compositor through ``renderer``."""
    background = blank_canvas(height, width, canvas_colour, params.device, params.dtype)
    cmap = ColourMap.build(engine_renderer(renderer), params, columns, height, width, background, generator)
    if cmap is not None:
        return cmap

    def draw(colours: Tensor) -> Tensor:
        full = params.clone()
        full[:, columns] = colours
        return render_over(renderer, full, background)

    return draw


def fit_colour_distribution(draw, colours: Tensor, target: ColourTarget, steps: int, lr: float,
                            generator: torch.Generator, n_pixels: int = 8192) -> Tensor:
    """``colours (N, K)`` after ``steps`` Adam steps minimising the sliced Wasserstein distance of
    the Lab colours of ``draw(colours)`` to ``target``. It sees what the transfer of stroke colours
    cannot: overlaps, opacity, the bare canvas and the brush's own shading."""
    x = colours.clone().requires_grad_(True)
    opt = Adam([x], [lr], bounds=(0.0, 1.0))
    for _ in range(steps):
        loss = target.loss(image_colours(draw(x), n_pixels, generator)) / SWD_SCALE
        opt.zero_grad()
        loss.backward()
        opt.step()
    return x.detach()


def stylize_run(strokes: Strokes, style_image, content=None, config: StylizeConfig | None = None,
                progress: bool = False, **settings) -> StylizeResult:
    """``stylize`` with the run's details (``StylizeResult``)."""
    cfg = dataclasses.replace(config or StylizeConfig(), **settings)
    cfg.validate()
    stroke = validate(strokes)
    device = resolve_device(cfg.device)
    style, style_record = read_style_image(style_image)
    clock = time.perf_counter()
    seconds: dict = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 3)
        clock = now

    h, w = working_size(strokes, cfg.work_size)
    style_w = resize_long_side(style, max(h, w)).to(device)
    generator = torch.Generator().manual_seed(cfg.seed)
    renderer = make_renderer(stroke, device)
    params = strokes.params_tensor(device)
    colour_cols = torch.arange(params.shape[1])[stroke.colour]
    log: list[dict] = []
    backbone_name = None
    if params.shape[0]:
        # 1. palette: transfer of the stroke colours, then the rendered painting's colour distribution
        params = palette_transfer(engine_renderer(renderer), params, style_w, h, w,
                                  cfg.palette_iterations, generator)
        target = ColourTarget(image_colours(style_w, 20_000, generator).to(device), generator=generator)
        draw = colour_painter(renderer, params, colour_cols, h, w, strokes.canvas_colour, generator)
        lap("prepare")
        colours = fit_colour_distribution(draw, params[:, colour_cols], target, cfg.palette_steps, cfg.lr, generator)
        params[:, colour_cols] = colours
        lap("palette")
        if cfg.mode != "palette" and cfg.steps + cfg.texture_steps > 0:
            content_img = _content_image(strokes, content, h, w, device)
            backbone = load_backbone(cfg.backbone, cfg.weights, device)
            backbone_name = backbone.name
            objective = Objective(backbone, cfg, style_w, content_img, target, generator)
            lap("backbone")
            # 2. colours against style + content + colour terms through the cheap colour map
            colours, log = objective.fit(lambda x: (draw(x[0]), None), [params[:, colour_cols]], [cfg.lr],
                                         cfg.steps, progress, "colour")
            params[:, colour_cols] = colours[0]
            lap("colour")
            # 3. texture: every parameter, through the windowed compositor at a smaller size
            if cfg.mode == "texture" and cfg.texture_steps:
                params, more = _texture_phase(renderer, params, objective, strokes, style, content_img,
                                              cfg, progress)
                log += more
                lap("texture")
    seconds["total"] = round(sum(seconds.values()), 3)

    out = strokes.params.copy()  # untouched columns stay bit-identical
    free = _free_columns(stroke, cfg.mode, strokes.params.shape[1])
    out[:, free] = params.detach().cpu().clamp(0.0, 1.0).numpy()[:, free]
    metadata = {**strokes.metadata, "stylize": {
        "generator": "neuralpaint stylize", "neuralpaint_version": __version__,
        "style": style_record,
        "content": str(content) if isinstance(content, (str, os.PathLike)) else
        ("(array)" if content is not None else "(source photo or the painting)"),
        "backbone": backbone_name, "config": dataclasses.asdict(cfg)}}
    styled = Strokes(strokes.stroke_type, out, strokes.width, strokes.height, strokes.canvas_colour,
                     strokes.stroke_options, metadata)
    validate(styled)
    return StylizeResult(styled, log, backbone_name, seconds)


def _content_image(strokes: Strokes, content, height: int, width: int, device) -> Tensor:
    """The content photo at ``height x width``: ``content``, else the strokes file's source photo,
    else the painting as it was."""
    if content is None:
        found = source_photo(strokes)
        image = as_image(found, f"content photo {found}") if found else render_preview(strokes, height, width)
    else:
        image = as_image(content, f"content photo {content}" if isinstance(content, (str, os.PathLike))
                         else "content photo")
    return resize_image(image, height, width).to(device)


def _free_columns(stroke, mode: str, d: int) -> np.ndarray:
    """Parameter columns a mode may change: the colour slice, or all of them in texture mode."""
    if mode == "texture":
        return np.arange(d)
    return np.arange(d)[stroke.colour]


class Objective:
    """``style_weight * style + content_weight * content + colour_weight * colour`` of a painting,
    with the style image's Grams and colour quantiles computed once (per working size)."""

    def __init__(self, backbone, cfg: StylizeConfig, style: Tensor, content: Tensor, target: ColourTarget,
                 generator: torch.Generator):
        self.backbone, self.cfg, self.generator = backbone, cfg, generator
        self.style_loss = StyleLoss(backbone, style, backbone.style_layers[cfg.mode], cfg.softmax)
        self.content_loss = ContentLoss(backbone, content, cfg.pixel_weight)
        self.target = target
        self.layers = tuple(dict.fromkeys(self.style_loss.names + (backbone.content_layer,)))

    def rescaled(self, style: Tensor, content: Tensor) -> "Objective":
        """The same objective for images of another size (style and content given at that size)."""
        return Objective(self.backbone, self.cfg, style, content, self.target, self.generator)

    def __call__(self, painted: Tensor) -> tuple[Tensor, dict]:
        feats = self.backbone(painted[None], self.layers)
        ls = self.style_loss.from_features(feats)
        lc = self.content_loss.from_features(feats, painted)
        lcol = self.target.loss(image_colours(painted, 4096, self.generator)) / SWD_SCALE
        cfg = self.cfg
        total = cfg.style_weight * ls + cfg.content_weight * lc + cfg.colour_weight * lcol
        return total, {"style": ls.item(), "content": lc.item(), "colour": lcol.item() * SWD_SCALE,
                       "total": total.item()}

    def fit(self, draw, tensors: list[Tensor], lrs: list[float], steps: int, progress: bool,
            phase: str) -> tuple[list[Tensor], list[dict]]:
        """Adam on ``tensors`` for ``steps`` steps; ``draw(tensors) -> (painting, _)``."""
        xs = [t.detach().clone().requires_grad_(True) for t in tensors]
        opt = Adam(xs, lrs, bounds=(0.0, 1.0))
        bar = None
        if progress and steps:
            from tqdm import tqdm

            bar = tqdm(total=steps, desc=f"stylize {phase} ({self.backbone.name})", unit="step")
        log = []
        for _ in range(steps):
            painted, _ = draw(xs)
            total, terms = self(painted)
            opt.zero_grad()
            total.backward()
            opt.step()
            log.append({"phase": phase, **terms})
            if bar is not None:
                bar.set_postfix(style=f"{terms['style']:.3g}", colour=f"{terms['colour']:.1f}")
                bar.update(1)
        if bar is not None:
            bar.close()
        return [x.detach() for x in xs], log


def _texture_phase(renderer, params: Tensor, objective: Objective, strokes: Strokes, style: Tensor,
                   content: Tensor, cfg: StylizeConfig, progress: bool) -> tuple[Tensor, list[dict]]:
    """Every parameter optimised through the painter's windowed compositor at ``texture_size``
    (colours at ``lr``, shape and opacity at ``shape_lr``)."""
    h, w = working_size(strokes, cfg.texture_size)
    background = blank_canvas(h, w, strokes.canvas_colour, params.device, params.dtype)
    small = objective.rescaled(resize_long_side(style, max(h, w)).to(params.device), resize_image(content, h, w))
    d = params.shape[1]
    colour_cols = torch.arange(d)[renderer.stroke.colour]
    other_cols = torch.tensor([c for c in range(d) if c not in set(colour_cols.tolist())], dtype=torch.long)

    def draw(xs: list[Tensor]):
        full = params.clone()
        full[:, colour_cols] = xs[0]
        if len(xs) > 1:
            full[:, other_cols] = xs[1]
        return render_over(renderer, full, background), None

    tensors, lrs = [params[:, colour_cols]], [0.1 * cfg.lr]  # the colours are fitted already: small moves
    if len(other_cols):
        tensors.append(params[:, other_cols])
        lrs.append(cfg.shape_lr)
    xs, log = small.fit(draw, tensors, lrs, cfg.texture_steps, progress, "texture")
    out = params.detach().clone()
    out[:, colour_cols] = xs[0]
    if len(xs) > 1:
        out[:, other_cols] = xs[1]
    return out, log


def stylize(strokes: Strokes, style_image, content=None, config: StylizeConfig | None = None,
            progress: bool = False, **settings) -> Strokes:
    """The painting ``strokes`` restyled after ``style_image``: a path, the name of a shipped style
    image (``"starry_night"``; ``resources.shipped_style_names()``), an ``(H, W, 3)`` array or a
    ``(3, H, W)`` tensor, RGB in [0, 1]; see the module docstring. The result's
    ``metadata["stylize"]`` records the style image's path (``"(array)"`` for an image given as
    such), the content's and the settings.

    ``content``: the photo to stay close to (a path, an array or a tensor; default: the strokes file's ``source``
    photo when it exists, else the painting itself). Settings are ``StylizeConfig`` fields, given as
    a config or as keywords (``mode="texture", style_weight=2.0, steps=100, backbone="vgg19",
    seed=0, device="cpu"``). Returns a new, valid ``Strokes`` of the same type, count and order.
    Raises ``NeuralPaintError`` (one line) for a bad image, setting, or missing backbone weights."""
    return stylize_run(strokes, style_image, content, config, progress, **settings).strokes
