"""The two pathways of a neural stroke renderer, as plain modules.

* ``PixelShuffleNet`` (rasterization): fully connected layers lift the parameters to a small
  feature map, then stages of conv + pixel shuffle double its size up to the output.
* ``DeconvNet`` (shading): a DCGAN-style generator; transposed convolutions with BatchNorm and
  ReLU grow a 4x4 map, seeded by the parameters, to the output size.

Both map ``params (B, d)`` to ``(B, C, S, S)`` logits; callers apply the output activation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class PixelShuffleConfig:
    in_dim: int
    out_channels: int
    size: int = 128  # output side; a power of two
    fc: tuple[int, ...] = (512, 1024, 2048, 4096)  # the last is reshaped to (C0, s0, s0)
    base: int = 16  # s0, side of the first feature map
    channels: tuple[int, ...] = (32, 16, 8)  # conv width of each upsampling stage
    coords: bool = False  # append (y, x) coordinate channels to the input of every conv stage


def coordinate_channels(x: Tensor) -> Tensor:
    """``(B, C, S, S) -> (B, C + 2, S, S)``: ``x`` with pixel-centre coordinates (y, x) in
    (-1, 1) appended, so the convolutions that follow know where they are (CoordConv)."""
    if x.dim() != 4:
        raise ValueError(f"coordinate_channels expects a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    B, _, H, W = x.shape
    ys = (torch.arange(H, device=x.device, dtype=x.dtype) + 0.5) * (2.0 / H) - 1.0
    xs = (torch.arange(W, device=x.device, dtype=x.dtype) + 0.5) * (2.0 / W) - 1.0
    grid = torch.stack([ys[:, None].expand(H, W), xs[None, :].expand(H, W)])  # (2, H, W)
    return torch.cat([x, grid.expand(B, 2, H, W)], dim=1)


class CoordConv(nn.Module):
    """A 3x3 convolution that also sees the pixel coordinates: ``(B, C, S, S) -> (B, out, S, S)``."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels + 2, out_channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(coordinate_channels(x))


class PixelShuffleNet(nn.Module):
    """``(B, in_dim) -> (B, out_channels, size, size)`` logits (rasterization pathway)."""

    def __init__(self, cfg: PixelShuffleConfig):
        super().__init__()
        stages = int(math.log2(cfg.size // cfg.base))
        if cfg.base * 2**stages != cfg.size or len(cfg.channels) != stages:
            raise ValueError(f"size {cfg.size} must be base {cfg.base} times 2**len(channels) ({len(cfg.channels)})")
        c0 = cfg.fc[-1] // (cfg.base * cfg.base)
        if c0 * cfg.base * cfg.base != cfg.fc[-1]:
            raise ValueError(f"last fc width {cfg.fc[-1]} must be a multiple of base**2 = {cfg.base ** 2}")
        self.cfg, self.c0 = cfg, c0
        layers, width = [], cfg.in_dim
        for w in cfg.fc:
            layers += [nn.Linear(width, w), nn.ReLU(inplace=True)]
            width = w
        self.fc = nn.Sequential(*layers)
        convs, c = [], c0
        for i, w in enumerate(cfg.channels):
            out = cfg.out_channels * 4 if i == stages - 1 else w  # pixel shuffle: / 4 channels
            first = CoordConv(c, w) if cfg.coords else nn.Conv2d(c, w, 3, padding=1)
            convs += [first, nn.ReLU(inplace=True), nn.Conv2d(w, out, 3, padding=1)]
            convs += [nn.PixelShuffle(2)]
            if i < stages - 1:
                convs += [nn.ReLU(inplace=True)]
            c = out // 4
        self.convs = nn.Sequential(*convs)

    def forward(self, params: Tensor) -> Tensor:
        B = params.shape[0]
        x = self.fc(params).view(B, self.c0, self.cfg.base, self.cfg.base)  # (B, C0, s0, s0)
        return self.convs(x)  # (B, out_channels, size, size)


@dataclass
class DeconvConfig:
    in_dim: int
    out_channels: int
    size: int = 128  # output side: 4 * 2**len(channels)
    channels: tuple[int, ...] = (512, 512, 256, 128, 64)  # width after each transposed conv


class DeconvNet(nn.Module):
    """``(B, in_dim) -> (B, out_channels, size, size)`` logits (shading pathway, DCGAN-style)."""

    def __init__(self, cfg: DeconvConfig):
        super().__init__()
        if 4 * 2 ** len(cfg.channels) != cfg.size:
            raise ValueError(f"size {cfg.size} must be 4 * 2**len(channels) = {4 * 2 ** len(cfg.channels)}")
        self.cfg = cfg
        layers, c = [], cfg.in_dim
        for i, w in enumerate(cfg.channels):
            stride, pad = (1, 0) if i == 0 else (2, 1)
            layers += [nn.ConvTranspose2d(c, w, 4, stride, pad, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            c = w
        layers += [nn.ConvTranspose2d(c, cfg.out_channels, 4, 2, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, params: Tensor) -> Tensor:
        B = params.shape[0]
        return self.net(params.view(B, -1, 1, 1))  # (B, out_channels, size, size)
