"""Settings of a painting run: one dataclass, its defaults shared by the API and ``neuralpaint paint``."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import NeuralPaintError


LOSSES = ("pixel", "feature", "pixel+feature")


@dataclass
class PaintConfig:
    """How to paint a photo. See ``neuralpaint paint --help`` for each option."""

    stroke: str = "oilpaintbrush"
    stroke_options: dict = field(default_factory=dict)
    max_divide: int = 5  # progressive levels 1x1 .. NxN blocks
    m_grid: int | None = None  # instead: one level of MxM blocks
    max_strokes: int = 500
    size: int = 512  # long side of the painting in pixels
    canvas_colour: tuple[float, float, float] = (1.0, 1.0, 1.0)
    renderer: str = "auto"  # auto | engine | model | neural
    checkpoint: str | None = None  # neural renderer weights (default: checkpoints/<stroke>.pt)
    # the engine in the loop: a renderer net's gradients with the engine's pixels as forward values
    # (renderers.HybridRenderer); None: on where the engine has no gradient (mypaint)
    engine_in_loop: bool | None = None
    # ... drawn again for strokes whose parameters moved more than this since (0: every step)
    engine_tolerance: float = 0.0
    # ... drawn only every N-th step; the steps between reuse its last pictures (HybridRenderer.every;
    # None: the stroke type's, StrokeType.engine_every: 8, 16 for mypaint, docs/mypaint.md)
    engine_every: int | None = None
    ot_weight: float = 0.0  # weight of the optimal-transport (Sinkhorn) term
    ot_levels: tuple[int, ...] | None = None  # levels (blocks along the longer side) using OT; None: all
    # optimiser steps every stroke receives in its level (None: the stroke type's,
    # StrokeType.iters_per_stroke: 40, 30 for mypaint; docs/benchmarks.md)
    iters_per_stroke: int | None = None
    schedule: str = "joint"  # joint: a block's strokes start together; published: one by one, all re-optimised
    lr: float = 0.02
    init_opacity: float = 0.4  # opacity of new strokes (stroke types with an opacity parameter)
    respawn_at: tuple[float, ...] = (0.25, 0.5)  # fractions of a level's steps at which vanished strokes restart
    respawn_pixels: float = 4.0  # a stroke showing on fewer working pixels than this has vanished
    work_size: int = 64  # blocks are optimised at most this many pixels across
    overlap: float = 0.25  # each block's window reaches this fraction of a block beyond its edges
    refine_steps: int | None = None  # joint steps on all strokes over the whole canvas at the end
    # (None: the stroke type's default, StrokeType.refine_steps: 300 for rectangle, 150 otherwise)
    # long side of the canvas during the joint refinement, at most the painting's (None: the stroke
    # type's, StrokeType.refine_size: 128, 256 for mypaint)
    refine_size: int | None = None
    refine_lr: float = 0.005
    # fractions of the refinement at which hidden strokes restart on top: every 5 % up to 80 %
    # (None: the stroke type's, StrokeType.refine_respawn_at; none for mypaint)
    refine_respawn_at: tuple[float, ...] | None = None
    # the strokes of the first N levels stay fixed in the refinement, drawn once beneath the others
    # (None: the stroke type's, StrokeType.refine_frozen_levels: 0, 2 for mypaint)
    refine_frozen_levels: int | None = None
    # also refine through a neural renderer: off, because at canvas scale (small strokes) the nets
    # tested disagree with their engines and the engine's render got worse (see the README)
    refine_neural: bool = False
    refine_loss: str = "l2"  # pixel loss of the refinement: l2 (what PSNR measures) or l1
    # painting against features (Nakano's intrinsic style): pixel | feature | pixel+feature
    loss: str = "pixel"
    feature_weight: float = 1.0  # weight of the backbone feature distance
    backbone: str = "auto"  # feature network: auto | vgg19 | vgg16 | efficientnet_lite0
    backbone_weights: str | None = None  # its weights file (default: where it is usually installed)
    # painterly controls
    opaque: bool = False  # every stroke fully opaque
    min_stroke_size: float = 0.0  # no stroke narrower than this many pixels of the painting
    palette: int | None = None  # paint with this many paints: k-means colours of the photo (opaque)
    seed: int = 0
    device: str = "auto"

    def validate(self) -> None:
        """Raise ``NeuralPaintError`` on settings that cannot work."""
        checks = [
            (self.max_strokes >= 1, f"--max-strokes must be at least 1, got {self.max_strokes}"),
            (self.max_strokes <= 100_000, f"--max-strokes must be at most 100000, got {self.max_strokes}"),
            (1 <= self.max_divide <= 32, f"--max-divide must be in 1..32, got {self.max_divide}"),
            (self.m_grid is None or 1 <= self.m_grid <= 64, f"--m-grid must be in 1..64, got {self.m_grid}"),
            (16 <= self.size <= 8192, f"--size must be in 16..8192 pixels, got {self.size}"),
            (self.iters_per_stroke is None or self.iters_per_stroke >= 1,
             f"--iters-per-stroke must be at least 1, got {self.iters_per_stroke}"),
            (self.ot_weight >= 0, f"--ot-weight must be 0 or more, got {self.ot_weight}"),
            (self.schedule in ("joint", "published"), f"schedule must be joint or published, got {self.schedule!r}"),
            (self.renderer in ("auto", "engine", "model", "neural"), f"--renderer must be auto, engine, model or neural, got {self.renderer!r}"),
            (self.engine_tolerance >= 0, f"--engine-tolerance must be 0 or more, got {self.engine_tolerance}"),
            (self.engine_every is None or self.engine_every >= 1, f"--engine-every must be at least 1, got {self.engine_every}"),
            (8 <= self.work_size <= 1024, f"work_size must be in 8..1024, got {self.work_size}"),
            (0 <= self.overlap <= 1, f"overlap must be in 0..1, got {self.overlap}"),
            (self.lr > 0 and self.refine_lr > 0, "learning rates must be positive"),
            (0 < self.init_opacity <= 1, f"init_opacity must be in (0, 1], got {self.init_opacity}"),
            (all(0 < f < 1 for f in self.respawn_at), f"respawn_at fractions must be in (0, 1), got {self.respawn_at}"),
            (self.refine_steps is None or self.refine_steps >= 0, f"refine_steps must be 0 or more, got {self.refine_steps}"),
            (self.refine_frozen_levels is None or self.refine_frozen_levels >= 0,
             f"--refine-frozen-levels must be 0 or more, got {self.refine_frozen_levels}"),
            (all(0 < f < 1 for f in self.refine_respawn_at or ()), f"refine_respawn_at fractions must be in (0, 1), got {self.refine_respawn_at}"),
            (self.refine_loss in ("l1", "l2"), f"refine_loss must be l1 or l2, got {self.refine_loss!r}"),
            (self.refine_size is None or 8 <= self.refine_size <= 8192, f"refine_size must be in 8..8192, got {self.refine_size}"),
            (self.loss in LOSSES, f"--loss must be one of {', '.join(LOSSES)}, got {self.loss!r}"),
            (self.feature_weight >= 0, f"--feature-weight must be 0 or more, got {self.feature_weight}"),
            (0 <= self.min_stroke_size <= self.size, f"--min-stroke-size must be in 0..--size pixels, got {self.min_stroke_size}"),
            (self.palette is None or 1 <= self.palette <= 256, f"--palette must be in 1..256 paints, got {self.palette}"),
        ]
        for ok, message in checks:
            if not ok:
                raise NeuralPaintError(message)

    # the settings whose None means "the stroke type's" (``StrokeType`` has each as a class attribute)
    PER_STROKE_TYPE = ("iters_per_stroke", "engine_every", "refine_steps", "refine_size", "refine_respawn_at",
                       "refine_frozen_levels")

    def resolved(self, renderer) -> PaintConfig:
        """This config with the ``PER_STROKE_TYPE`` settings that are None filled in from the
        renderer's stroke type (``renderer.stroke``), and 0 refinement steps through a renderer
        net unless ``refine_neural``. ``paint_image`` resolves once and hands the result on
        (``paint_photo`` expects it)."""
        filled = {name: self.of_stroke(renderer.stroke, name) for name in self.PER_STROKE_TYPE}
        filled["refine_respawn_at"] = tuple(filled["refine_respawn_at"])
        if not (renderer.exact or self.refine_neural):
            filled["refine_steps"] = 0
        return replace(self, **filled)

    def of_stroke(self, stroke, name: str):
        """The setting ``name``, or where it is None the stroke type's (``getattr(stroke, name)``)."""
        value = getattr(self, name)
        return getattr(stroke, name) if value is None else value

    def levels(self) -> list[int]:
        """Blocks along the longer side at each level."""
        return [self.m_grid] if self.m_grid else list(range(1, self.max_divide + 1))
