"""A new painting from a label map: ``compose(labels, styles, ...) -> Strokes``.

    from neuralpaint.composition import compose

    strokes = compose("my_map.png", ["wheat_field"], max_strokes=800)

1. **Label maps.** ``labels`` (the new composition) is a label picture: flat colours, one per
   region (``labels.snap_label_picture`` snaps anti-aliased edges). Every style painting has a
   label map too: given as ``PAINTING:LABELS.png``, or made here as ``neuralpaint labels`` makes
   it with its defaults (``ComposeConfig.style_regions`` regions at ``style_map_size`` pixels;
   the second painting's colours continue where the first's end, ``first_colour``). The painting
   is taken at its map's size. Each colour of the new map is a region and takes its manner from
   the first style map holding that colour (within ``MATCH_DISTANCE`` in RGB, for paint programs
   that shift colours slightly); a colour in none is refused, naming it.
2. **Synthesis** (``method="pixels"``, the default). At a working scale where the new map covers
   about ``work_size``² pixels (the style paintings at the same scale, so textures keep their
   size), ``steps`` Adam steps move the pixels of a starting picture (each region random pixels of
   its source region) to lower ``regions.RegionObjective``: per-region Gram matrices of the
   backbone's texture layers (feathered masks, so textures blend across borders) plus each
   region's colour distribution (sliced Wasserstein in Lab).
3. **Painting.** The painter (``painter.paint_image``) paints the synthesised picture at the
   painting's size, as ``paint`` paints a photo; its strokes may cross region borders as a
   painter's do.

``method="strokes"`` optimises the strokes directly instead: the painter first paints each region
flat in its source region's mean colour, then ``stroke_steps`` Adam steps move every stroke
parameter through the differentiable compositor (``painter.refine.render_over``) at the working
scale against the same objective. docs/compose.md compares the two.
"""
from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .. import __version__
from ..errors import NeuralPaintError
from ..photo import painting_size, resize_image
from .labels import MAX_REGIONS, hex_colour, make_labels, read_label_map, snap_label_picture
from .regions import RegionObjective, Source, region_noise, region_report, resize_index, synthesise

METHODS = ("pixels", "strokes")
MATCH_DISTANCE = 24.0  # RGB distance within which a new map's colour is a style map's colour


@dataclass
class ComposeConfig:
    """How to compose; the defaults of ``compose`` and of ``neuralpaint compose``."""

    method: str = "pixels"  # pixels: synthesise the picture, then paint it; strokes: optimise strokes directly
    steps: int = 200  # Adam steps of the pixel synthesis
    lr: float = 0.03  # of the pixel synthesis
    stroke_steps: int = 100  # Adam steps on the strokes (method strokes)
    stroke_lr: float = 0.005
    work_size: int = 256  # the synthesis works on about work_size x work_size pixels of the new map
    feather: float = 2.0  # pixels (at the working scale) over which neighbouring regions' textures blend
    style_weight: float = 1.0
    colour_weight: float = 1.0
    style_regions: int = 6  # regions of a style's label map made here (neuralpaint labels' default)
    style_map_size: int = 512  # longer side of a style label map made here (neuralpaint labels' default)
    size: int | None = None  # longer side of the painting (default: the label map's)
    backbone: str = "auto"  # auto | vgg19 | vgg16 | efficientnet_lite0
    weights: str | None = None  # the backbone's weights file

    def validate(self) -> None:
        checks = [
            (self.method in METHODS, f"--method must be one of {', '.join(METHODS)}, got {self.method!r}"),
            (0 <= self.steps <= 100_000, f"--steps must be in 0..100000, got {self.steps}"),
            (0 <= self.stroke_steps <= 100_000, f"stroke_steps must be in 0..100000, got {self.stroke_steps}"),
            (self.lr > 0 and self.stroke_lr > 0, "learning rates must be positive"),
            (32 <= self.work_size <= 4096, f"--work-size must be in 32..4096, got {self.work_size}"),
            (0 <= self.feather <= 64, f"--feather must be in 0..64 pixels, got {self.feather}"),
            (self.style_weight >= 0 and self.colour_weight >= 0, "style and colour weights must be 0 or more"),
            (2 <= self.style_regions <= MAX_REGIONS, f"style_regions must be in 2..{MAX_REGIONS}, got {self.style_regions}"),
            (16 <= self.style_map_size <= 8192, f"style_map_size must be in 16..8192, got {self.style_map_size}"),
            (self.size is None or 16 <= self.size <= 8192, f"--size must be in 16..8192 pixels, got {self.size}"),
        ]
        for ok, message in checks:
            if not ok:
                raise NeuralPaintError(message)


@dataclass
class StyleMap:
    """A style painting and its label map: ``image (3, H, W)`` at the map's size, ``index (H, W)``,
    ``colours (K, 3)`` uint8 (region ``k`` is drawn in ``colours[k]``). ``made``: the map was made
    here (not given), with ``legend`` (as ``neuralpaint labels`` writes it)."""

    name: str
    path: str
    image: Tensor
    index: np.ndarray
    colours: np.ndarray
    made: bool = False
    legend: list = field(default_factory=list)


@dataclass
class ComposeResult:
    """``strokes``: the painting; ``target (3, H, W)``: the picture the painter painted (the
    synthesis, at the painting's size; method strokes: the flat start); ``final (3, H, W)``: the
    painting rendered; ``styles``: the style maps used; ``sources``: for each region of the new map
    (its index order), ``(style number, region there)``; ``report``: per region, the colour and Gram
    distances (``regions.region_report``) of the painting at the working scale; ``log``: the
    objective's terms per step; ``seconds``: per stage; ``interrupted``: Ctrl-C or ``watch`` stopped
    the painter, the strokes are those finished (``strokes`` and ``final`` are None when the
    synthesis was stopped, before any painting; ``target`` is then the synthesis so far)."""

    strokes: object
    target: Tensor
    final: Tensor
    styles: list[StyleMap]
    sources: list[tuple[int, int]]
    report: list[dict]
    log: list[dict]
    seconds: dict
    interrupted: bool = False


def parse_style(text: str) -> tuple[str, str | None]:
    """``"PAINTING"`` or ``"PAINTING:LABELS.png"`` -> ``(painting, labels or None)``; the split is at
    the last ``:`` whose right side names a ``.png`` (so paths with colons still work)."""
    head, sep, tail = str(text).rpartition(":")
    if sep and head and tail.lower().endswith(".png"):
        return head, tail
    return str(text), None


def style_map(painting, labels=None, first_colour: int = 0, config: ComposeConfig | None = None) -> StyleMap:
    """The ``StyleMap`` of ``painting`` (a path, the name of a shipped style image, an ``(H, W, 3)``
    array or a ``(3, H, W)`` tensor) with the label map ``labels`` (a path or an ``(H, W, 3)`` uint8
    picture); without one, made as ``neuralpaint labels`` makes it (``config.style_regions``
    regions, its colours from ``first_colour`` on)."""
    from ..style.stylize import read_style_image

    cfg = config or ComposeConfig()
    image, path = read_style_image(painting)
    name = Path(path).stem if path != "(array)" else "style"
    if labels is None:
        small = resize_image(image, *painting_size(image.shape[1], image.shape[2], cfg.style_map_size))
        regions = min(cfg.style_regions, MAX_REGIONS - first_colour)
        if regions < 2:
            raise NeuralPaintError(f"{name}: no label colours left for its regions ({first_colour} used by the "
                                   "paintings before it); give its label map as PAINTING:LABELS.png")
        index, colours, legend = make_labels(small, regions, 0, first_colour=first_colour)
        return StyleMap(name, path, small, index, colours, made=True, legend=legend)
    if isinstance(labels, (str, os.PathLike)):
        index, colours = read_label_map(labels)
    else:
        index, colours = snap_label_picture(labels)
    return StyleMap(name, path, resize_image(image, *index.shape), index, colours)


def match_regions(colours: np.ndarray, styles: list[StyleMap], where: str = "the label map") -> list[tuple[int, int]]:
    """For each colour of the new map ``colours (M, 3)``: ``(style number, region)`` of the first
    style map holding it (within ``MATCH_DISTANCE``). ``NeuralPaintError`` naming a colour no style
    map holds."""
    found = []
    for colour in np.asarray(colours, np.float64):
        for s, style in enumerate(styles):
            dist = np.sqrt(((style.colours.astype(np.float64) - colour) ** 2).sum(axis=1))
            if dist.min() <= MATCH_DISTANCE:
                found.append((s, int(dist.argmin())))
                break
        else:
            names = ", ".join(style.name for style in styles)
            raise NeuralPaintError(f"{where}: colour {hex_colour(colour)} is in no style's label map ({names}); "
                                   "draw regions in the colours of the style maps (see neuralpaint labels)")
    return found


def working_scale(label_shape: tuple[int, int], styles: list[StyleMap], work_size: int) -> float:
    """The factor the new map and the style paintings are scaled by for the synthesis: the new map
    covers about ``work_size``² pixels, and no style painting's longer side exceeds ``work_size``."""
    H, W = label_shape
    longest = max(max(style.index.shape) for style in styles)
    return min(1.0, work_size / math.sqrt(H * W), work_size / longest)


def _scaled(image: Tensor, index: np.ndarray, scale: float) -> tuple[Tensor, np.ndarray]:
    H, W = index.shape
    h, w = max(8, round(H * scale)), max(8, round(W * scale))
    return resize_image(image, h, w), resize_index(index, h, w)


def compose_run(labels, styles, config: ComposeConfig | None = None, paint_config=None, progress: bool = False,
                watch=None, log_step=None) -> ComposeResult:
    """Compose a painting (module docstring). ``labels``: the new label map, a path or an
    ``(H, W, 3)`` uint8 picture. ``styles``: a list of style paintings, each a path, a shipped
    style's name, ``"PAINTING:LABELS.png"``, a ``(painting, labels)`` pair or a ``StyleMap``.
    ``paint_config``: the painter's ``PaintConfig`` (its ``size`` is replaced by the painting's).
    ``watch``: the painter's (``painter.progressive.paint_photo``); ``log_step(stage, step, steps,
    terms)`` is called after each optimisation step. ``NeuralPaintError`` on bad input."""
    from ..backbones import load_backbone
    from ..device import resolve_device
    from ..painter import PaintConfig, paint_image

    cfg = config or ComposeConfig()
    cfg.validate()
    pcfg = paint_config or PaintConfig()
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    if isinstance(labels, (str, os.PathLike)):
        index, colours = read_label_map(labels)
        where = str(labels)
    else:
        index, colours = snap_label_picture(labels)
        where = "the label map"
    if len(colours) < 2:
        raise NeuralPaintError(f"{where}: a single colour: a label map needs two regions or more")
    if not styles:
        raise NeuralPaintError("compose needs at least one style painting")
    maps: list[StyleMap] = []
    for spec in styles:
        if isinstance(spec, StyleMap):
            maps.append(spec)
            continue
        painting, style_labels = parse_style(spec) if isinstance(spec, (str, os.PathLike)) else spec
        first = sum(len(m.colours) for m in maps)  # a made map takes the label colours after those before it
        maps.append(style_map(painting, style_labels, first, cfg))
    sources = match_regions(colours, maps, where)
    H, W = index.shape
    size = cfg.size or max(H, W)
    pcfg = dataclasses.replace(pcfg, size=size)
    pcfg.validate()
    device = resolve_device(pcfg.device)
    seconds["read"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    backbone = load_backbone(cfg.backbone, cfg.weights, device)
    scale = working_scale((H, W), maps, cfg.work_size)
    small = [_scaled(m.image, m.index, scale) for m in maps]
    region_sources = [Source(small[s][0], torch.as_tensor(small[s][1] == k), f"{maps[s].name} region {k} "
                             f"({hex_colour(maps[s].colours[k])})") for s, k in sources]
    h, w = max(8, round(H * scale)), max(8, round(W * scale))
    work_index = resize_index(index, h, w)
    generator = torch.Generator().manual_seed(pcfg.seed)
    objective = RegionObjective(backbone, region_sources, work_index, cfg.feather, style_weight=cfg.style_weight,
                                colour_weight=cfg.colour_weight, generator=generator)
    seconds["setup"] = time.perf_counter() - t0

    log: list[dict] = []
    if cfg.method == "pixels":
        t0 = time.perf_counter()
        start = region_noise(work_index, region_sources, generator)
        step = None if log_step is None else (lambda i, terms: log_step("synthesis", i, cfg.steps, terms))
        target, log, stopped = synthesise(objective, start, cfg.steps, cfg.lr, watch=step)
        target = target.cpu()
        seconds["synthesis"] = time.perf_counter() - t0
        if stopped:  # Ctrl-C: no painting; the synthesis so far, at the painting's size
            shown = resize_image(target, *painting_size(H, W, size))
            return ComposeResult(None, shown, None, maps, sources, [], log, seconds, interrupted=True)
    else:  # the flat start: every region its source region's mean colour
        target = torch.zeros(3, h, w)
        for r, source in enumerate(region_sources):
            target[:, torch.as_tensor(work_index == r)] = source.image[:, source.mask].mean(dim=1, keepdim=True)
    t0 = time.perf_counter()
    # at the label map's aspect exactly (the working size's rounding would drift it by a pixel)
    target = resize_image(target, *painting_size(H, W, size)).clamp(0.0, 1.0)
    strokes, state, painted_target = paint_image(target, pcfg, progress=progress, watch=watch)
    seconds["painting"] = time.perf_counter() - t0
    if cfg.method == "strokes" and not state.interrupted and cfg.stroke_steps:
        t0 = time.perf_counter()
        strokes, more = _fit_strokes(strokes, objective, (h, w), cfg, pcfg, device, log_step)
        log += more
        seconds["strokes"] = time.perf_counter() - t0

    from ..canvas.render import render_painting

    t0 = time.perf_counter()
    if cfg.method == "pixels" and not state.interrupted:  # the painter's canvas is the engine's render
        final = state.canvas
    else:
        final = render_painting(strokes.stroke(), strokes.params_tensor(painted_target.device), strokes.height,
                                strokes.width, strokes.canvas_colour)
    report = region_report(resize_image(final.cpu().float(), h, w), work_index, region_sources, objective)
    seconds["report"] = time.perf_counter() - t0
    metadata = {**strokes.metadata, "generator": "neuralpaint compose", "neuralpaint_version": __version__,
                "compose": {"labels": where, "styles": [{"painting": m.path, "made": m.made} for m in maps],
                            "sources": [[s, k] for s, k in sources], "regions": report, **dataclasses.asdict(cfg)}}
    strokes = dataclasses.replace(strokes, metadata=metadata)
    return ComposeResult(strokes, painted_target.cpu(), final.cpu(), maps, sources, report, log, seconds,
                         interrupted=state.interrupted)


def _fit_strokes(strokes, objective: RegionObjective, work: tuple[int, int], cfg: ComposeConfig, pcfg, device,
                 log_step) -> tuple[object, list[dict]]:
    """Method strokes: every parameter of ``strokes`` moved by ``cfg.stroke_steps`` Adam steps
    against ``objective``, rendered at the working size ``work`` through the painter's renderer."""
    from ..canvas.compositing import blank_canvas
    from ..optim import Adam
    from ..painter import make_renderer
    from ..painter.refine import render_over

    renderer = make_renderer(pcfg, device)
    params = strokes.params_tensor(device).clone().requires_grad_(True)
    background = blank_canvas(*work, strokes.canvas_colour, device, params.dtype)
    opt = Adam([params], cfg.stroke_lr, bounds=(0.0, 1.0))
    log = []
    for i in range(cfg.stroke_steps):
        total, terms = objective(render_over(renderer, params, background))
        opt.zero_grad()
        total.backward()
        opt.step()
        log.append(terms)
        if log_step is not None:
            log_step("strokes", i, cfg.stroke_steps, terms)
    return dataclasses.replace(strokes, params=params.detach().cpu().numpy().astype(strokes.params.dtype)), log


def compose(labels, styles, config: ComposeConfig | None = None, progress: bool = False, **settings):
    """The stroke painting of the label map ``labels`` in the manner of ``styles`` (see
    ``compose_run``). Settings are ``ComposeConfig`` fields or ``PaintConfig`` fields (``stroke``,
    ``max_strokes``, ``seed``, ...), given as keywords. Returns ``Strokes``."""
    from ..painter import PaintConfig

    compose_fields = {f.name for f in dataclasses.fields(ComposeConfig)}
    cfg = dataclasses.replace(config or ComposeConfig(), **{k: v for k, v in settings.items() if k in compose_fields})
    paint_settings = {k: v for k, v in settings.items() if k not in compose_fields}
    unknown = set(paint_settings) - {f.name for f in dataclasses.fields(PaintConfig)}
    if unknown:
        raise NeuralPaintError(f"compose got unknown settings: {', '.join(sorted(unknown))}")
    pcfg = dataclasses.replace(PaintConfig(max_strokes=800), **paint_settings)
    return compose_run(labels, styles, cfg, pcfg, progress=progress).strokes
