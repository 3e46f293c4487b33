"""Painting against features instead of pixels: Nakano's "intrinsic style transfer".

The painting is compared with the photo in the feature space of a pretrained backbone
(``neuralpaint.backbones``), not pixel by pixel: the brush cannot copy the photo exactly,
and what it can match are edges, textures and colour patches, so its own marks show. At every
step the painted image and the photo go through the *same* small random shift, scale and
rotation (as Nakano does) so that the strokes are not driven to a pixel-exact copy of one
alignment of the features.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..backbones import load_backbone

SHIFT = 0.05  # of the image size
SCALE = 0.1  # +-10 %
ROTATION = math.radians(8)


def random_affine(n: int, generator: torch.Generator, device, dtype) -> Tensor:
    """``(n, 2, 3)`` affine maps for ``F.affine_grid``: rotation in +-ROTATION, scale in
    1 +- SCALE, shift in +-SHIFT of the image (normalised coordinates span 2)."""
    u = torch.rand(n, 4, generator=generator).to(device=device, dtype=dtype) * 2 - 1
    angle, scale = u[:, 0] * ROTATION, 1 + u[:, 1] * SCALE
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    return torch.stack([torch.stack([cos, -sin, u[:, 2] * 2 * SHIFT], 1),
                        torch.stack([sin, cos, u[:, 3] * 2 * SHIFT], 1)], 1)


class FeatureDistance:
    """``(painted, target) -> scalar``: the mean over ``layers`` of the squared feature difference,
    each normalised by the photo's mean squared feature, after one random affine jitter shared by
    both images (``jitter``). Images ``(B, 3, h, w)`` in [0, 1]."""

    def __init__(self, backbone, generator: torch.Generator, jitter: bool = True):
        self.backbone = backbone
        self.layers = tuple(dict.fromkeys([name for name, _ in backbone.style_layers["colour"]]
                                          + [backbone.content_layer]))
        self.generator = generator
        self.jitter = jitter

    def __call__(self, painted: Tensor, target: Tensor) -> Tensor:
        if painted.shape != target.shape or painted.dim() != 4 or painted.shape[1] != 3:
            raise ValueError(f"expected two (B, 3, h, w) images of one shape, got {tuple(painted.shape)} "
                             f"and {tuple(target.shape)}")
        B = painted.shape[0]
        both = torch.cat([painted, target])
        if self.jitter:
            theta = random_affine(B, self.generator, both.device, both.dtype).repeat(2, 1, 1)
            grid = F.affine_grid(theta, list(both.shape), align_corners=False)
            both = F.grid_sample(both, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
        feats = self.backbone(both, self.layers)
        total = painted.new_zeros(())
        for name in self.layers:
            p, t = feats[name][:B], feats[name][B:].detach()
            total = total + (p - t).square().mean() / t.square().mean().clamp_min(1e-8)
        return total / len(self.layers)


def load_feature_distance(backbone: str, weights: str | None, device: torch.device,
                          generator: torch.Generator) -> FeatureDistance:
    """The ``FeatureDistance`` of the backbone ``backbone`` (``auto``, ``vgg19``, ...; its
    ``weights`` file or the usual place) on ``device``, jittered with ``generator``."""
    return FeatureDistance(load_backbone(backbone, weights, device), generator)
