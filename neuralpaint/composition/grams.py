"""Per-region style statistics: Gram matrices of backbone features under region masks.

Gatys et al., "Controlling Perceptual Factors in Neural Style Transfer" (CVPR 2017), section 4:
the style of region ``r`` at a layer is the Gram matrix of the layer's features multiplied by the
region's mask brought down to the layer's resolution. We weight each feature position by its mask
value once and divide by the mask's total weight, so

    G_r = sum_p m_r(p) f(p) f(p)^T / (C * sum_p m_r(p))        f(p): the (C,) features at position p

which for a binary mask is Gatys et al.'s masked Gram (normalised by the region's size, so regions
of any size compare), for a mask of all ones ``style.losses.gram``, and for a soft mask (feathered
borders, planned for seams) a weighted average.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import NeuralPaintError


def region_masks(index: np.ndarray | Tensor, regions: int | None = None) -> Tensor:
    """A label map ``index (H, W)`` of integers ``0..R-1`` -> one-hot masks ``(R, H, W)`` float32
    (``R = regions``, default ``index.max() + 1``)."""
    index = torch.as_tensor(np.asarray(index) if isinstance(index, np.ndarray) else index).long()
    if index.dim() != 2:
        raise NeuralPaintError(f"a label map must have shape (H, W), got {tuple(index.shape)}")
    R = int(index.max()) + 1 if regions is None else int(regions)
    if index.min() < 0 or index.max() >= R:
        raise NeuralPaintError(f"label map values must be in 0..{R - 1}, got {int(index.min())}..{int(index.max())}")
    return F.one_hot(index, R).permute(2, 0, 1).float()


def masks_at(masks: Tensor, height: int, width: int) -> Tensor:
    """``masks (R, H, W)`` -> ``(R, height, width)``: each feature position takes the mean of the
    mask over the pixels it covers (area averaging; the same masks when the size is right)."""
    if tuple(masks.shape[1:]) == (height, width):
        return masks
    return F.interpolate(masks[None], size=(height, width), mode="area")[0]


def region_grams(features: Tensor, masks: Tensor, min_weight: float = 1.0) -> Tensor:
    """Gram matrices of ``features`` under each region's mask.

    ``features``: ``(C, h, w)`` or ``(1, C, h, w)``, one image's feature map at one layer.
    ``masks``: ``(R, H, W)`` in [0, 1] at any resolution (usually the image's); brought to
    ``(h, w)`` by ``masks_at``. Returns ``(R, C, C)``: ``G_r = sum_p m_r(p) f(p) f(p)^T / (C sum_p
    m_r(p))`` (module docstring); with one mask of all ones this is ``style.losses.gram``.
    Differentiable in ``features``.

    ``NeuralPaintError`` for shapes that do not fit, mask values outside [0, 1], or a region whose
    mask weighs less than ``min_weight`` feature positions at this layer (an empty region, or one
    too small for the layer's resolution: it has no style there)."""
    if features.dim() == 4 and features.shape[0] == 1:
        features = features[0]
    if features.dim() != 3:
        raise NeuralPaintError(f"region_grams expects features of shape (C, h, w) or (1, C, h, w), "
                               f"got {tuple(features.shape)}")
    if masks.dim() != 3 or masks.shape[0] < 1:
        raise NeuralPaintError(f"region_grams expects masks of shape (R, H, W), got {tuple(masks.shape)}")
    if not torch.isfinite(masks).all() or masks.min() < 0 or masks.max() > 1:
        raise NeuralPaintError("region masks must have values in [0, 1]")
    C, h, w = features.shape
    m = masks_at(masks.to(features), h, w).reshape(-1, h * w)  # (R, h * w)
    weight = m.sum(dim=1)  # (R,)
    small = (weight < min_weight).nonzero().flatten().tolist()
    if small:
        raise NeuralPaintError(f"region {small[0]} covers {float(weight[small[0]]):.2f} of the {h}x{w} feature "
                               f"positions at this layer; a region needs at least {min_weight:g}")
    flat = features.reshape(C, h * w)  # (C, h * w)
    weighted = flat[None] * m[:, None, :]  # (R, C, h * w)
    return weighted @ flat.T / (C * weight[:, None, None])  # (R, C, C)
