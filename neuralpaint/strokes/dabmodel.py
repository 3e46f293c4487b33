"""A differentiable model of MyPaint strokes: the coverage libmypaint's dabs give on average.

libmypaint draws a stroke as hundreds of small round dabs along the pen's path, each scattered and
sized at random by the brush's settings; it has no gradient. This model draws the same path (the
quadratic Bezier of a ``mypaint`` action, with its pressure ramp: ``strokes.mypaint``) as ``K``
straight segments and gives each a Gaussian profile, so that a pixel's density is a row of dabs
smeared into a line, and the alpha is ``1 - exp(-density)`` (dabs of opacity ``o`` stack as ``1 -
prod(1 - o)``):

* radius ``r = r0 * exp(rc + rp * p)`` at pen pressure ``p``, with ``r0`` the action's base
  radius (``mypaint.base_radius``): the brush's pressure and speed inputs to its radius;
* profile width ``sigma = r * exp(s0 + s1 * p)``: the dab's hardness, blurred by the brush's random
  offsets;
* density per radius of path ``exp(k0 + k1 * p) * sigmoid(kz * (p - kp))``: the dabs' opacity,
  their spacing and the brush's pressure-to-opacity mapping.

The eight numbers are a ``BrushModel``, fitted per brush to libmypaint's own renders of strokes
like the painter's (``fit_brush_model``; least squares on alpha at 64 x 64). Colour is the action's
colour wherever the stroke shows (brushes that mix or smudge colours are modelled as if they did
not). A brush's random texture is not modelled: the model gives its mean, and the painter measures
the texture itself by keeping libmypaint in the loop (``renderers.HybridRenderer``).

Shapes: ``segments (N, d) -> (N, K, 7)`` (the layout of ``kernels.segments``); ``render`` on a
``strokes.base.PixelGrid`` gives ``alpha (N, 1, h, w)``; ``render_cells`` the painter's cells
through the compiled kernels. Differentiable in the params, on CPU and CUDA.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import sys
from pathlib import Path

import torch
from torch import Tensor

from .. import kernels
from ..errors import NeuralPaintError
from ..fileutil import write_text_atomic
from ..resources import data_path
from ..kernels import segments as segment_kernels
from .base import PixelGrid
from .mypaint import DEFAULT_SIZES, PRESSURE_SCALE, REF, MyPaint, log_radius, path_points

SEGMENTS = 6  # straight pieces per stroke (the path is a quadratic Bezier: smooth)
SQRT2 = math.sqrt(2.0)
FIT_STROKES, FIT_STEPS, FIT_SIZE = 1200, 600, 64
FIT_VERSION = 2  # raise when the model or its fit changes: models fitted before are fitted again
SHIPPED = "mypaint_brushes.json"  # in checkpoints/: the models of the brushes we ship fitted


@dataclasses.dataclass(frozen=True)
class BrushModel:
    """The fitted constants of one brush (see the module's docstring)."""

    brush: str
    rc: float = 0.0
    rp: float = 0.0
    s0: float = -0.7
    s1: float = 0.0
    k0: float = 0.0
    k1: float = 1.0
    kz: float = 10.0
    kp: float = 0.0
    psnr: float | None = None  # alpha PSNR against libmypaint on held-out strokes, dB (fit_brush_model)

    NUMBERS = ("rc", "rp", "s0", "s1", "k0", "k1", "kz", "kp")

    def constants(self, like: Tensor) -> dict[str, Tensor]:
        return {n: like.new_tensor(getattr(self, n)) for n in self.NUMBERS}


def pressures(params: Tensor, t: Tensor) -> Tensor:
    """The pen pressure at path fractions ``t (K+1,)`` of strokes ``params (N, 12)``: ``(N, K+1)``,
    the ramp of ``mypaint.motion_events`` (start pressure to the mean over the first quarter, the
    mean to the end pressure over the last)."""
    start, end = PRESSURE_SCALE * params[:, 11:12], PRESSURE_SCALE * params[:, 0:1]
    mean = 0.5 * (start + end)
    s = t.view(1, -1)
    return torch.where(s < 0.25, start + (mean - start) * s / 0.25,
                       torch.where(s > 0.75, mean + (end - mean) * (s - 0.75) / 0.25, mean))


def segments(params: Tensor, height: int, width: int, model: BrushModel, sizes: str = DEFAULT_SIZES,
             K: int = SEGMENTS, th: dict[str, Tensor] | None = None) -> Tensor:
    """Strokes ``params (N, 12)`` (in [0, 1], size layout ``sizes``: ``mypaint.SIZES``) of a
    ``height x width`` canvas as ``(N, K, 7)`` soft
    segments (``kernels.segments.FIELDS``), differentiable in ``params`` (and in ``th``, the
    model's constants as tensors, when given: for fitting)."""
    th = model.constants(params) if th is None else th
    points = path_points(params, height, width, K)  # (N, K+1, 2)
    t = torch.linspace(0.0, 1.0, K + 1, device=params.device, dtype=params.dtype)
    p = pressures(params, t)
    p = 0.5 * (p[:, 1:] + p[:, :-1])  # (N, K) at each segment
    r0 = torch.exp(log_radius(params[:, 1:2], sizes)) * (max(height, width) / REF)
    r = r0 * torch.exp(th["rc"] + th["rp"] * p)
    sigma = r * torch.exp(th["s0"] + th["s1"] * p)
    density = torch.exp(th["k0"] + th["k1"] * p) * torch.sigmoid(th["kz"] * (p - th["kp"]))
    d = points[:, 1:] - points[:, :-1]
    length = torch.sqrt((d * d).sum(-1) + 1e-12)
    u = d / length[..., None]
    weight = density / r * sigma * (math.sqrt(math.pi) / (2 * SQRT2))  # so a long line's centre has D = density
    return torch.stack([points[:, :-1, 0], points[:, :-1, 1], u[..., 0], u[..., 1], length,
                        1.0 / (SQRT2 * sigma), weight], dim=-1)


def alpha_on_grid(seg: Tensor, xs: Tensor, ys: Tensor) -> Tensor:
    """Soft segments ``seg (N, K, 7)`` on pixel centres ``xs (N, 1, w)``, ``ys (N, h, 1)`` (canvas
    pixels): ``alpha (N, 1, h, w)``. The tensor code of ``kernels.segments`` (without its cut-off)."""
    N, K, _ = seg.shape
    f = [seg[..., i].view(N, K, 1, 1) for i in range(7)]
    ax, ay, ux, uy, length, inv, weight = f
    dx, dy = xs.view(N, 1, 1, -1) - ax, ys.view(N, 1, -1, 1) - ay
    along = (dx * ux + dy * uy) * inv
    perp = (dy * ux - dx * uy) * inv
    term = weight * torch.exp(-perp * perp) * (torch.erf(length * inv - along) + torch.erf(along))
    return 1.0 - torch.exp(-term.sum(1, keepdim=True))


class _SegmentCells(torch.autograd.Function):
    """``kernels.segments`` as a differentiable op on the segments (see ``segment_cells``)."""

    @staticmethod
    def forward(ctx, seg: Tensor, rows: Tensor, origins: Tensor, cell: int):
        seg = seg.detach().contiguous()
        alpha = seg.new_empty(rows.shape[0], cell * cell)
        segment_kernels.cells_forward(seg.numpy(), rows.numpy(), origins.numpy(), cell, alpha.numpy())
        ctx.save_for_backward(seg, rows, origins, alpha)
        ctx.cell = cell
        return alpha

    @staticmethod
    def backward(ctx, grad_alpha: Tensor):
        seg, rows, origins, alpha = ctx.saved_tensors
        per_pair = seg.new_empty(rows.shape[0], *seg.shape[1:])
        segment_kernels.cells_backward(seg.numpy(), rows.numpy(), origins.numpy(), ctx.cell, alpha.numpy(),
                                       grad_alpha.contiguous().numpy(), per_pair.numpy())
        return torch.zeros_like(seg).index_add_(0, rows, per_pair), None, None, None


def segment_cells(seg: Tensor, rows: Tensor, origins: Tensor, cell: int) -> Tensor:
    """Soft segments ``seg (N, K, 7)`` on ``cell x cell`` squares: stroke ``rows[k]`` on the square
    at ``origins[k]`` (``(T, 2)``, top, left): ``alpha (T, 1, cell, cell)``, differentiable in
    ``seg``. The compiled kernels where they serve the tensors, else the tensor code."""
    rows, origins = rows.to(torch.int64), origins.to(torch.int64)
    if kernels.serves(seg):
        return _SegmentCells.apply(seg, rows.contiguous(), origins.contiguous(), cell).view(-1, 1, cell, cell)
    steps = torch.arange(cell, device=seg.device, dtype=seg.dtype) + 0.5
    o = origins.to(seg.dtype)
    return alpha_on_grid(seg.index_select(0, rows), (o[:, 1:] + steps).unsqueeze(1), (o[:, :1] + steps).unsqueeze(2))


class DabModel:
    """A ``mypaint`` stroke type's differentiable stand-in: ``render``/``render_cells`` as a
    ``StrokeType``'s (colour = the action's colour), from the brush's ``BrushModel``."""

    def __init__(self, stroke: MyPaint, model: BrushModel):
        self.stroke = stroke
        self.model = model

    def render(self, params: Tensor, height: int, width: int, *, window: tuple[int, int] | None = None,
               offset: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``params (B, 12) -> colour (B, 3, h, w), alpha (B, 1, h, w)`` on the canvas or the
        ``window`` at per-stroke ``offset (B, 2)`` (top, left), as ``StrokeType.render``."""
        from .base import make_grid

        self.stroke.check_params(params)
        params = params.clamp(0.0, 1.0)
        grid: PixelGrid = make_grid(params.shape[0], height, width, window, offset, params.device, params.dtype)
        alpha = alpha_on_grid(segments(params, height, width, self.model, self.stroke.sizes), grid.xs, grid.ys)
        return self._colour(params, alpha), alpha

    def render_cells(self, params: Tensor, rows: Tensor, height: int, width: int, cell: int,
                     origins: Tensor) -> tuple[Tensor, Tensor]:
        """Stroke ``params[rows[k]]`` on the ``cell x cell`` square at ``origins[k]``: ``colour (T, 3,
        cell, cell)``, ``alpha (T, 1, cell, cell)``, as ``StrokeType.render_cells``."""
        self.stroke.check_params(params)
        params = params.clamp(0.0, 1.0)
        alpha = segment_cells(segments(params, height, width, self.model, self.stroke.sizes), rows, origins, cell)
        return self._colour(params.index_select(0, rows), alpha), alpha

    @staticmethod
    def _colour(params: Tensor, alpha: Tensor) -> Tensor:
        return params[:, 6:9, None, None].expand(-1, 3, *alpha.shape[2:])


# ---- fitting ----------------------------------------------------------------------------------
def fit_brush_model(stroke: MyPaint, n: int = FIT_STROKES, steps: int = FIT_STEPS, size: int = FIT_SIZE,
                    seed: int = 0) -> BrushModel:
    """The ``BrushModel`` of ``stroke``'s brush: Adam on the eight constants, least squares between
    the model's alpha and libmypaint's at ``size x size`` for ``n`` strokes (half drawn as the
    painter draws them, half uniform), a sixth of them held out for the PSNR it reports.
    Deterministic for a seed; a few seconds on a CPU."""
    generator = torch.Generator().manual_seed(seed)
    half = n // 2
    params = torch.cat([stroke.sample_painting(half, generator), stroke.sample(n - half, generator)]).double()
    params = params[torch.randperm(n, generator=generator)]
    _, alpha = stroke.render(params, size, size)
    test = max(1, n // 6)
    train_p, train_a, test_p, test_a = params[test:], alpha[test:], params[:test], alpha[:test]
    th = {k: torch.tensor(float(v), dtype=torch.float64, requires_grad=True)
          for k, v in dataclasses.asdict(BrushModel(stroke.brush)).items() if k in BrushModel.NUMBERS}
    opt = torch.optim.Adam(th.values(), lr=0.05)
    model = BrushModel(stroke.brush)

    def predict(p: Tensor) -> Tensor:  # each stroke on one cell: the whole canvas
        rows = torch.arange(p.shape[0])
        return segment_cells(segments(p, size, size, model, stroke.sizes, th=th), rows,
                             torch.zeros(p.shape[0], 2, dtype=torch.int64), size)

    for step in range(steps):
        pick = torch.randint(0, train_p.shape[0], (128,), generator=generator)
        loss = ((predict(train_p[pick]) - train_a[pick]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step == steps // 2:
            for group in opt.param_groups:
                group["lr"] = 0.01
    with torch.no_grad():
        mse = ((predict(test_p) - test_a) ** 2).mean().item()
    numbers = {k: round(v.item(), 5) for k, v in th.items()}
    return BrushModel(stroke.brush, **numbers, psnr=round(10 * math.log10(1.0 / max(mse, 1e-12)), 2))


def model_key(stroke: MyPaint) -> str:
    """The key of a brush's fitted model: the fit's version and the brush file's contents."""
    digest = hashlib.sha1(stroke.brush_file.read_bytes()).hexdigest()[:16]
    return f"v{FIT_VERSION}-{digest}"


def cache_dir() -> Path:
    """Where fitted brush models are kept between runs: ``$NEURALPAINT_CACHE`` or
    ``$XDG_CACHE_HOME/neuralpaint`` (``~/.cache/neuralpaint``), under ``brush_models``."""
    root = os.environ.get("NEURALPAINT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "neuralpaint")
    return Path(root) / "brush_models"


def shipped_models() -> dict[str, dict]:
    """The brush models shipped in ``checkpoints/mypaint_brushes.json``, by ``model_key``."""
    path = data_path("checkpoints") / SHIPPED
    try:
        return json.loads(path.read_text())["models"]
    except (OSError, ValueError, KeyError):
        return {}


@functools.cache
def brush_model(brush: str) -> BrushModel:
    """The ``BrushModel`` of ``brush``: shipped (``shipped_models``), cached from an earlier run
    (``cache_dir``), or fitted now (``fit_brush_model``, about half a minute, said on stderr) and
    cached."""
    stroke = MyPaint(brush)
    key = model_key(stroke)
    entry = shipped_models().get(key)
    cached = cache_dir() / f"{key}.json"
    if entry is None and cached.is_file():
        try:
            entry = json.loads(cached.read_text())
        except (OSError, ValueError):
            entry = None
    if entry is not None:
        return BrushModel(**{**entry, "brush": brush})
    print(f"neuralpaint: fitting the differentiable model of MyPaint brush {brush!r} to libmypaint "
          f"(once; kept in {cache_dir()})", file=sys.stderr)
    model = fit_brush_model(stroke)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(cached, json.dumps(dataclasses.asdict(model)))
    except (OSError, NeuralPaintError):
        pass  # a read-only home: fitted again next time
    return model


__all__ = ["BrushModel", "DabModel", "alpha_on_grid", "brush_model", "cache_dir", "fit_brush_model", "model_key",
           "segment_cells", "segments", "shipped_models"]
