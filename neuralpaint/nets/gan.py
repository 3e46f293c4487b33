"""The GAN-trained renderer: a DCGAN-style generator (a ``RendererNet``) and its critic.

``GanGenerator`` (registered as ``gan`` in ``NETS``): fully connected layers lift the action to a
4x4 feature map, transposed convolutions with BatchNorm and ReLU double it up to the output size,
and a sigmoid gives 4 channels: colour (3) and mask (1). What the data set and the critic see is
the stroke *on white*, ``colour * mask + (1 - mask)`` (see ``on_white``).

Its widths come from ``RendererConfig.gan`` (overrides of ``GeneratorConfig``): ``width`` is the
channel count of the last stage, each earlier stage doubles it (``8w, 4w, 2w, w`` at 64x64), so
cost grows as ``width**2``; the default 24 is 1.97 M parameters (3.9 MB as float16).

``Critic``: a conv net on RGB-on-white strokes (stride-2 convs with LeakyReLU and spectral
normalisation down to 4x4, then one logit), optionally conditioned on the action:

* ``none``: judges the image alone;
* ``projection``: adds ``<embed(action), features>`` to the logit (the projection discriminator
  of Miyato & Koyama, 2018, with an MLP embedding of the continuous action);
* ``concat``: the action enters as constant extra input channels.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from .architectures import RendererConfig, RendererNet


@dataclass
class GeneratorConfig:
    width: int = 24  # channels of the last stage; earlier stages double it
    fc: int = 512  # hidden width of the fully connected lift (0: one linear layer)
    max_channels: int = 512  # cap on any stage's width


class GanGenerator(RendererNet):
    """``params (B, d) -> colour (B, 3, S, S), mask (B, 1, S, S)`` in [0, 1]."""

    def __init__(self, cfg: RendererConfig):
        super().__init__(cfg)
        g = GeneratorConfig(**cfg.gan)
        stages = int(round(math.log2(cfg.size / 4)))
        if stages < 1 or 4 * 2**stages != cfg.size:
            raise ValueError(f"gan renderer size must be 4 * 2**k with k >= 1, got {cfg.size}")
        if g.width < 1 or g.fc < 0:
            raise ValueError(f"gan renderer width must be positive and fc non-negative, got {g}")
        self.gcfg = g
        # widths of the 4x4 map and of each stage's output except the last (which is 4 channels)
        widths = [min(g.width * 2 ** (stages - 1 - i), g.max_channels) for i in range(stages)]
        self.c0 = widths[0]
        lift = [nn.Linear(cfg.n_params, g.fc), nn.ReLU(inplace=True)] if g.fc else []
        lift += [nn.Linear(g.fc or cfg.n_params, self.c0 * 16)]
        self.fc = nn.Sequential(*lift)
        layers: list[nn.Module] = [nn.BatchNorm2d(self.c0), nn.ReLU(inplace=True)]
        for i in range(stages):
            out = widths[i + 1] if i + 1 < stages else 4
            last = i + 1 == stages
            layers.append(nn.ConvTranspose2d(widths[i], out, 4, 2, 1, bias=last))
            if not last:
                layers += [nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
        self.deconv = nn.Sequential(*layers)

    def forward(self, params: Tensor) -> tuple[Tensor, Tensor]:
        self.check(params)
        x = self.fc(params).view(params.shape[0], self.c0, 4, 4)
        out = torch.sigmoid(self.deconv(x))
        return out[:, :3], out[:, 3:]


def on_white(colour: Tensor, alpha: Tensor) -> Tensor:
    """The stroke composited over a white canvas: ``colour * alpha + (1 - alpha)``."""
    return colour * alpha + (1.0 - alpha)


@dataclass
class CriticConfig:
    n_params: int
    size: int = 64
    condition: str = "none"  # none | projection | concat (none measured best: see docs/benchmarks.md)
    width: int = 32  # channels of the first conv; each stride-2 stage doubles it
    max_channels: int = 256
    embed: int = 256  # hidden width of the action embedding (projection)
    spectral_norm: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


CONDITIONS = ("none", "projection", "concat")


class Critic(nn.Module):
    """``(images (B, 3, S, S) on white in [0, 1], params (B, d)) -> logits (B,)``: real vs
    generated."""

    def __init__(self, cfg: CriticConfig):
        super().__init__()
        if cfg.condition not in CONDITIONS:
            raise ValueError(f"unknown critic condition {cfg.condition!r}; known: {', '.join(CONDITIONS)}")
        stages = int(round(math.log2(cfg.size / 4)))
        if stages < 1 or 4 * 2**stages != cfg.size:
            raise ValueError(f"critic size must be 4 * 2**k with k >= 1, got {cfg.size}")
        self.cfg = cfg
        sn = spectral_norm if cfg.spectral_norm else (lambda m: m)
        c = 3 + (cfg.n_params if cfg.condition == "concat" else 0)
        layers: list[nn.Module] = []
        for i in range(stages):
            w = min(cfg.width * 2**i, cfg.max_channels)
            layers += [sn(nn.Conv2d(c, w, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
            c = w
        self.convs = nn.Sequential(*layers)
        self.features = c * 16
        self.head = sn(nn.Linear(self.features, 1))
        if cfg.condition == "projection":
            self.embed = nn.Sequential(nn.Linear(cfg.n_params, cfg.embed), nn.ReLU(inplace=True),
                                       sn(nn.Linear(cfg.embed, self.features)))

    def forward(self, images: Tensor, params: Tensor) -> Tensor:
        x = images * 2.0 - 1.0  # [-1, 1]: white canvas is +1
        B = x.shape[0]
        if self.cfg.condition == "concat":
            x = torch.cat([x, (params * 2.0 - 1.0).view(B, -1, 1, 1).expand(-1, -1, *x.shape[2:])], dim=1)
        h = self.convs(x).flatten(1)
        logit = self.head(h).squeeze(1)
        if self.cfg.condition == "projection":
            logit = logit + (self.embed(params) * h).sum(1) / math.sqrt(self.features)
        return logit
