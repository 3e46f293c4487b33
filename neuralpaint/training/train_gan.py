"""Training the GAN renderer (``--net gan``) on a stroke data set: three phases, no framework.

Ground truth comes from a data set directory (``neuralpaint/dataset.py``: actions, strokes on
white, alphas), for stroke types whose engine is slow or absent on the training device (mypaint).
The last ``val_size`` strokes of the data set are held out, never trained on.

1. **pre-train** the generator non-adversarially: L1 on the stroke over white and on its alpha,
   an alpha-normalised L1 on its colour (thin strokes would otherwise leave it grey), plus a
   perceptual (VGG feature) loss when VGG weights are present (``neuralpaint/backbones/perceptual.py``),
   otherwise an edge (Sobel) term and optionally SSIM;
2. **critic**: freeze the generator and pre-train the critic as a binary classifier (BCE) on real
   vs generated strokes (for a conditioned critic, optionally also real strokes paired with the
   wrong action as negatives);
3. **gan**: continue both adversarially (non-saturating BCE or hinge loss) with the
   reconstruction loss of phase 1 kept, weighted so held-out PSNR does not collapse.

Every phase is resumable: its own directory holds ``state.pt`` (weights, optimisers, sampler
state; saved every ``save_every_seconds`` and on Ctrl-C) and ``log.jsonl``. Phases 1 and 3 also
write renderer checkpoints (``best.pt`` float16 following held-out PSNR, ``last.pt``; the format of
``neuralpaint.checkpoints``, so ``paint --renderer neural --checkpoint`` and ``eval-renderer`` take
them) and sample grids (predictions over white on top, the data set's strokes below)::

    OUT/phase1/{best.pt, last.pt, state.pt, log.jsonl, samples/}
    OUT/phase2/{state.pt, log.jsonl}
    OUT/phase3/{best.pt, last.pt, state.pt, log.jsonl, samples/}

Alpha: the generator predicts ``colour`` and ``mask``; the stroke's alpha is ``mask`` for types
without an opacity parameter (``stroke.alpha is None``, mypaint) and ``A * mask`` otherwise, as
``NeuralRenderer`` renders it, so a data set may hold strokes at any opacity.

Held-out PSNR follows the project's convention (``train.evaluate``): foreground ``colour * alpha``,
alpha, and their mean, MSE pooled over strokes and pixels, at the data set's resolution.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import NeuralPaintError
from ..fileutil import atomic_path
from ..nets import RendererNet, build_net, renderer_config
from ..nets.gan import CONDITIONS, Critic, CriticConfig, on_white
from ..device import resolve_device
from ..checkpoints import save_checkpoint
from ..resources import data_path
from ..strokes import StrokeType, get_stroke_type, recorded_stroke_type
from .train import layered_config, psnr

DEFAULT_CONFIG = data_path("configs") / "train_gan.yaml"
PHASES = {1: "pre-train", 2: "critic", 3: "gan"}


@dataclass
class GanConfig:
    """A GAN renderer training run. Defaults mirror ``configs/train_gan.yaml``."""

    stroke: str = "mypaint"
    stroke_options: dict = field(default_factory=dict)  # empty: the data set's
    data: str | None = None  # data set directory (required)
    data_limit: int | None = None  # use at most this many strokes of it (held-out part included)
    val_size: int = 1000  # the last val_size strokes are held out
    net_overrides: dict = field(default_factory=dict)  # RendererConfig overrides, e.g. {gan: {width: 16}}
    critic: dict = field(default_factory=dict)  # CriticConfig overrides: condition, width, ...
    batch_size: int = 64
    # reconstruction loss (phases 1 and 3)
    l1_weight: float = 1.0  # L1 on the stroke over white
    alpha_weight: float = 1.0  # L1 on alpha
    colour_weight: float = 0.1  # L1 on colour x true alpha, normalised by the true alpha's mass
    ssim_weight: float = 0.0  # without the perceptual loss: SSIM (kornia, 11x11) on the stroke over white
    edge_weight: float = 0.5  # without the perceptual loss: L1 between Sobel edge maps
    perceptual: str = "auto"  # auto (on when VGG weights are found), on (error if not), off
    perceptual_weight: float = 0.1
    vgg_weights: str | None = None  # default: $TORCH_HOME/hub/checkpoints/vgg16-397923af.pth
    vgg_max_layer: int = 15  # last VGG features index used (15: relu3_3)
    # phase 1: pre-train the generator
    pretrain_steps: int = 20000
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    lr_decay_steps: int = 8000  # step decay: lr *= lr_decay_gamma every lr_decay_steps (phase 1)
    lr_decay_gamma: float = 0.3
    # phase 2: pre-train the critic (generator frozen)
    critic_steps: int = 2000
    critic_lr: float = 2e-4
    mismatch_weight: float = 0.0  # conditioned critics: weight of (real stroke, wrong action) negatives
    # phase 3: adversarial
    gan_steps: int = 10000
    gan_lr: float = 5e-5  # generator
    gan_critic_lr: float = 1e-4
    gan_betas: tuple[float, float] = (0.5, 0.999)  # both nets, phases 2 and 3
    gan_loss: str = "bce"  # bce (non-saturating) or hinge
    adv_weight: float = 0.01  # generator loss = reconstruction + adv_weight * adversarial
    # bookkeeping
    eval_every: int = 500
    save_every_seconds: float = 120.0
    sample_every: int = 2000
    seed: int = 0
    amp: bool = True  # bfloat16 autocast on CUDA (ignored on CPU)
    device: str = "auto"

    @classmethod
    def from_yaml(cls, path: str | os.PathLike | None = None, **overrides) -> "GanConfig":
        """Defaults, then ``configs/train_gan.yaml``, then the YAML file at ``path``, then
        ``overrides`` (``None`` values are ignored)."""
        values = layered_config(DEFAULT_CONFIG, path, overrides)
        if values.pop("net", "gan") != "gan":
            raise NeuralPaintError("a gan training config is for net: gan only")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise NeuralPaintError(f"unknown config keys: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        for key in ("betas", "gan_betas"):
            if key in values:
                values[key] = tuple(values[key])
        cfg = cls(**values)
        for name in ("batch_size", "val_size", "eval_every", "sample_every", "lr_decay_steps"):
            if int(getattr(cfg, name)) < 1:
                raise NeuralPaintError(f"{name} must be at least 1, got {getattr(cfg, name)}")
        for name in ("pretrain_steps", "critic_steps", "gan_steps"):
            if int(getattr(cfg, name)) < 0:
                raise NeuralPaintError(f"{name} must not be negative, got {getattr(cfg, name)}")
        if cfg.perceptual not in ("auto", "on", "off"):
            raise NeuralPaintError(f"perceptual must be auto, on or off, got {cfg.perceptual!r}")
        if cfg.gan_loss not in ("bce", "hinge"):
            raise NeuralPaintError(f"gan_loss must be bce or hinge, got {cfg.gan_loss!r}")
        if cfg.critic.get("condition", "none") not in CONDITIONS:
            raise NeuralPaintError(f"critic condition must be one of {', '.join(CONDITIONS)}, "
                                   f"got {cfg.critic['condition']!r}")
        return cfg

    def phase_steps(self, phase: int) -> int:
        return {1: self.pretrain_steps, 2: self.critic_steps, 3: self.gan_steps}[phase]


# ---- data -----------------------------------------------------------------------------------
@dataclass
class StrokeData:
    """A data set in memory: ``actions (N, d)`` float32, ``strokes (N, S, S, 3)`` and ``alphas
    (N, S, S)`` uint8; the first ``n_train`` are for training, the rest held out."""

    stroke: StrokeType
    actions: Tensor
    strokes: Tensor
    alphas: Tensor
    n_train: int
    info: dict

    @property
    def size(self) -> int:
        return self.strokes.shape[1]

    def batch(self, index: Tensor, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
        """``actions (B, d)``, ``strokes (B, 3, S, S)`` on white and ``alphas (B, 1, S, S)`` in
        [0, 1], as float32 on ``device``."""
        index = index.to(self.actions.device)
        actions = self.actions[index].to(device)
        strokes = self.strokes[index].to(device).permute(0, 3, 1, 2).float().div_(255.0)
        alphas = self.alphas[index].to(device).unsqueeze(1).float().div_(255.0)
        return actions, strokes, alphas

    def val_index(self) -> Tensor:
        return torch.arange(self.n_train, len(self.actions))


def load_stroke_data(cfg: GanConfig, device: torch.device) -> StrokeData:
    """The data set of ``cfg.data``, checked against the stroke type; ``NeuralPaintError`` if it
    is missing, for another stroke type, or too small for ``val_size``."""
    from .dataset import load_dataset

    if not cfg.data:
        raise NeuralPaintError("the gan renderer trains on a stroke data set: pass --data DIR "
                               "(or set data: in the config)")
    if not Path(cfg.data).is_dir():
        raise NeuralPaintError(f"{cfg.data}: no such data set directory")
    arrays, info = load_dataset(cfg.data, cfg.data_limit)
    if info["stroke_type"] != cfg.stroke:
        raise NeuralPaintError(f"{cfg.data}: the data set holds {info['stroke_type']!r} strokes, not {cfg.stroke!r}")
    options = dict(info.get("stroke_options") or {})
    if cfg.stroke_options and options and cfg.stroke_options != options:
        raise NeuralPaintError(f"{cfg.data}: the data set's stroke options are {options}, not {cfg.stroke_options}")
    try:
        stroke = (get_stroke_type(cfg.stroke, **cfg.stroke_options) if cfg.stroke_options
                  else recorded_stroke_type(cfg.stroke, options))
    except (KeyError, ValueError, TypeError) as err:
        raise NeuralPaintError(f"cannot make stroke type {cfg.stroke!r}: {err}") from None
    if arrays.actions.shape[1] != stroke.n_params:
        raise NeuralPaintError(f"{cfg.data}: actions have {arrays.actions.shape[1]} values, "
                               f"{stroke.name} strokes have {stroke.n_params}")
    n = len(arrays)
    if n <= cfg.val_size:
        raise NeuralPaintError(f"{cfg.data}: {n} strokes, not enough to hold out val_size={cfg.val_size} "
                               "and train on the rest")
    where = device if device.type == "cuda" else torch.device("cpu")
    return StrokeData(stroke, torch.from_numpy(arrays.actions).to(where), torch.from_numpy(arrays.strokes).to(where),
                      torch.from_numpy(arrays.alphas).to(where), n - cfg.val_size, info)


def stroke_alpha(stroke: StrokeType, params: Tensor, mask: Tensor) -> Tensor:
    """The alpha a ``NeuralRenderer`` draws: ``mask``, times the opacity parameter if any."""
    if stroke.alpha is None:
        return mask
    return mask * params[:, stroke.alpha].clamp(0.0, 1.0).view(-1, 1, 1, 1)


def render_white(net: RendererNet, stroke: StrokeType, params: Tensor,
                 size: int | None = None) -> tuple[Tensor, Tensor]:
    """The net's stroke over white ``(B, 3, S, S)`` and its alpha ``(B, 1, S, S)``, float32;
    resized bilinearly to ``size`` when given and not the net's own."""
    colour, mask = net(params)
    if size is not None and size != mask.shape[-1]:
        colour = F.interpolate(colour.float(), size=(size, size), mode="bilinear", align_corners=False)
        mask = F.interpolate(mask.float(), size=(size, size), mode="bilinear", align_corners=False)
    alpha = stroke_alpha(stroke, params, mask.float())
    return on_white(colour.float(), alpha), alpha


@torch.no_grad()
def evaluate_data(net: RendererNet, data: StrokeData, device: torch.device, batch_size: int = 256) -> dict:
    """Held-out PSNR (dB) on the data set's held-out part: foreground (``colour * alpha``), alpha,
    and their mean; MSE pooled over all strokes and pixels, at the data set's resolution."""
    was_training = net.training
    net.eval()
    fg_se = alpha_se = 0.0
    count = 0
    for index in data.val_index().split(batch_size):
        params, white, alpha = data.batch(index, device)
        pred_white, pred_alpha = render_white(net, data.stroke, params, data.size)
        pred_fg = pred_white - 1.0 + pred_alpha  # = colour * alpha
        true_fg = (white - 1.0 + alpha).clamp(0.0, 1.0)
        fg_se += F.mse_loss(pred_fg, true_fg, reduction="sum").item() / 3
        alpha_se += F.mse_loss(pred_alpha, alpha, reduction="sum").item()
        count += alpha.numel()
    net.train(was_training)
    fg, al = psnr(fg_se / count), psnr(alpha_se / count)
    return {"psnr_fg": round(fg, 3), "psnr_alpha": round(al, 3), "psnr": round((fg + al) / 2, 3)}


@torch.no_grad()
def critic_accuracy(critic: Critic, net: RendererNet, data: StrokeData, device: torch.device,
                    batch_size: int = 256) -> float:
    """Fraction of held-out strokes the critic classifies right: real ones as real, the (eval
    mode) generator's as generated; mean of the two rates."""
    was = net.training, critic.training
    net.eval()
    critic.eval()
    right = total = 0
    for index in data.val_index().split(batch_size):
        params, white, _ = data.batch(index, device)
        fake, _ = render_white(net, data.stroke, params)
        right += (critic(white, params) > 0).sum().item() + (critic(fake, params) <= 0).sum().item()
        total += 2 * len(index)
    net.train(was[0])
    critic.train(was[1])
    return round(right / total, 4)


def sample_grid(net: RendererNet, data: StrokeData, device: torch.device, n: int = 8) -> Tensor:
    """``(3, 2S, n S)``: the net's held-out strokes over white on top, the data set's below."""
    index = data.val_index()[:n]
    params, white, _ = data.batch(index, device)
    with torch.no_grad():
        was_training = net.training
        net.eval()
        pred, _ = render_white(net, data.stroke, params)
        net.train(was_training)
    rows = [torch.cat(list(x), dim=2) for x in (pred, white)]
    return torch.cat(rows, dim=1).clamp(0, 1).cpu()


# ---- losses -----------------------------------------------------------------------------------
def sobel_magnitude(images: Tensor, eps: float = 1e-6) -> Tensor:
    """Per-channel Sobel gradient magnitude ``(B, C, H, W)`` (kernels normalised by 1/8, border
    replicated: ``kornia.filters.sobel``'s values), from shifted slices: on a CPU ~7x faster than
    the depthwise convolution, forward and backward."""
    x = F.pad(images, (1, 1, 1, 1), mode="replicate")
    dx = x[..., :, 2:] - x[..., :, :-2]  # (B, C, H + 2, W)
    dy = x[..., 2:, :] - x[..., :-2, :]  # (B, C, H, W + 2)
    gx = (dx[..., :-2, :] + 2 * dx[..., 1:-1, :] + dx[..., 2:, :]) / 8
    gy = (dy[..., :, :-2] + 2 * dy[..., :, 1:-1] + dy[..., :, 2:]) / 8
    return torch.sqrt(gx * gx + gy * gy + eps)


class ReconstructionLoss:
    """L1 on the stroke over white and on alpha, plus the perceptual loss or SSIM + edge terms."""

    def __init__(self, cfg: GanConfig, device: torch.device, log=print):
        from ..backbones.perceptual import PerceptualLoss, missing_vgg_message
        from ..backbones.vgg import find_vgg_weights, load_vgg

        self.cfg = cfg
        self.perceptual = None
        if cfg.perceptual != "off":
            path = find_vgg_weights(cfg.vgg_weights)
            if path is None and cfg.perceptual == "on":
                raise NeuralPaintError(missing_vgg_message().replace("perceptual loss off",
                                                                     "perceptual: on needs VGG weights"))
            if path is None:
                log(missing_vgg_message())
            else:
                self.perceptual = PerceptualLoss(load_vgg(path, cfg.vgg_max_layer)).to(device)
                log(f"perceptual loss on: VGG features from {path}")

    def __call__(self, pred_white: Tensor, pred_alpha: Tensor, white: Tensor, alpha: Tensor,
                 colour: Tensor | None = None) -> Tensor:
        """``colour``: the generator's colour output, for the ``colour_weight`` term."""
        from kornia.losses import ssim_loss

        c = self.cfg
        loss = c.l1_weight * F.l1_loss(pred_white, white) + c.alpha_weight * F.l1_loss(pred_alpha, alpha)
        if c.colour_weight and colour is not None:
            # colour where the stroke is, whatever its size: L1 of colour x true alpha against the
            # true foreground, normalised by the true alpha's mass (thin strokes count fully)
            fg = (white - 1.0 + alpha).clamp(0.0, 1.0)
            err = (colour * alpha - fg).abs().sum() / (3.0 * alpha.sum() + 1e-6)
            loss = loss + c.colour_weight * err
        if self.perceptual is not None:
            loss = loss + c.perceptual_weight * self.perceptual(pred_white, white)
        else:
            if c.ssim_weight:
                window = min(11, white.shape[-1] // 2 * 2 - 1)
                loss = loss + c.ssim_weight * ssim_loss(pred_white, white, window)
            if c.edge_weight:
                loss = loss + c.edge_weight * F.l1_loss(sobel_magnitude(pred_white), sobel_magnitude(white))
        return loss


def critic_loss(kind: str, logits: Tensor, real: bool) -> Tensor:
    """The critic's loss on logits of real (``real=True``) or generated strokes."""
    if kind == "hinge":
        return F.relu(1.0 - logits).mean() if real else F.relu(1.0 + logits).mean()
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(real)))


def generator_adv_loss(kind: str, fake: Tensor) -> Tensor:
    """The generator's adversarial loss on the critic's logits of its strokes."""
    if kind == "hinge":
        return -fake.mean()
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))  # non-saturating


# ---- the run ----------------------------------------------------------------------------------
def build_generator(cfg: GanConfig, stroke: StrokeType, size: int) -> RendererNet:
    overrides = dict(cfg.net_overrides)
    if overrides.get("size", 64) != size:
        raise NeuralPaintError(f"the data set's strokes are {size} px but net_overrides asks for "
                               f"{overrides['size']} px")
    overrides["size"] = size
    shape = stroke.shape.stop if isinstance(stroke.shape, slice) else stroke.n_params
    try:
        return build_net(renderer_config("gan", stroke.n_params, shape, **overrides))
    except (TypeError, ValueError) as err:
        raise NeuralPaintError(f"cannot build the gan generator: {err}") from None


def build_critic(cfg: GanConfig, stroke: StrokeType, size: int) -> Critic:
    try:
        return Critic(CriticConfig(n_params=stroke.n_params, size=size, **cfg.critic))
    except (TypeError, ValueError) as err:
        raise NeuralPaintError(f"cannot build the critic: {err}") from None


# what must not change between a phase's runs, and between phases
_IDENTITY = ("stroke", "stroke_options", "data", "data_limit", "val_size", "net_overrides")


def _check_same(saved: dict, cfg: GanConfig, keys, where: Path) -> None:
    now = dataclasses.asdict(cfg)
    for key in keys:
        if saved.get(key) != now[key]:
            raise NeuralPaintError(f"{where}: {key} was {saved.get(key)!r} there, now {now[key]!r}; "
                                   "use the same settings or another --out")


def _load_state(path: Path, device: torch.device) -> dict:
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # torch raises many types for corrupt files
        raise NeuralPaintError(f"{path}: not a readable training state ({type(err).__name__})") from None


def train_gan(cfg: GanConfig, out_dir: str | os.PathLike, *, phases: tuple[int, ...] = (1, 2, 3),
              resume: bool = False, progress: bool = True, log=None) -> dict:
    """Run ``phases`` in order (each resumed from its ``state.pt`` with ``resume``; a finished
    phase is skipped); returns ``{phase: result}``. See the module docstring for the files."""
    from tqdm import tqdm

    out = Path(out_dir)
    device = resolve_device(cfg.device)
    if log is None:
        log = (lambda msg: tqdm.write(msg, file=sys.stderr)) if progress else (lambda msg: None)
    states = {p: out / f"phase{p}" / "state.pt" for p in PHASES}
    if resume and not any(s.is_file() for s in states.values()):
        raise NeuralPaintError(f"nothing to resume: no phase*/state.pt in {out}")
    if not resume:
        for p in phases:
            if states[p].exists():
                raise NeuralPaintError(f"{out / f'phase{p}'} already holds a run; pass --resume to continue it "
                                       "or choose another --out")
    data = load_stroke_data(cfg, device)
    recon = ReconstructionLoss(cfg, device, log) if {1, 3} & set(phases) else None
    results = {}
    for p in sorted(phases):
        results[p] = _run_phase(p, cfg, out, data, device, recon, states, progress, log)
    return results


def _run_phase(phase: int, cfg: GanConfig, out: Path, data: StrokeData, device: torch.device, recon,
               states: dict, progress: bool, log) -> dict:
    from tqdm import tqdm

    from ..imagefiles.io import write_image

    pdir = out / f"phase{phase}"
    state_path = states[phase]
    total = cfg.phase_steps(phase)
    stroke = data.stroke
    torch.manual_seed(cfg.seed + phase)
    net = build_generator(cfg, stroke, data.size).to(device)
    critic = build_critic(cfg, stroke, data.size).to(device) if phase > 1 else None
    gen = torch.Generator().manual_seed(cfg.seed * 10 + phase)
    step, best, elapsed = 0, -math.inf, 0.0

    if phase == 1:
        opt_g = torch.optim.Adam(net.parameters(), lr=cfg.lr, betas=cfg.betas)
        sched = torch.optim.lr_scheduler.StepLR(opt_g, step_size=cfg.lr_decay_steps, gamma=cfg.lr_decay_gamma)
    else:
        opt_g = torch.optim.Adam(net.parameters(), lr=cfg.gan_lr, betas=cfg.gan_betas) if phase == 3 else None
        sched = None
    opt_d = (torch.optim.Adam(critic.parameters(), lr=cfg.critic_lr if phase == 2 else cfg.gan_critic_lr,
                              betas=cfg.gan_betas) if critic is not None else None)

    if state_path.is_file():  # resume this phase
        state = _load_state(state_path, device)
        _check_same(state["config"], cfg, _IDENTITY + (("critic",) if phase > 1 else ()), state_path)
        net.load_state_dict(state["net"])
        if critic is not None:
            critic.load_state_dict(state["critic"])
        for obj, key in ((opt_g, "opt_g"), (opt_d, "opt_d"), (sched, "sched")):
            if obj is not None:
                obj.load_state_dict(state[key])
        gen.set_state(state["generator"])
        step, best, elapsed = state["step"], state["best"], state["elapsed"]
        if step >= total:
            log(f"phase {phase} ({PHASES[phase]}) already done: {step} of {total} steps")
            return {**state.get("metrics", {}), "steps": step, "best_psnr": best}
    else:  # start from the previous phases
        if phase > 1:
            prev = states[1]
            if not prev.is_file():
                raise NeuralPaintError(f"phase {phase} needs the pre-trained generator of phase 1: "
                                       f"no {prev} (run --phase 1 first)")
            s1 = _load_state(prev, device)
            _check_same(s1["config"], cfg, _IDENTITY, prev)
            if s1["step"] < s1["config"]["pretrain_steps"]:
                log(f"note: phase 1 stopped at step {s1['step']} of {s1['config']['pretrain_steps']}; "
                    "using its generator as it is")
            net.load_state_dict(s1["net"])
        if phase == 3:
            prev = states[2]
            if not prev.is_file():
                raise NeuralPaintError(f"phase 3 needs the pre-trained critic of phase 2: no {prev} "
                                       "(run --phase 2 first)")
            s2 = _load_state(prev, device)
            _check_same(s2["config"], cfg, _IDENTITY + ("critic",), prev)
            critic.load_state_dict(s2["critic"])
        if total == 0:
            log(f"phase {phase} ({PHASES[phase]}): 0 steps configured, skipped")
    pdir.mkdir(parents=True, exist_ok=True)
    if phase == 2:
        net.requires_grad_(False)
        net.eval()  # frozen: BatchNorm uses its running statistics
    else:
        net.train()
    if critic is not None:
        critic.train()

    use_amp = cfg.amp and device.type == "cuda"
    train_config = {**dataclasses.asdict(cfg), "net": "gan", "phase": phase}
    log_file = (pdir / "log.jsonl").open("a")
    metrics: dict = {}
    last_save = time.monotonic()
    run_start = time.monotonic() - elapsed
    bar = tqdm(total=total, initial=min(step, total), disable=not progress, unit="step",
               desc=f"{cfg.stroke}/gan phase {phase} ({PHASES[phase]})")

    def save_all():
        nonlocal last_save
        if phase != 2:
            save_checkpoint(pdir / "last.pt", net, stroke, steps=step, val=metrics, train_config=train_config,
                            device=str(device))
        payload = {"phase": phase, "net": net.state_dict(), "generator": gen.get_state(), "step": step,
                   "best": best, "elapsed": time.monotonic() - run_start, "metrics": metrics,
                   "config": dataclasses.asdict(cfg)}
        for obj, key in ((critic, "critic"), (opt_g, "opt_g"), (opt_d, "opt_d"), (sched, "sched")):
            if obj is not None:
                payload[key] = obj.state_dict()
        with atomic_path(state_path) as tmp:
            torch.save(payload, tmp)
        last_save = time.monotonic()

    def fakes(params: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
            colour, mask = net(params)
        alpha = stroke_alpha(stroke, params, mask.float())
        return on_white(colour.float(), alpha), alpha, colour.float()

    def judge(images: Tensor, params: Tensor) -> Tensor:
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
            return critic(images, params).float()

    unfinished = None
    try:
        while step < total:
            unfinished = gen.get_state()  # the sampler before this step's batch
            index = torch.randint(data.n_train, (cfg.batch_size,), generator=gen)
            params, white, alpha = data.batch(index, device)
            record: dict = {}
            if phase == 1:
                pred_white, pred_alpha, colour = fakes(params)
                loss = recon(pred_white, pred_alpha, white, alpha, colour)
                opt_g.zero_grad(set_to_none=True)
                loss.backward()
                opt_g.step()
                sched.step()
                record["loss"] = loss.item()
            else:
                if phase == 2:
                    with torch.no_grad():
                        pred_white, pred_alpha, colour = fakes(params)
                else:
                    pred_white, pred_alpha, colour = fakes(params)
                # the critic's step: real vs generated (and, conditioned, real with a wrong action)
                kind = cfg.gan_loss if phase == 3 else "bce"
                d_loss = (critic_loss(kind, judge(white, params), True)
                          + critic_loss(kind, judge(pred_white.detach(), params), False))
                if cfg.mismatch_weight and critic.cfg.condition != "none":
                    wrong = params.roll(1, dims=0)  # each real stroke paired with another's action
                    d_loss = d_loss + cfg.mismatch_weight * critic_loss(kind, judge(white, wrong), False)
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
                record["d_loss"] = d_loss.item()
                if phase == 3:  # the generator's step: reconstruction + adversarial
                    critic.requires_grad_(False)
                    adv = generator_adv_loss(cfg.gan_loss, judge(pred_white, params))
                    rec = recon(pred_white, pred_alpha, white, alpha, colour)
                    g_loss = rec + cfg.adv_weight * adv
                    opt_g.zero_grad(set_to_none=True)
                    g_loss.backward()
                    opt_g.step()
                    critic.requires_grad_(True)
                    record.update(loss=rec.item(), adv=adv.item())
            step += 1
            unfinished = None
            bar.update(1)

            if step % cfg.eval_every == 0 or step == total:
                metrics = evaluate_data(net, data, device) if phase != 2 else {}
                if critic is not None:
                    metrics["critic_acc"] = critic_accuracy(critic, net, data, device)
                entry = {"step": step, **{k: round(v, 6) for k, v in record.items()},
                         "seconds": round(time.monotonic() - run_start, 1), **metrics}
                log_file.write(json.dumps(entry) + "\n")
                log_file.flush()
                bar.set_postfix({k: f"{v:.4f}" for k, v in record.items()} |
                                {k: f"{v:.3f}" for k, v in metrics.items()})
                if phase != 2 and metrics["psnr"] > best:
                    best = metrics["psnr"]
                    save_checkpoint(pdir / "best.pt", net, stroke, steps=step, val=metrics,
                                    train_config=train_config, half=True, device=str(device))
            if phase != 2 and step % cfg.sample_every == 0:
                write_image(pdir / "samples" / f"step_{step:06d}.png", sample_grid(net, data, device))
            if time.monotonic() - last_save >= cfg.save_every_seconds or step == total:
                save_all()
    except KeyboardInterrupt:
        if unfinished is not None:  # Ctrl-C within a step: resume redraws its batch
            gen.set_state(unfinished)
        save_all()
        bar.close()
        log_file.close()
        raise
    if not state_path.is_file():  # a phase of 0 steps still records that it ran
        save_all()
    bar.close()
    log_file.close()
    return {**metrics, "steps": step, "best_psnr": best}
