"""Adam, written out for the painter and ``stylize``.

Creating any ``torch.optim`` optimiser imports ``torch._dynamo``: about 2 s of every short command
on a 2-core machine (``python -X importtime``). This is the same arithmetic as
``torch.optim.Adam`` with its defaults (no weight decay, no AMSGrad), on a list of tensors, each
with its own learning rate, and with what the painter needs on top: restarting some rows (strokes)
with fresh moments, and carrying the moments over when the rows are reordered.
"""
from __future__ import annotations

import torch
from torch import Tensor


class Adam:
    """Adam (Kingma & Ba) on ``tensors`` (leaf tensors that require grad).

    ``lr``: one learning rate, or one per tensor. ``bounds``: ``(low, high)`` to clamp every
    tensor to after each step, or None. The moments are ``exp_avg[i]`` and ``exp_avg_sq[i]``
    (shaped like ``tensors[i]``); ``steps`` counts the steps taken (shared by all tensors)."""

    def __init__(self, tensors: list[Tensor], lr: float | list[float], betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, bounds: tuple[float, float] | None = None):
        lrs = list(lr) if isinstance(lr, (list, tuple)) else [lr] * len(tensors)
        if len(lrs) != len(tensors):
            raise ValueError(f"{len(lrs)} learning rates for {len(tensors)} tensors")
        self.tensors, self.lrs, self.betas, self.eps, self.bounds = list(tensors), lrs, betas, eps, bounds
        self.exp_avg = [torch.zeros_like(t) for t in self.tensors]
        self.exp_avg_sq = [torch.zeros_like(t) for t in self.tensors]
        self.steps = 0

    def zero_grad(self) -> None:
        for t in self.tensors:
            t.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One Adam step on every tensor that has a gradient."""
        self.steps += 1
        b1, b2 = self.betas
        correction1, correction2 = 1 - b1**self.steps, (1 - b2**self.steps) ** 0.5
        for x, lr, m, v in zip(self.tensors, self.lrs, self.exp_avg, self.exp_avg_sq):
            if x.grad is None:
                continue
            m.lerp_(x.grad, 1 - b1)
            v.mul_(b2).addcmul_(x.grad, x.grad, value=1 - b2)
            x.addcdiv_(m, (v.sqrt() / correction2).add_(self.eps), value=-lr / correction1)
            if self.bounds is not None:
                x.clamp_(*self.bounds)

    @torch.no_grad()
    def restart(self, rows: Tensor, i: int = 0) -> None:
        """Fresh moments for ``tensors[i][rows]`` (``rows``: a boolean mask or indices along the
        leading dimensions)."""
        self.exp_avg[i][rows] = 0
        self.exp_avg_sq[i][rows] = 0

    @torch.no_grad()
    def replace(self, tensor: Tensor, kept: Tensor, i: int = 0) -> None:
        """Optimise ``tensor`` instead of ``tensors[i]``: its first rows are the old rows where
        ``kept (n,)`` is True, in order, and its remaining rows are new (fresh moments)."""
        def carry(moment: Tensor) -> Tensor:
            fresh = moment.new_zeros(tensor.shape[0] - int(kept.sum()), *moment.shape[1:])
            return torch.cat([moment[kept], fresh])

        self.tensors[i] = tensor
        self.exp_avg[i], self.exp_avg_sq[i] = carry(self.exp_avg[i]), carry(self.exp_avg_sq[i])
