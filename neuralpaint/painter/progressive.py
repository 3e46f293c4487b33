"""The painter: progressive grid-divide (1x1, 2x2, ... NxN blocks) or one direct MxM grid.

At each level every block gets the same number of new strokes. They start where the current
canvas is furthest from the photo (sampled from the blurred error map) in the photo's colour
there, half transparent, and all strokes of all blocks are optimised together, each composited in
order over the real render of every earlier stroke, under pixel L1 (+ optional optimal transport).
Strokes that vanish during a level (covered, shrunk or faded) start again where the error is then
largest. Each block is
seen through a window that reaches past its edges, so strokes cross block borders and no seams
show. Blocks are optimised at a small working resolution (the engines render at any size), and
every stroke receives ``iters_per_stroke`` optimiser steps, so cost grows linearly with the
number of strokes. After each level the strokes are moved to canvas coordinates and rendered
onto the full-size canvas.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..canvas.compositing import blank_canvas
from ..canvas.render import render_painting
from ..optim import Adam
from ..strokes import StrokeType
from ..canvas.cells import CELL, composite_cells, stroke_cells, visible_alpha
from .config import PaintConfig
from .constraints import StrokeConstraints, photo_palette
from .feature_loss import FeatureDistance, load_feature_distance
from .layout import Level, crop_windows, make_level
from .losses import PIXEL_LOSSES, SinkhornLoss, error_map, masked_l1
from .refine import refine
from .starts import strokes_from_error


@dataclass
class PaintState:
    """What a run has produced so far: canvas-relative ``params (N, d)`` in painting order and the
    full-size ``canvas (3, H, W)``. ``interrupted`` is set when Ctrl-C stopped the run.
    ``seconds`` holds the wall time of each stage: ``levels`` (the progressive levels, with their
    full-size renders), ``refine`` (the joint refinement) and ``final_render`` (the full-size
    render of the refined strokes)."""

    params: Tensor
    canvas: Tensor
    interrupted: bool = False
    log: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)


@dataclass
class PaintProgress:
    """Where a run stands, given to ``paint_photo``'s ``watch`` after every optimiser step.
    ``stage``: ``levels`` (``level`` is the block grid, ``"3x3"``) or ``refine`` (``level`` is
    ``"all"``); ``step`` of ``total_steps`` optimiser steps; ``strokes_done`` of ``strokes_total``
    strokes are finished (the levels done; every stroke once refining); ``loss`` of this step;
    ``seconds`` since painting began. ``picture(side)`` renders the painting as it stands now,
    strokes being optimised included, with the longer side ``side`` pixels (default the painting's
    own): ``(h, w, 3)`` uint8. It costs a render, so call it only as often as a picture is needed."""

    stage: str
    level: str
    step: int
    total_steps: int
    strokes_done: int
    strokes_total: int
    loss: float
    seconds: float
    picture: Callable[..., np.ndarray]


def split_budget(total: int, weights: list[int]) -> list[int]:
    """Integers proportional to ``weights`` that sum exactly to ``total``."""
    raw = [total * w / sum(weights) for w in weights]
    out = [math.floor(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True)[: total - sum(out)]:
        out[i] += 1
    return out


def error_windows(painted: Tensor, target: Tensor, level: Level) -> Tensor:
    """Blurred absolute error of ``painted`` vs ``target`` (both ``(nb, 3, h, w)``, one level's
    windows), ``(nb, 1, h, w)``: where new strokes should start."""
    return error_map(painted, target, sigma=max(0.5, 0.15 * level.win_h))


def sample_starts(stroke: StrokeType, level: Level, error_win: Tensor, photo_win: Tensor, inside: Tensor,
                  per_block: int, opacity: float, generator: torch.Generator) -> Tensor:
    """``(nb, per_block, d)`` starting strokes in window coordinates: centres sampled from each
    block's error map ``error_win (nb, 1, h, w)`` (squared; inside the block proper), colour from
    ``photo_win (nb, 3, h, w)`` there, sizes a third to two thirds of a block, largest first,
    opacity ``opacity`` (see ``strokes_from_error``)."""
    nb, _, h, w = error_win.shape
    core = torch.zeros_like(inside)
    core[:, :, level.margin_h : h - level.margin_h, level.margin_w : w - level.margin_w] = 1
    weight = (error_win.clamp_min(0) ** 2 + 1e-6) * inside * core
    block = max(h - 2 * level.margin_h, w - 2 * level.margin_w) / max(h, w)  # block side / window side
    return strokes_from_error(stroke, weight, photo_win, per_block, block, opacity, generator)


def init_level(stroke: StrokeType, level: Level, photo: Tensor, canvas: Tensor, per_block: int,
               opacity: float, generator: torch.Generator) -> Tensor:
    """``(n_blocks, per_block, d)`` starting strokes for ``level`` on the working-size ``photo``
    and ``canvas`` (both ``(3, H, W)``); see ``sample_starts``."""
    error = error_map(canvas[None], photo[None], sigma=max(0.5, 0.15 * level.win_h))[0]  # blurred across block borders
    error_win, _ = crop_windows(error, level)
    photo_win, inside = crop_windows(photo, level)
    return sample_starts(stroke, level, error_win, photo_win, inside, per_block, opacity, generator)


def visible_area(alpha: Tensor, inside: Tensor) -> Tensor:
    """Pixels of each stroke that show in the finished block: ``alpha (nb, m, 1, h, w)`` of
    strokes composited in order, ``inside (nb, 1, h, w)`` -> ``(nb, m)``. A stroke's pixel shows
    with weight alpha times the transmittance ``prod (1 - alpha)`` of every later stroke."""
    clear = (1 - alpha).flip(1).cumprod(1).flip(1)  # clear[:, j] = prod_{k >= j} (1 - alpha_k)
    later = torch.cat([clear[:, 1:], torch.ones_like(clear[:, :1])], dim=1)
    return (alpha * later * inside[:, None]).flatten(2).sum(2)


def composite_blocks(colour: Tensor, alpha: Tensor, background: Tensor, active: Tensor) -> Tensor:
    """Strokes ``(nb, m, 3|1, h, w)`` composited in order over ``background (nb, 3, h, w)``;
    ``active (nb, m)`` switches strokes off. Returns ``(nb, 3, h, w)``."""
    out = background
    alpha = alpha * active.view(*active.shape, 1, 1, 1)
    for j in range(colour.shape[1]):
        out = out + alpha[:, j] * (colour[:, j] - out)
    return out


def draw_blocks(renderer, params: Tensor, active: Tensor, background: Tensor,
                inside: Tensor) -> tuple[Tensor, Callable[[], Tensor]]:
    """Strokes ``params (nb, m, d)`` of ``renderer.stroke`` (window coordinates; ``active (nb, m)``
    switches them off) composited in order over their blocks' ``background (nb, 3, h, w)``.
    Returns the painted blocks ``(nb, 3, h, w)`` and a function giving each stroke's pixels that
    show in its block inside the canvas (``inside (nb, 1, h, w)``), ``(nb, m)``.

    Engines render only on the small cells each stroke reaches (``neuralpaint.canvas.cells``: a stroke
    covers a tenth or so of its block's window); a renderer net draws whole windows
    (``renderer.draws_cells``)."""
    nb, m, d = params.shape
    h, w = background.shape[-2:]
    flat = params.view(nb * m, d)
    if not renderer.draws_cells:
        colour, alpha = renderer.render(flat, h, w)
        alpha = alpha.view(nb, m, 1, h, w) * active.view(nb, m, 1, 1, 1)
        painted = composite_blocks(colour.view(nb, m, 3, h, w), alpha, background, active)
        return painted, lambda: visible_area(alpha.detach(), inside)
    block = torch.arange(nb, device=params.device).repeat_interleave(m)
    layout = stroke_cells(renderer.stroke, flat, h, w, CELL, block, nb, include=active.view(-1))
    colour, alpha = renderer.render_cells(flat, layout.rows, h, w, CELL, layout.origins)
    painted = composite_cells(colour, alpha, layout, background)
    return painted, lambda: visible_alpha(alpha.detach(), layout, nb * m, inside).view(nb, m)


@torch.no_grad()
def respawn_vanished(stroke: StrokeType, level: Level, params: Tensor, visible: Tensor, painted: Tensor,
                     target: Tensor, inside: Tensor, active: Tensor, cfg: PaintConfig,
                     opt: Adam, generator: torch.Generator) -> bool:
    """Restart, in place, every active stroke of ``params (nb, m, d)`` that shows on fewer than
    ``cfg.respawn_pixels`` pixels (``visible (nb, m)``; ``painted``/``target`` ``(nb, 3, h, w)``):
    fresh starts where the error is now largest, optimiser state cleared. Returns whether any
    stroke restarted."""
    nb, m, _ = params.shape
    lost = (visible < cfg.respawn_pixels) & active
    if not lost.any():
        return False
    fresh = sample_starts(stroke, level, error_windows(painted, target, level), target, inside, m,
                          cfg.init_opacity, generator)
    params[lost] = fresh[lost]
    opt.restart(lost)
    return True


def optimise_level(renderer, params: Tensor, active: Tensor, target: Tensor,
                   background: Tensor, inside: Tensor, cfg: PaintConfig, ot: SinkhornLoss | None,
                   tick, level: Level | None = None, generator: torch.Generator | None = None,
                   constraints: StrokeConstraints | None = None, region_side: float | None = None,
                   feature: FeatureDistance | None = None, show: Callable[[Tensor], None] | None = None) -> Tensor:
    """Adam on ``params (nb, m, d)`` (strokes of ``renderer.stroke``) for ``cfg.iters_per_stroke``
    steps; returns the result.

    The loss is ``cfg.loss``: pixel L1 inside the canvas, the backbone ``feature`` distance, or
    both (+ optional OT). ``constraints`` (opaque, minimum size, palette) are held after every
    step; ``region_side`` is a window's longer side in painting pixels.

    With ``level`` and ``generator`` given, at the fractions ``cfg.respawn_at`` of the steps every
    active stroke that shows on fewer than ``cfg.respawn_pixels`` pixels (covered by later strokes,
    shrunk or faded away) starts again where the block's error is then largest, with a fresh
    optimiser state: no stroke of the budget is wasted. ``show(params)``, when given, sees the
    strokes after every step, before ``tick`` (the live picture of ``paint_photo``'s ``watch``)."""
    nb, m, d = params.shape
    h, w = target.shape[-2:]
    params = params.clone().requires_grad_(True)
    opt = Adam([params], lr=cfg.lr)
    respawn = {round(f * cfg.iters_per_stroke) for f in cfg.respawn_at} if level is not None else set()
    for i in range(cfg.iters_per_stroke):
        painted, visible = draw_blocks(renderer, params, active, background, inside)
        if i in respawn and i > 0 and respawn_vanished(renderer.stroke, level, params, visible(), painted, target,
                                                      inside, active, cfg, opt, generator):
            painted, _ = draw_blocks(renderer, params, active, background, inside)
        loss = masked_l1(painted, target, inside) if cfg.loss != "feature" else painted.new_zeros(())
        if feature is not None:  # outside the canvas the window shows the photo itself
            loss = loss + cfg.feature_weight * feature(torch.lerp(target, painted, inside), target)
        if ot is not None:
            loss = loss + cfg.ot_weight * ot(painted, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            params.clamp_(0.0, 1.0)
            if constraints is not None:
                constraints.apply_(params, region_side)
        if show is not None:
            show(params)
        tick(loss.item())
    return params.detach()


def to_canvas_order(stroke: StrokeType, params: Tensor, active: Tensor, level: Level) -> Tensor:
    """Window-relative ``(nb, m, d)`` -> canvas-relative ``(n_active, d)`` in painting order:
    the j-th stroke of every block before the (j+1)-th of any."""
    nb, m, d = params.shape
    canvas = torch.stack([stroke.to_canvas(params[b], box, level.height, level.width)
                          for b, box in enumerate(level.boxes())])  # (nb, m, d)
    ordered = canvas.transpose(0, 1).reshape(m * nb, d)
    keep = active.transpose(0, 1).reshape(m * nb)
    return ordered[keep].clamp(0.0, 1.0)


def paint_photo(photo: Tensor, renderer, cfg: PaintConfig, progress: bool = True,
                watch: Callable[[PaintProgress], bool | None] | None = None) -> PaintState:
    """Paint ``photo (3, H, W)`` (in [0, 1], on the working device) with ``cfg.max_strokes`` strokes
    of ``renderer.stroke``, drawn through ``renderer``.

    ``cfg`` is a resolved config (``cfg.resolved(renderer)``, as ``paint_image`` makes it): its
    defaults that depend on the renderer are filled in (``ValueError`` otherwise). Returns a
    ``PaintState``; on Ctrl-C the strokes of the finished levels are kept and ``interrupted`` is set.

    ``watch(progress)`` is called after every optimiser step with a ``PaintProgress`` (stage,
    steps, strokes, the live picture); keep it quick. When it returns True the run stops as on
    Ctrl-C: the finished strokes are kept and ``interrupted`` is set.
    """
    from tqdm import tqdm

    unresolved = [name for name in cfg.PER_STROKE_TYPE if getattr(cfg, name) is None]
    if unresolved:
        raise ValueError(f"paint_photo needs a resolved config (cfg.resolved(renderer)): {', '.join(unresolved)} "
                         "is None")
    stroke = renderer.stroke
    device, (_, H, W) = photo.device, photo.shape
    generator = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    canvas = blank_canvas(H, W, cfg.canvas_colour, device)
    levels = cfg.levels()
    plans = [make_level(k, H, W, cfg.work_size, cfg.overlap) for k in levels]
    budget = split_budget(cfg.max_strokes, [lvl.n_blocks for lvl in plans])
    ot = SinkhornLoss() if cfg.ot_weight > 0 else None
    palette = photo_palette(photo, cfg.palette, cfg.seed).to(device) if cfg.palette else None
    constraints = StrokeConstraints(stroke, opaque=cfg.opaque or palette is not None, min_size=cfg.min_stroke_size,
                                    long_side=max(H, W), palette=palette)
    feature = None
    if cfg.loss != "pixel":
        feature = load_feature_distance(cfg.backbone, cfg.backbone_weights, device, generator)
    state = PaintState(params=torch.zeros(0, stroke.n_params, device=device), canvas=canvas)
    rounds = [math.ceil(n / lvl.n_blocks) if cfg.schedule == "published" else 1 for lvl, n in zip(plans, budget) if n]
    refine_steps = cfg.refine_steps
    total = cfg.iters_per_stroke * sum(rounds) + refine_steps
    bar = tqdm(total=total, disable=not progress, desc="painting", unit="step")
    start = time.perf_counter()
    live: dict = {}  # what the live picture shows: the stage, and the strokes being optimised

    def show(params: Tensor) -> None:
        live["params"] = params

    def report(loss: float) -> None:
        live["step"] = live.get("step", 0) + 1
        if watch is None:
            return
        event = PaintProgress(live["stage"], live["level"], live["step"], total, state.params.shape[0],
                              cfg.max_strokes, loss, time.perf_counter() - start, live_picture)
        if watch(event):
            raise KeyboardInterrupt  # a stop request: as Ctrl-C, the finished strokes are kept

    def live_picture(side: int | None = None) -> np.ndarray:
        scale = min(1.0, (side or max(H, W)) / max(H, W))
        h, w = max(1, round(H * scale)), max(1, round(W * scale))
        with torch.no_grad():
            params = live["params"].detach()
            if live["stage"] == "refine":
                picture = render_painting(stroke, params, h, w, cfg.canvas_colour)
            else:  # the finished levels' canvas, with this level's strokes as they stand over it
                base = state.canvas if (h, w) == (H, W) else F.interpolate(state.canvas[None], size=(h, w),
                                                                           mode="area")[0]
                new = to_canvas_order(stroke, params, live["active"], live["plan"])
                picture = render_painting(stroke, new, h, w, canvas=base.clone())
        return (picture.clamp(0, 1) * 255 + 0.5).byte().permute(1, 2, 0).cpu().numpy()

    try:
        for level, n in zip(plans, budget):
            if n == 0:
                continue
            per_block = math.ceil(n / level.n_blocks)
            small = lambda img: F.interpolate(img[None], size=(level.height, level.width), mode="area")[0]  # noqa: E731
            photo_s, canvas_s = small(photo), small(state.canvas)
            target, inside = crop_windows(photo_s, level)
            background, _ = crop_windows(canvas_s, level)
            # the blocks furthest from the photo keep every slot; the others give up the surplus
            surplus = per_block * level.n_blocks - n
            block_error = ((background - target).abs() * inside).flatten(1).sum(1)
            active = torch.ones(level.n_blocks, per_block, dtype=torch.bool, device=device)
            if surplus:
                active[block_error.argsort()[:surplus], -1] = False
            init = init_level(stroke, level, photo_s, canvas_s, per_block, cfg.init_opacity, generator)
            region_side = max(level.win_h, level.win_w) * max(H, W) / max(level.height, level.width)
            constraints.apply_(init, region_side)

            live.update(stage="levels", level=f"{level.rows}x{level.cols}", plan=level, active=active,
                        params=init)

            def tick(loss: float) -> None:
                bar.set_postfix(level=f"{level.rows}x{level.cols}", loss=f"{loss:.4f}", refresh=False)
                bar.update(1)  # redraws at most every 0.1 s, with the postfix
                report(loss)

            use_ot = ot if (cfg.ot_levels is None or max(level.rows, level.cols) in cfg.ot_levels) else None
            if cfg.schedule == "published":
                # the published tool's schedule: add a block's strokes one at a time and re-optimise
                # all of them after each (quadratic in strokes per block; kept as a baseline)
                params = init
                for j in range(1, per_block + 1):
                    upto = active & (torch.arange(per_block, device=device) < j)
                    params = optimise_level(renderer, params, upto, target, background, inside, cfg, use_ot, tick,
                                            constraints=constraints, region_side=region_side, feature=feature,
                                            show=show)
            else:
                params = optimise_level(renderer, init, active, target, background, inside, cfg, use_ot, tick,
                                        level, generator, constraints=constraints, region_side=region_side,
                                        feature=feature, show=show)
            new = to_canvas_order(stroke, params, active, level)
            render_painting(stroke, new, H, W, canvas=state.canvas)
            state.params = torch.cat([state.params, new])
            l1 = (state.canvas - photo).abs().mean().item()
            state.log.append({"level": f"{level.rows}x{level.cols}", "strokes": int(new.shape[0]), "l1": round(l1, 5),
                              "seconds": round(time.perf_counter() - start, 2)})
        state.seconds["levels"] = time.perf_counter() - start
        if refine_steps:
            live.update(stage="refine", level="all", params=state.params)

            def tick(loss: float) -> None:
                bar.set_postfix(level="all", loss=f"{loss:.4f}", refresh=False)
                bar.update(1)
                report(loss)

            refined = refine(renderer, state.params, photo, cfg.canvas_colour, refine_steps,
                             cfg.refine_lr, cfg.refine_size, tick, loss=cfg.refine_loss,
                             respawn_at=cfg.refine_respawn_at, respawn_pixels=cfg.respawn_pixels,
                             respawn_size=1.0 / max(levels), opacity=cfg.init_opacity, generator=generator,
                             constrain=constraints.apply_ if constraints.active else None,
                             feature=feature, feature_weight=cfg.feature_weight, pixel=cfg.loss != "feature",
                             show=show, frozen=sum(entry["strokes"] for entry in state.log[:cfg.refine_frozen_levels]))
            refined_at = time.perf_counter()
            state.seconds["refine"] = refined_at - start - state.seconds["levels"]
            canvas = render_painting(stroke, refined, H, W, cfg.canvas_colour)
            state.seconds["final_render"] = time.perf_counter() - refined_at
            l1 = (canvas - photo).abs().mean().item()
            # a renderer net may disagree with its engine on small whole-canvas strokes: keep the
            # refinement only when the engine's own render of it is closer to the photo
            ones = torch.ones_like(photo[:1])[None]
            distance = lambda image: PIXEL_LOSSES[cfg.refine_loss](image[None], photo[None], ones).item()  # noqa: E731
            # (painting against features, the refinement is kept: its aim is not the pixel distance)
            kept = feature is not None or distance(canvas) < distance(state.canvas)
            if kept:
                state.params, state.canvas = refined, canvas
            state.log.append({"level": "refine", "strokes": int(refined.shape[0]), "l1": round(l1, 5),
                              "kept": kept, "seconds": round(time.perf_counter() - start, 2)})
    except KeyboardInterrupt:
        state.interrupted = True
    finally:
        bar.close()
    return state
