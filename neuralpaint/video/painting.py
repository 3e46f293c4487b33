"""Painting a video: strokes carried from frame to frame along the optical flow, then refined.

    import neuralpaint
    from neuralpaint.video import open_frames, paint_video

    clip = open_frames("clip.mp4")
    for frame in paint_video(clip.frames(), neuralpaint.PaintConfig(size=256, max_strokes=300)):
        frame.strokes  # a Strokes: neuralpaint.render_strokes, save_strokes... work on it

Frame 0 is painted as ``paint`` paints a photo. Each next frame starts from the strokes of the
frame before, every point of every stroke moved by the flow where it is (``flow.carry_strokes``),
and refines all of them against the new frame for ``VideoConfig.frame_steps`` steps at a low
learning rate (the painter's joint refinement, at the painting's own size: strokes that no longer
show, or that the flow carried out of the frame, restart where the error is largest). One Adam
runs through the clip: each frame keeps the squared-gradient averages of the frame before, so a
parameter's steps keep their scale instead of Adam's first steps of full size. The stroke count is fixed, and the strokes keep their order except those that
restart, so nothing re-layers from frame to frame. A scene cut (the colour histograms of two
frames differ by more than ``cut_threshold``) starts a fresh painting.
"""
from __future__ import annotations

import base64
import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .. import __version__
from ..canvas.render import render_painting
from ..device import resolve_device
from ..errors import NeuralPaintError
from ..painter import PaintConfig, make_renderer, prepare_photo
from ..painter.constraints import StrokeConstraints, photo_palette
from ..painter.progressive import paint_photo
from ..optim import Adam
from ..painter.refine import refine, render_over, respawn_on_top
from ..canvas.compositing import blank_canvas
from ..strokesfile import Strokes
from .flow import carry_strokes, cut_distance, left_frame, optical_flow


@dataclass
class VideoConfig:
    """How frames after the first are painted (the first as ``PaintConfig`` says)."""

    # each choice measured by scripts/bench_video.py (docs/video.md, "Tuning")
    frame_steps: int = 30  # joint refinement steps on the carried strokes, per frame
    frame_lr: float = 0.002  # their learning rate (the painting's refinement uses 0.005)
    frame_respawn_at: tuple[float, ...] = (0.5,)  # fractions of the steps at which hidden strokes restart
    cut_threshold: float = 0.25  # colour-histogram distance above which a frame starts a new painting
    # (consecutive frames of the bundled clip: at most 0.014; different photos: 0.31-0.68)
    carry: bool = True  # move the strokes along the flow (False: refine them where they were)
    frame_size: int | None = None  # long side of the canvas while refining (None: the painting's size)
    respawn_gone: bool = True  # strokes the flow carries out of the frame restart before the first step
    # Adam's moments carried from frame to frame: none | second (squared gradients and step count) | both
    moments: str = "second"

    def validate(self) -> None:
        if self.frame_steps < 0:
            raise NeuralPaintError(f"frame steps must be >= 0, got {self.frame_steps}")
        if not self.frame_lr > 0:
            raise NeuralPaintError(f"frame learning rate must be positive, got {self.frame_lr}")
        if self.moments not in ("none", "second", "both"):
            raise NeuralPaintError(f"moments must be none, second or both, got {self.moments!r}")
        if not 0 < self.cut_threshold <= 1:
            raise NeuralPaintError(f"cut threshold must be in (0, 1], got {self.cut_threshold}")


@dataclass
class VideoFrame:
    """One painted frame: its number (from 0), its strokes, its picture ``(H, W, 3)`` float32 (the
    engine's render at the painting's size), whether a new painting started here (first frame or
    a scene cut) and the seconds it took."""

    index: int
    strokes: Strokes
    picture: np.ndarray
    fresh: bool
    seconds: float


def paint_video(frames: Iterable[np.ndarray], config: PaintConfig | None = None,
                video: VideoConfig | None = None, *, first_index: int = 0,
                previous: tuple[np.ndarray, Strokes] | None = None,
                tick: Callable[[str], None] | None = None) -> Iterator[VideoFrame]:
    """Paint ``frames`` (``(H, W, 3)`` arrays in [0, 1], all one size) one by one; yields a
    ``VideoFrame`` as each is done.

    ``first_index`` numbers the first frame; ``previous = (frame, strokes)`` continues a stopped
    run from the frame before it (the strokes then carry on instead of a fresh painting).
    ``tick(stage)`` is called as each frame's stages end. Deterministic: frame ``i`` uses the seed
    ``config.seed + i``.
    """
    cfg = config or PaintConfig()
    video = video or VideoConfig()
    cfg.validate()
    video.validate()
    device = resolve_device(cfg.device)
    renderer = make_renderer(cfg, device)
    stroke = renderer.stroke
    cfg = cfg.resolved(renderer)
    before = None  # (photo tensor, params tensor) of the frame before
    optimizer = None  # the Adam of the frame before (VideoConfig.moments says what carries on)
    constraints = None
    if previous is not None:
        frame, strokes = previous
        if strokes.stroke_type != stroke.name or strokes.stroke_options != stroke.options:
            raise NeuralPaintError(f"cannot continue {strokes.stroke_type} strokes {strokes.stroke_options} "
                                   f"with {stroke.name} {stroke.options}")
        before = (prepare_photo(frame, cfg.size, device), strokes.params_tensor(device))
        optimizer = adam_from_metadata(strokes.metadata.get("adam"), before[1], video)
    for index, frame in enumerate(frames, start=first_index):
        start = time.perf_counter()
        photo = prepare_photo(frame, cfg.size, device)
        H, W = photo.shape[1:]
        if min(H, W) < 2:
            raise NeuralPaintError(f"frames are too thin to paint at size {cfg.size}: {H}x{W}")
        if before is not None and tuple(before[0].shape) != tuple(photo.shape):
            raise NeuralPaintError(f"frame {index} is {W}x{H} pixels after resizing, the frame before "
                                   f"{before[0].shape[2]}x{before[0].shape[1]}: all frames must be the same size")
        fresh = before is None or cut_distance(before[0], photo) > video.cut_threshold
        if constraints is None or fresh:
            palette = photo_palette(photo, cfg.palette, cfg.seed).to(device) if cfg.palette else None
            constraints = StrokeConstraints(stroke, opaque=cfg.opaque or palette is not None,
                                            min_size=cfg.min_stroke_size, long_side=max(H, W), palette=palette)
        if fresh:
            optimizer = None
            state = paint_photo(photo, renderer, dataclasses.replace(cfg, seed=cfg.seed + index), progress=False)
            if state.interrupted:
                raise KeyboardInterrupt
            params = state.params
        else:
            params, gone = before[1], None
            if video.carry:
                flow = optical_flow(before[0], photo)
                if video.respawn_gone:
                    gone = torch.as_tensor(left_frame(stroke, params, flow), device=params.device)
                params = carry_strokes(stroke, params, flow)
            if tick is not None:
                tick("flow")
            generator = torch.Generator().manual_seed(cfg.seed + index)
            params, optimizer = refine_frame(renderer, params, photo, cfg, video, optimizer, generator,
                                           constraints.apply_ if constraints.active else None, gone)
        picture = render_painting(stroke, params.detach().cpu().numpy(), H, W, cfg.canvas_colour)
        metadata = {"generator": "neuralpaint paint-video", "neuralpaint_version": __version__, "frame": index,
                    "fresh": fresh, "config": dataclasses.asdict(cfg), "video": dataclasses.asdict(video)}
        if not fresh and video.moments != "none" and optimizer is not None:
            metadata["adam"] = adam_metadata(optimizer, video)  # what the next frame carries on: --resume
        strokes = Strokes.from_stroke(stroke, params.cpu(), W, H, cfg.canvas_colour, metadata)
        before = (photo, params)
        yield VideoFrame(index=index, strokes=strokes, picture=picture.transpose(1, 2, 0), fresh=fresh,
                         seconds=time.perf_counter() - start)


def adam_metadata(optimizer: Adam, video: VideoConfig) -> dict:
    """The part of ``optimizer`` that ``video.moments`` carries to the next frame, for a strokes
    file's metadata (float32 arrays as base64, exact): ``steps``, ``exp_avg_sq`` (and ``exp_avg``)."""
    def encode(t: Tensor) -> str:
        return base64.b64encode(t.detach().cpu().numpy().astype("<f4").tobytes()).decode("ascii")

    out = {"steps": optimizer.steps, "exp_avg_sq": encode(optimizer.exp_avg_sq[0])}
    if video.moments == "both":
        out["exp_avg"] = encode(optimizer.exp_avg[0])
    return out


def adam_from_metadata(saved: dict | None, params: Tensor, video: VideoConfig) -> Adam | None:
    """The Adam that ``adam_metadata`` saved, for ``params (N, d)``; None without one."""
    if saved is None or video.moments == "none":
        return None
    optimizer = Adam([params.clone().requires_grad_(True)], lr=video.frame_lr)

    def decode(text: str) -> Tensor:
        values = np.frombuffer(base64.b64decode(text), "<f4").astype(np.float32)
        if values.size != params.numel():
            raise NeuralPaintError(f"the optimiser state saved holds {values.size} values for {params.numel()} parameters")
        return torch.as_tensor(values.reshape(tuple(params.shape)), dtype=params.dtype, device=params.device)

    optimizer.steps = int(saved["steps"])
    optimizer.exp_avg_sq[0] = decode(saved["exp_avg_sq"])
    if "exp_avg" in saved:
        optimizer.exp_avg[0] = decode(saved["exp_avg"])
    return optimizer


def refine_frame(renderer, params: Tensor, photo: Tensor, cfg: PaintConfig, video: VideoConfig,
                 optimizer: Adam | None, generator: torch.Generator, constrain=None,
                 gone: Tensor | None = None) -> tuple[Tensor, Adam | None]:
    """The carried strokes ``params (N, d)`` refined against ``photo (3, H, W)``: the painter's
    joint refinement (``painter.refine.refine``) for ``video.frame_steps`` steps at
    ``video.frame_lr`` on a canvas ``video.frame_size`` pixels long (None: the photo's size);
    strokes hidden at the fractions ``video.frame_respawn_at`` restart on top, and so do the
    strokes ``gone (N,)`` (carried out of the frame) before the first step.

    ``optimizer``: the Adam of the frame before (rows in the order of ``params``), or None;
    ``video.moments`` says what of it carries on (``second``: the squared-gradient averages and
    the step count, so that each parameter keeps the scale of its steps while the momentum of the
    frame before is dropped). Returns the params and the Adam to hand to the next frame."""
    if video.frame_steps <= 0 or params.shape[0] == 0:
        return params, optimizer
    _, H, W = photo.shape
    size = video.frame_size or max(H, W)
    if video.moments == "none" or optimizer is None:
        optimizer = Adam([params.clone().requires_grad_(True)], lr=video.frame_lr)
    elif video.moments == "second":
        optimizer.exp_avg[0].zero_()
    if gone is not None and gone.any():
        scale = min(1.0, size / max(H, W))
        h, w = max(1, round(H * scale)), max(1, round(W * scale))
        target = F.interpolate(photo[None], size=(h, w), mode="area")[0] if (h, w) != (H, W) else photo
        with torch.no_grad():
            painted = render_over(renderer, params, blank_canvas(h, w, cfg.canvas_colour, photo.device, photo.dtype))
        params = respawn_on_top(renderer.stroke, params, gone, painted, target, 1.0 / max(cfg.levels()),
                                cfg.init_opacity, generator)
        optimizer.replace(params, ~gone)  # the kept strokes keep their moments, the new ones start fresh
    params = refine(renderer, params, photo, cfg.canvas_colour, video.frame_steps, video.frame_lr, size,
                    loss=cfg.refine_loss, respawn_at=video.frame_respawn_at, respawn_pixels=cfg.respawn_pixels,
                    respawn_size=1.0 / max(cfg.levels()), opacity=cfg.init_opacity, generator=generator,
                    constrain=constrain, optimizer=optimizer)
    return params.detach(), optimizer
