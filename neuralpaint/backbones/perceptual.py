"""The perceptual loss of GAN renderer training: VGG16 features of prediction and target, L1.

The features are those of ``backbones.vgg.load_vgg`` (by default after the last ReLU of each block
up to relu3_3); the loss is the mean over those layers of the L1 distance between the features of
prediction and target. Weights are read from a file, never downloaded (``backbones.vgg``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .vgg import VGG16_FILE, VGGFeatures, default_vgg_path


def missing_vgg_message() -> str:
    """One line: the perceptual loss is off, and how to turn it on."""
    return (f"perceptual loss off: no VGG weights (looked for {default_vgg_path()}); using the pixel L1 + "
            f"edge/SSIM loss instead. To enable it, download {VGG16_FILE} (torchvision vgg16 IMAGENET1K_V1) on a "
            "machine with internet and copy it there, or pass --vgg-weights FILE")


class PerceptualLoss(nn.Module):
    """Mean over feature layers of ``L1(vgg(pred), vgg(target))``; the target gets no gradient."""

    def __init__(self, vgg: VGGFeatures):
        super().__init__()
        self.vgg = vgg

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        with torch.no_grad():
            target_feats = self.vgg(target)
        pred_feats = self.vgg(pred)
        losses = [F.l1_loss(p, t) for p, t in zip(pred_feats, target_feats)]
        return torch.stack(losses).mean()
