"""VGG feature extractors read from torchvision weight files.

One loader serves the GAN's perceptual loss (VGG16, ``backbones.perceptual``) and the style
backbones (``backbones.registry``: VGG19 and VGG16). The weights are read, never downloaded: either
a file given explicitly (``--vgg-weights FILE``, config ``vgg_weights``), or torchvision's ImageNet
weights in the torch hub cache, ``$TORCH_HOME/hub/checkpoints/vgg16-397923af.pth`` or ``vgg19-dcbb9e9d.pth``
(what ``VGG16_Weights.IMAGENET1K_V1`` / ``VGG19_Weights.IMAGENET1K_V1`` download; ``TORCH_HOME``
defaults to ``~/.cache/torch``). To use them on a machine without internet, download the file
elsewhere (``python -c "import torchvision; torchvision.models.vgg19(weights='IMAGENET1K_V1')"``)
and copy it into the cache or pass its path.

Accepted files: a state dict (``torch.load(weights_only=True)``) whose ``features.N.weight`` /
``features.N.bias`` entries are the 3x3 convolutions of a torchvision VGG ``features`` stack
without BatchNorm (a full ``vgg16`` state dict qualifies; ``classifier.*`` is ignored). The stack
is rebuilt from the indices alone: consecutive convolutions two apart are ``conv, ReLU``, three
apart have a max-pool between them, as in torchvision's layout. So a truncated or narrower stack
(the tests save a tiny random one) loads too.

By default features are taken after the ReLU that precedes each pooling (relu1_2, relu2_2, relu3_3
in VGG16) up to ``max_conv_index`` (15 = relu3_3), on ImageNet-normalised RGB (what the perceptual
loss compares). ``taps`` asks for named layers instead: ``relu{block}_{conv}`` (both from 1), e.g.
relu1_1, relu4_2.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from ..errors import NeuralPaintError

VGG16_FILE = "vgg16-397923af.pth"
VGG_FILES = {"vgg16": VGG16_FILE, "vgg19": "vgg19-dcbb9e9d.pth"}  # torchvision's IMAGENET1K_V1
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def default_vgg_path(arch: str = "vgg16") -> Path:
    """Where torchvision keeps the ImageNet weights of ``arch`` (``vgg16`` or ``vgg19``):
    ``$TORCH_HOME/hub/checkpoints/<file>``."""
    if arch not in VGG_FILES:
        raise ValueError(f"unknown VGG architecture {arch!r}; expected one of {', '.join(VGG_FILES)}")
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG_FILES[arch]


def find_vgg_weights(path: str | os.PathLike | None = None, arch: str = "vgg16") -> Path | None:
    """``path`` when given (``NeuralPaintError`` if it is not a file), else the hub cache's file
    for ``arch`` when present, else ``None``."""
    if path:
        p = Path(path)
        if not p.is_file():
            raise NeuralPaintError(f"{p}: no such VGG weights file")
        return p
    p = default_vgg_path(arch)
    return p if p.is_file() else None


def vgg_download_hint(arch: str = "vgg16") -> str:
    """How to get the weights of ``arch`` onto this machine (part of a one-line message)."""
    return (f"on a machine with internet run python -c \"import torchvision; torchvision.models.{arch}"
            f"(weights='IMAGENET1K_V1')\" and copy {VGG_FILES[arch]} to {default_vgg_path(arch).parent}/, "
            "or pass --vgg-weights FILE")


def vgg_layer_names(conv_indices: list[int]) -> dict[str, int]:
    """``{"relu{block}_{conv}": features index}`` of a VGG ``features`` stack whose convolutions
    sit at the sorted ``conv_indices`` (a gap of 3 between two means a max-pool between them)."""
    names, block, k = {}, 1, 0
    for n, idx in enumerate(conv_indices):
        if n and idx - conv_indices[n - 1] == 3:
            block, k = block + 1, 0
        k += 1
        names[f"relu{block}_{k}"] = idx
    return names


class VGGFeatures(nn.Module):
    """The VGG conv stack of a state dict, cut after ``max_conv_index``; frozen, eval mode.
    ``forward(images (B, 3, H, W) in [0, 1]) -> list of feature maps``: by default after the last
    ReLU of each block; with ``taps`` (names such as ``relu4_2``, see ``vgg_layer_names``) after
    those ReLUs, in the order given (the stack is then cut after the deepest one)."""

    def __init__(self, state: dict, max_conv_index: int = 15, taps: list[str] | tuple[str, ...] | None = None):
        super().__init__()
        convs = sorted(int(k.split(".")[1]) for k in state
                       if k.startswith("features.") and k.endswith(".weight") and k.count(".") == 2)
        named = vgg_layer_names(convs)
        if taps is not None:
            unknown = [t for t in taps if t not in named]
            if unknown or not taps:
                raise ValueError(f"no layer(s) {', '.join(unknown) or '(none asked)'} in this VGG "
                                 f"(it has {', '.join(named) or 'none'})")
            max_conv_index = max(named[t] for t in taps)
        convs = [i for i in convs if i <= max_conv_index]
        if not convs:
            raise ValueError("no features.N.weight convolution entries")
        layers: list[nn.Module] = []
        taps_at: list[int] = []  # indices into layers after which a feature map is taken
        conv_relu: dict[int, int] = {}  # features index of a conv -> index into layers of its ReLU
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
            conv_relu[idx] = len(layers) - 1
            gap = (convs[n + 1] - idx) if n + 1 < len(convs) else 2
            if gap == 3:  # conv, ReLU, max-pool: a block ends here
                taps_at.append(len(layers) - 1)
                layers.append(nn.MaxPool2d(2, 2))
            elif gap != 2:
                raise ValueError(f"features.{idx} and features.{convs[n + 1]} do not follow the VGG layout")
            in_ch = w.shape[0]
        if not taps_at or taps_at[-1] != len(layers) - 1:
            taps_at.append(len(layers) - 1)  # the last conv block's output
        if taps is not None:
            taps_at = [conv_relu[named[t]] for t in taps]
            while len(layers) - 1 > max(taps_at):  # nothing after the deepest tap
                layers.pop()
        self.layers = nn.ModuleList(layers)
        self.taps = set(taps_at)
        self.tap_order = list(taps_at)  # output order
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "VGGFeatures":  # always frozen
        return super().train(False)

    def forward(self, images: Tensor) -> list[Tensor]:
        x = (images - self.mean) / self.std
        found = {}
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.taps:
                found[i] = x
        return [found[i] for i in self.tap_order]


def load_vgg(path: str | os.PathLike, max_conv_index: int = 15,
             taps: list[str] | tuple[str, ...] | None = None) -> VGGFeatures:
    """The feature extractor of the weights file at ``path`` (``NeuralPaintError`` if unusable);
    ``max_conv_index`` and ``taps`` as in ``VGGFeatures``."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for corrupt files
        raise NeuralPaintError(f"{path}: not a readable VGG weights file ({type(err).__name__})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise NeuralPaintError(f"{path}: not a VGG state dict")
    try:
        return VGGFeatures(state, max_conv_index, taps)
    except (ValueError, KeyError, RuntimeError) as err:
        raise NeuralPaintError(f"{path}: not a torchvision VGG features state dict ({err})") from None
