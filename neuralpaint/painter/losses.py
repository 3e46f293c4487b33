"""Losses between painted blocks and the photo: masked pixel L1 and optimal transport."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

OT_SIDE = 16  # blocks are compared by OT at this many pixels across
OT_COLOUR = 1.0  # weight of colour against position in the OT point cloud


def masked_l1(painted: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Mean absolute error over pixels where ``mask`` is 1: ``(B, 3, h, w)`` pairs, ``mask
    (B, 1, h, w)``. Returns a scalar."""
    return ((painted - target).abs() * mask).sum() / (mask.sum() * painted.shape[1]).clamp_min(1.0)


def masked_mse(painted: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Mean squared error over pixels where ``mask`` is 1: ``(B, 3, h, w)`` pairs, ``mask
    (B, 1, h, w)``. Returns a scalar."""
    return ((painted - target).square() * mask).sum() / (mask.sum() * painted.shape[1]).clamp_min(1.0)


PIXEL_LOSSES = {"l1": masked_l1, "l2": masked_mse}


def _gaussian_kernel(size: int, sigma: float, device, dtype) -> Tensor:
    x = torch.arange(size, device=device, dtype=dtype) - size // 2
    kernel = torch.exp(-x.square() / (2 * sigma * sigma))
    return kernel / kernel.sum()


def gaussian_blur(image: Tensor, size: int, sigma: float) -> Tensor:
    """``(B, C, h, w)`` blurred by a separable ``size``-tap (odd) Gaussian, edges replicated
    (what ``kornia.filters.gaussian_blur2d`` computes, without importing kornia: half a second
    of start-up)."""
    B, C, h, w = image.shape
    kernel = _gaussian_kernel(size, sigma, image.device, image.dtype)
    pad = size // 2
    flat = image.reshape(B * C, 1, h, w)
    flat = F.conv2d(F.pad(flat, (pad, pad, 0, 0), mode="replicate"), kernel.view(1, 1, 1, size))
    flat = F.conv2d(F.pad(flat, (0, 0, pad, pad), mode="replicate"), kernel.view(1, 1, size, 1))
    return flat.view(B, C, h, w)


def error_map(painted: Tensor, target: Tensor, sigma: float) -> Tensor:
    """Where a painting is furthest from the photo: the mean absolute error over RGB, Gaussian
    blurred (kernel about 4 sigma wide, edges replicated). ``(B, 3, h, w)`` pairs -> ``(B, 1, h, w)``."""
    error = (painted - target).abs().mean(1, keepdim=True)
    k = max(3, 2 * round(2 * sigma) + 1)
    return gaussian_blur(error, k, sigma)


def _point_cloud(image: Tensor) -> Tensor:
    """``(B, 3, h, w) -> (B, OT_SIDE**2, 5)`` points ``(x, y, r, g, b)`` of the downsampled image."""
    small = F.adaptive_avg_pool2d(image, OT_SIDE)  # (B, 3, s, s)
    B = image.shape[0]
    ys, xs = torch.meshgrid(torch.linspace(0, 1, OT_SIDE, device=image.device, dtype=image.dtype),
                            torch.linspace(0, 1, OT_SIDE, device=image.device, dtype=image.dtype), indexing="ij")
    pos = torch.stack([xs, ys], dim=-1).view(1, -1, 2).expand(B, -1, -1)
    colour = small.flatten(2).transpose(1, 2) * OT_COLOUR  # (B, s*s, 3)
    return torch.cat([pos, colour], dim=2)


class SinkhornLoss:
    """Debiased Sinkhorn divergence (geomloss) between the pixel clouds of painted and target
    blocks, batched over blocks: ``(B, 3, h, w)`` pairs -> scalar (mean over blocks)."""

    def __init__(self, blur: float = 0.1):
        try:
            from geomloss import SamplesLoss
        except ImportError as err:  # pragma: no cover - geomloss is a dependency
            raise RuntimeError("the optimal-transport loss needs geomloss: pip install geomloss") from err
        self.loss = SamplesLoss("sinkhorn", p=2, blur=blur, scaling=0.5, backend="tensorized")

    def __call__(self, painted: Tensor, target: Tensor) -> Tensor:
        return self.loss(_point_cloud(painted), _point_cloud(target)).mean()
