"""Evaluating a renderer checkpoint under the published protocol (``neuralpaint eval-renderer``).

Held-out strokes have every parameter uniform in [0, 1], drawn with the given seed, whatever
sampler the net was trained on, and are compared at 128x128 (the net's output is resized when it
renders at another size): foreground PSNR (``colour * mask``), alpha PSNR (the mask, i.e. alpha at
full opacity) and their mean, with the MSE pooled over all strokes and pixels. Speed is the
milliseconds per stroke of a batch of 64, forward only and forward + backward to the params (what
a painter needs).
"""
from __future__ import annotations

import os
import time

import torch

from ..nets import RendererNet
from ..device import resolve_device
from ..checkpoints import load_net
from ..strokes import get_stroke_type
from .train import compare_renders, evaluate, ground_truth

EVAL_SIZE = 128


def time_per_stroke(net: RendererNet, n_params: int, device: torch.device, batch: int = 64,
                    seconds: float = 1.0) -> tuple[float, float]:
    """Milliseconds per stroke: ``(forward, forward + backward to the params)``."""
    params = torch.rand(batch, n_params, generator=torch.Generator().manual_seed(0)).to(device)

    def run(backward: bool) -> float:
        def once():
            p = params.clone().requires_grad_(backward)
            with torch.set_grad_enabled(backward):
                colour, mask = net(p)
                if backward:
                    (colour * mask).mean().backward()

        for _ in range(2):
            once()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        n, start = 0, time.perf_counter()
        while n < 3 or time.perf_counter() - start < seconds:
            once()
            n += 1
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return (time.perf_counter() - start) / (n * batch) * 1e3

    return run(False), run(True)


def evaluate_checkpoint(path: str | os.PathLike, n: int = 2000, seed: int = 0, device: str = "auto",
                        sampler: str = "uniform", timing: bool = True, data: str | os.PathLike | None = None,
                        val_size: int = 1000) -> dict:
    """Metrics of the checkpoint at ``path``: ``psnr_fg``, ``psnr_alpha``, ``psnr`` (dB),
    ``ms_forward``, ``ms_backward`` (ms per stroke), ``params`` (parameter count) and, with
    ``sampler="train"``, the same PSNRs on the training sampler under ``train_*`` keys; with
    ``data`` (a stroke data set directory), the PSNRs on its held-out part (the last ``val_size``
    strokes, as ``train-renderer --net gan`` holds out) at its resolution under ``data_*`` keys."""
    dev = resolve_device(device)
    net, stroke, ckpt = load_net(path, device=dev)
    if data is not None:
        from .train_gan import GanConfig, evaluate_data, load_stroke_data

        held_out = load_stroke_data(GanConfig(stroke=stroke.name, stroke_options=stroke.options, data=str(data),
                                              val_size=val_size), dev)
        data_result = {f"data_{k}": v for k, v in evaluate_data(net, held_out, dev).items()}
        data_result.update(data_size=held_out.size, data_n=val_size)
    gen = torch.Generator().manual_seed(seed)
    uniform = torch.rand(n, stroke.n_params, generator=gen).to(dev)
    result = dict(evaluate(net, stroke, uniform, size=EVAL_SIZE))
    if sampler == "train":
        train = stroke.sample(n, torch.Generator().manual_seed(seed)).to(dev)
        result.update({f"train_{k}": v for k, v in evaluate(net, stroke, train, size=EVAL_SIZE).items()})
    if timing:
        fwd, bwd = time_per_stroke(net, stroke.n_params, dev)
        result["ms_forward"], result["ms_backward"] = round(fwd, 4), round(bwd, 4)
    if data is not None:
        result.update(data_result)
    result["params"] = sum(p.numel() for p in net.parameters())
    result.update({"stroke_type": stroke.name, "net": ckpt["net_config"]["net"], "size": net.cfg.size,
                   "steps": ckpt.get("steps"), "device": str(dev), "n": n, "seed": seed})
    return result


def resolution_ceiling(stroke_type: str, size: int, n: int = 1000, seed: int = 0, device: str = "auto") -> dict:
    """What a perfect net drawing at ``size x size`` would score under ``eval-renderer``'s protocol:
    the engine's own ``size``-pixel render, upsampled bilinearly, against its 128x128 render, on
    the same ``n`` uniform strokes. ``psnr_fg``, ``psnr_alpha``, ``psnr`` (dB)."""
    dev = resolve_device(device)
    stroke = get_stroke_type(stroke_type)
    uniform = torch.rand(n, stroke.n_params, generator=torch.Generator().manual_seed(seed)).to(dev)
    return compare_renders(lambda chunk: ground_truth(stroke, chunk, size), stroke, uniform, EVAL_SIZE)
