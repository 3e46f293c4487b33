"""Training a renderer net to imitate a stroke engine: one readable loop, no framework.

Ground truth comes from the stroke type's engine, on the training device, for strokes drawn from
its sampler (every parameter uniform in [0, 1]): no dataset files. The loss is L2 on the
foreground (``colour * mask``) plus L2 on the mask (alpha at full opacity). A fixed, seeded
held-out set is evaluated every ``eval_every`` steps; ``best.pt`` (float16, shippable) follows the
best held-out PSNR, ``last.pt`` and ``state.pt`` (weights, optimiser, scheduler, sampler state)
are written at least every ``save_every_seconds`` and on Ctrl-C, so ``resume=True`` continues
where a run stopped.

Under ``torchrun`` (``training/ddp.py``) each process draws its own strokes (sampler seeded with
``seed + rank``), DistributedDataParallel averages the gradients, and rank 0 alone evaluates,
logs and writes the files; ``state.pt`` then also holds every rank's sampler state.

Run directory::

    OUT/best.pt  OUT/last.pt  OUT/state.pt  OUT/log.jsonl  OUT/samples/step_000500.png
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml
from torch import Tensor

from ..errors import NeuralPaintError
from ..fileutil import atomic_path
from ..nets import RendererNet, build_net, renderer_config
from ..device import resolve_device
from ..checkpoints import save_checkpoint
from ..resources import data_path
from ..strokes import StrokeType, get_stroke_type

DEFAULT_CONFIG = data_path("configs") / "train_renderer.yaml"


def layered_config(default: Path, path: str | os.PathLike | None, overrides: dict) -> dict:
    """Config values: the YAML at ``default`` (when it exists), then the YAML at ``path``, then
    ``overrides`` (``None`` values ignored). ``NeuralPaintError`` on unreadable files."""
    values: dict = {}
    for source in ([default] if default.is_file() else []) + ([Path(path)] if path else []):
        try:
            loaded = yaml.safe_load(Path(source).read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise NeuralPaintError(f"{source}: cannot read config ({str(err).splitlines()[0]})") from None
        if not isinstance(loaded, dict):
            raise NeuralPaintError(f"{source}: a config must be a mapping of keys to values")
        values.update(loaded)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return values


@dataclass
class TrainConfig:
    """A training run. Defaults mirror ``configs/train_renderer.yaml``."""

    stroke: str = "oilpaintbrush"
    stroke_options: dict = field(default_factory=dict)
    net: str = "fusion-light"
    net_overrides: dict = field(default_factory=dict)
    steps: int = 20000
    batch_size: int = 64
    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.999)
    lr_decay_steps: int = 15000
    lr_decay_gamma: float = 0.1
    val_size: int = 512
    val_seed: int = 1234
    eval_every: int = 500
    save_every_seconds: float = 120.0
    sample_every: int = 2000
    seed: int = 0
    amp: bool = True
    device: str = "auto"

    @classmethod
    def from_yaml(cls, path: str | os.PathLike | None = None, **overrides) -> "TrainConfig":
        """Defaults, then the YAML file (``configs/train_renderer.yaml`` when ``None``), then
        ``overrides`` (``None`` values are ignored)."""
        values = layered_config(DEFAULT_CONFIG, path, overrides)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise NeuralPaintError(f"unknown config keys: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        if "betas" in values:
            values["betas"] = tuple(values["betas"])
        cfg = cls(**values)
        for name in ("steps", "batch_size", "val_size", "eval_every", "sample_every", "lr_decay_steps"):
            if int(getattr(cfg, name)) < 1:
                raise NeuralPaintError(f"{name} must be at least 1, got {getattr(cfg, name)}")
        return cfg


def ground_truth(stroke: StrokeType, params: Tensor, size: int) -> tuple[Tensor, Tensor]:
    """The engine's ``colour (B, 3, S, S)`` and ``mask (B, 1, S, S)`` (alpha at full opacity)."""
    full = params.clone()
    if stroke.alpha is not None:  # types without an opacity parameter (mypaint) render as they are
        full[:, stroke.alpha] = 1.0
    colour, mask = stroke.render(full, size, size)
    return colour, mask


def psnr(mse: float) -> float:
    return 10.0 * math.log10(1.0 / max(mse, 1e-10))


@torch.no_grad()
def evaluate(net: RendererNet, stroke: StrokeType, params: Tensor, size: int | None = None,
             batch_size: int = 256) -> dict:
    """Held-out PSNR (dB) of foreground (``colour * mask``), of alpha at full opacity (the mask),
    and their mean, over ``params (N, d)``; MSE pooled over all strokes and pixels. ``size``:
    compare at this resolution (the net's output is resized bilinearly), default its own."""
    was_training = net.training
    net.eval()
    size = size or net.cfg.size
    result = compare_renders(net, stroke, params, size, batch_size)
    net.train(was_training)
    return result


@torch.no_grad()
def compare_renders(draw, stroke: StrokeType, params: Tensor, size: int, batch_size: int = 256) -> dict:
    """PSNRs (``psnr_fg``, ``psnr_alpha``, ``psnr``) of ``draw(params (b, d)) -> (colour (b, 3, s, s),
    mask (b, 1, s, s))`` against the engine at ``size x size`` (``draw``'s output resized
    bilinearly when ``s != size``); MSE pooled over all strokes and pixels."""
    fg_se = mask_se = 0.0
    count = 0
    for chunk in params.split(batch_size):
        colour, mask = draw(chunk)
        if mask.shape[-1] != size:
            colour = F.interpolate(colour.float(), size=(size, size), mode="bilinear", align_corners=False)
            mask = F.interpolate(mask.float(), size=(size, size), mode="bilinear", align_corners=False)
        gt_colour, gt_mask = ground_truth(stroke, chunk, size)
        fg_se += F.mse_loss(colour * mask, gt_colour * gt_mask, reduction="sum").item() / 3
        mask_se += F.mse_loss(mask, gt_mask, reduction="sum").item()
        count += mask.numel()
    fg, alpha = psnr(fg_se / count), psnr(mask_se / count)
    return {"psnr_fg": round(fg, 3), "psnr_alpha": round(alpha, 3), "psnr": round((fg + alpha) / 2, 3)}


def sample_grid(net: RendererNet, stroke: StrokeType, params: Tensor) -> Tensor:
    """``(3, 2S, n S)``: predicted strokes over white on top, the engine's below."""
    with torch.no_grad():
        was_training = net.training
        net.eval()
        colour, mask = net(params)
        net.train(was_training)
        gt_colour, gt_mask = ground_truth(stroke, params, net.cfg.size)
    pred = colour.float() * mask.float() + (1 - mask.float())
    true = gt_colour * gt_mask + (1 - gt_mask)
    rows = [torch.cat(list(x), dim=2) for x in (pred, true)]  # (3, S, n S) each
    return torch.cat(rows, dim=1).clamp(0, 1).cpu()


def _save_state(path: Path, net, opt, sched, gen: torch.Generator, step: int, best: float,
                elapsed: float, cfg: TrainConfig, generators: list | None = None) -> None:
    payload = {"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
               "generator": gen.get_state(), "step": step, "best": best, "elapsed": elapsed,
               "config": dataclasses.asdict(cfg)}
    if generators is not None:  # several processes: every rank's sampler, by rank
        payload["rank_generators"] = generators
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def train_renderer(cfg: TrainConfig, out_dir: str | os.PathLike, *, resume: bool = False,
                   progress: bool = True) -> dict:
    """Train (or, with ``resume``, continue training) a renderer net; returns the final held-out
    metrics, with ``steps`` and ``best_psnr``. See the module docstring for the files written."""
    from .ddp import ddp_setup, ddp_teardown

    ddp = ddp_setup(cfg.device)  # None in one process; under torchrun: rank, world size, device
    try:
        return _train(cfg, Path(out_dir), resume, progress, ddp)
    finally:
        ddp_teardown(ddp)


def _train(cfg: TrainConfig, out: Path, resume: bool, progress: bool, ddp) -> dict:
    from tqdm import tqdm

    from ..imagefiles.io import write_image

    rank, master = (ddp.rank, ddp.master) if ddp else (0, True)
    out.mkdir(parents=True, exist_ok=True)
    device = ddp.device if ddp else resolve_device(cfg.device)
    stroke = get_stroke_type(cfg.stroke, **cfg.stroke_options)
    torch.manual_seed(cfg.seed)
    net = build_net(renderer_config(cfg.net, stroke.n_params, stroke.shape.stop, **cfg.net_overrides)).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, betas=cfg.betas)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.lr_decay_steps, gamma=cfg.lr_decay_gamma)
    gen = torch.Generator().manual_seed(cfg.seed + rank)  # each rank draws its own strokes
    step, best, elapsed = 0, -math.inf, 0.0
    generators = None  # every rank's sampler state at the last save (several processes)

    state_path = out / "state.pt"
    if resume:
        if not state_path.is_file():
            raise NeuralPaintError(f"{state_path}: nothing to resume (no state.pt in {out})")
        state = torch.load(state_path, map_location=device, weights_only=True)
        saved = state["config"]
        for key in ("stroke", "stroke_options", "net", "net_overrides"):
            if saved[key] != dataclasses.asdict(cfg)[key]:
                raise NeuralPaintError(f"cannot resume: {key} was {saved[key]!r} in {state_path}, now {getattr(cfg, key)!r}")
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step, best, elapsed = state["step"], state["best"], state["elapsed"]
        generators = state.get("rank_generators")
        if ddp and generators is not None and len(generators) == ddp.world_size:
            gen.set_state(generators[rank])
        elif rank == 0:
            gen.set_state(state["generator"])
        else:  # saved by another number of processes: a fresh sampler for this rank and step
            gen.manual_seed(cfg.seed + rank + 1_000_003 * step)
    elif state_path.exists():
        raise NeuralPaintError(f"{out} already holds a run; pass --resume to continue it or choose another --out")

    size = net.cfg.size
    val_params = stroke.sample(cfg.val_size, torch.Generator().manual_seed(cfg.val_seed)).to(device)
    use_amp = cfg.amp and device.type == "cuda"
    log = (out / "log.jsonl").open("a") if master else None
    metrics: dict = {}
    last_save = time.monotonic()
    run_start = time.monotonic() - elapsed
    bar = tqdm(total=cfg.steps, initial=step, disable=not progress or not master, desc=f"{cfg.stroke}/{cfg.net}",
               unit="step")

    def save_all(gather: bool = True):
        nonlocal last_save, generators
        now = time.monotonic() - run_start
        if ddp and gather:  # not after Ctrl-C, when the other ranks may be gone: their last saved state
            generators = ddp.gather(gen.get_state())
        if master:
            save_checkpoint(out / "last.pt", net, stroke, steps=step, val=metrics,
                            train_config=dataclasses.asdict(cfg), device=str(device))
            if ddp and generators is not None:
                generators[0] = gen.get_state()
            _save_state(state_path, net, opt, sched, gen, step, best, now, cfg, generators if ddp else None)
        last_save = time.monotonic()

    model = ddp.wrap(net) if ddp else net  # DistributedDataParallel averages the gradients
    net.train()
    unfinished = None
    try:
        while step < cfg.steps:
            unfinished = gen.get_state()  # the sampler before this step's batch
            params = stroke.sample(cfg.batch_size, gen).to(device)
            with torch.no_grad():
                gt_colour, gt_mask = ground_truth(stroke, params, size)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
                colour, mask = model(params)
            colour, mask = colour.float(), mask.float()
            loss = F.mse_loss(colour * mask, gt_colour * gt_mask) + F.mse_loss(mask, gt_mask)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            unfinished = None
            bar.update(1)

            if step % cfg.eval_every == 0 or step == cfg.steps:
                mean_loss = ddp.mean(loss.item()) if ddp else loss.item()  # over every rank's batch
                if master:
                    metrics = evaluate(net, stroke, val_params)
                    record = {"step": step, "loss": round(mean_loss, 6), "lr": sched.get_last_lr()[0],
                              "seconds": round(time.monotonic() - run_start, 1), **metrics}
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                    bar.set_postfix(loss=f"{mean_loss:.4f}", psnr=f"{metrics['psnr']:.2f}")
                    if metrics["psnr"] > best:
                        best = metrics["psnr"]
                        save_checkpoint(out / "best.pt", net, stroke, steps=step, val=metrics,
                                        train_config=dataclasses.asdict(cfg), half=True, device=str(device))
            if master and step % cfg.sample_every == 0:
                write_image(out / "samples" / f"step_{step:06d}.png", sample_grid(net, stroke, val_params[:8]))
            due = time.monotonic() - last_save >= cfg.save_every_seconds or step == cfg.steps
            if ddp.agree(due) if ddp else due:  # rank 0's clock decides for all
                save_all()
    except KeyboardInterrupt:
        if unfinished is not None:  # Ctrl-C within a step: resume redraws its batch
            gen.set_state(unfinished)
        save_all(gather=False)
        bar.close()
        if log:
            log.close()
        raise
    bar.close()
    if log:
        log.close()
    return {**metrics, "steps": step, "best_psnr": best, "master": master}
