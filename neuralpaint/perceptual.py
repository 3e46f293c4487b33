"""A perceptual (VGG feature) loss, when VGG weights are on this machine.

The weights are read, never downloaded: either a file given explicitly (``--vgg-weights FILE``,
config ``vgg_weights``), or torchvision's ImageNet VGG16 in the torch hub cache,
``$TORCH_HOME/hub/checkpoints/vgg16-397923af.pth`` (what ``VGG16_Weights.IMAGENET1K_V1`` downloads;
``TORCH_HOME`` defaults to ``~/.cache/torch``). To enable the loss on a machine without internet,
download that file elsewhere (``python -c "import torchvision;
torchvision.models.vgg16(weights='IMAGENET1K_V1')"``) and copy it into the cache or pass its path.

Accepted files: a state dict (``torch.load(weights_only=True)``) whose ``features.N.weight`` /
``features.N.bias`` entries are the 3x3 convolutions of a torchvision VGG ``features`` stack
without BatchNorm (a full ``vgg16`` state dict qualifies; ``classifier.*`` is ignored). The stack
is rebuilt from the indices alone: consecutive convolutions two apart are ``conv, ReLU``, three
apart have a max-pool between them, as in torchvision's layout. So a truncated or narrower stack
(the tests save a tiny random one) loads too.

Features are taken after the ReLU that precedes each pooling (relu1_2, relu2_2, relu3_3 in VGG16)
up to ``max_conv_index`` (15 = relu3_3), on ImageNet-normalised RGB; the loss is the mean over
those layers of the L1 distance between the features of prediction and target.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .errors import NeuralPaintError

VGG16_FILE = "vgg16-397923af.pth"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def default_vgg_path() -> Path:
    """Where torchvision keeps the ImageNet VGG16 weights (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG16_FILE


def find_vgg_weights(path: str | os.PathLike | None = None) -> Path | None:
    """``path`` when given (``NeuralPaintError`` if it is not a file), else the hub cache's VGG16
    file when present, else ``None``."""
    if path:
        p = Path(path)
        if not p.is_file():
            raise NeuralPaintError(f"{p}: no such VGG weights file")
        return p
    p = default_vgg_path()
    return p if p.is_file() else None


def missing_vgg_message() -> str:
    """One line: the perceptual loss is off, and how to turn it on."""
    return (f"perceptual loss off: no VGG weights (looked for {default_vgg_path()}); using the pixel L1 + "
            f"edge/SSIM loss instead. To enable it, download {VGG16_FILE} (torchvision vgg16 IMAGENET1K_V1) on a "
            "machine with internet and copy it there, or pass --vgg-weights FILE")


class VGGFeatures(nn.Module):
    """The VGG conv stack of a state dict, cut after ``max_conv_index``; frozen, eval mode.
    ``forward(images (B, 3, H, W) in [0, 1]) -> list of feature maps``."""

    def __init__(self, state: dict, max_conv_index: int = 15):
        super().__init__()
        convs = sorted(int(k.split(".")[1]) for k in state
                       if k.startswith("features.") and k.endswith(".weight") and k.count(".") == 2)
        convs = [i for i in convs if i <= max_conv_index]
        if not convs:
            raise ValueError("no features.N.weight convolution entries")
        layers: list[nn.Module] = []
        taps: list[int] = []  # indices into layers after which a feature map is taken
        in_ch = 3
        for n, idx in enumerate(convs):
            w = state[f"features.{idx}.weight"]
            if w.dim() != 4 or w.shape[1] != in_ch:
                raise ValueError(f"features.{idx}.weight has shape {tuple(w.shape)}, expected (C, {in_ch}, k, k)")
            conv = nn.Conv2d(in_ch, w.shape[0], w.shape[2], padding=w.shape[2] // 2)
            conv.weight.data.copy_(w.float())
            bias = state.get(f"features.{idx}.bias")
            if bias is not None:
                conv.bias.data.copy_(bias.float())
            else:
                conv.bias.data.zero_()
            layers += [conv, nn.ReLU(inplace=False)]
            gap = (convs[n + 1] - idx) if n + 1 < len(convs) else 2
            if gap == 3:  # conv, ReLU, max-pool: a block ends here
                taps.append(len(layers) - 1)
                layers.append(nn.MaxPool2d(2, 2))
            elif gap != 2:
                raise ValueError(f"features.{idx} and features.{convs[n + 1]} do not follow the VGG layout")
            in_ch = w.shape[0]
        if not taps or taps[-1] != len(layers) - 1:
            taps.append(len(layers) - 1)  # the last conv block's output
        self.layers = nn.ModuleList(layers)
        self.taps = set(taps)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "VGGFeatures":  # always frozen
        return super().train(False)

    def forward(self, images: Tensor) -> list[Tensor]:
        x = (images - self.mean) / self.std
        feats = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.taps:
                feats.append(x)
        return feats


def load_vgg(path: str | os.PathLike, max_conv_index: int = 15) -> VGGFeatures:
    """The feature extractor of the weights file at ``path`` (``NeuralPaintError`` if unusable)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for corrupt files
        raise NeuralPaintError(f"{path}: not a readable VGG weights file ({type(err).__name__})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise NeuralPaintError(f"{path}: not a VGG state dict")
    try:
        return VGGFeatures(state, max_conv_index)
    except (ValueError, KeyError, RuntimeError) as err:
        raise NeuralPaintError(f"{path}: not a torchvision VGG features state dict ({err})") from None


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
