"""Neural stroke renderers: ``params (B, d) -> colour (B, 3, S, S), mask (B, 1, S, S)``.

A renderer net imitates a stroke engine. It predicts the stroke's *colour* and its opacity
*mask* at full opacity; the stroke's alpha is then ``A * mask`` (``A`` = the last parameter),
exactly as for the engines, whose alpha is linear in ``A``. Its *foreground* is
``colour * mask``.

Nets (see ``NETS``):

* ``fusion``: the dual-pathway renderer. Shading pathway (all params -> colour) times
  rasterization pathway (shape params -> mask).
* ``rasterization``, ``shading``: one pathway alone, predicting colour and mask together from all
  params (the ablation).
* ``*-light``: the same designs at 64x64 with reduced widths, to train and paint on a CPU.
* ``fusion-light-coords``: fusion-light whose rasterization convolutions also see the pixel
  coordinates (CoordConv); an ablation (it did not pay, see docs/benchmarks.md).
* ``gan``: a DCGAN-style generator trained adversarially on a stroke data set (``nets/gan.py``,
  registered in ``nets/__init__.py``; trained by ``neuralpaint/train_gan.py``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor, nn

from .layers import DeconvConfig, DeconvNet, PixelShuffleConfig, PixelShuffleNet


@dataclass
class RendererConfig:
    """Everything needed to rebuild a renderer net (stored in its checkpoint)."""

    net: str  # a key of NETS
    n_params: int  # d
    shape_params: int  # the first ``shape_params`` entries of a stroke are its shape
    size: int = 128
    pixel_shuffle: dict = field(default_factory=dict)  # overrides of PixelShuffleConfig
    deconv: dict = field(default_factory=dict)  # overrides of DeconvConfig
    gan: dict = field(default_factory=dict)  # overrides of nets.gan.GeneratorConfig

    def to_dict(self) -> dict:
        return asdict(self)


class RendererNet(nn.Module):
    """Base: ``forward(params) -> (colour (B, 3, S, S), mask (B, 1, S, S))``, both in [0, 1]."""

    def __init__(self, cfg: RendererConfig):
        super().__init__()
        self.cfg = cfg

    def check(self, params: Tensor) -> None:
        if params.dim() != 2 or params.shape[1] != self.cfg.n_params:
            raise ValueError(f"{self.cfg.net} renderer expects params of shape (B, {self.cfg.n_params}), "
                             f"got {tuple(params.shape)}")


class FusionRenderer(RendererNet):
    """Dual pathway: colour from all params (shading), mask from the shape params (rasterization)."""

    def __init__(self, cfg: RendererConfig):
        super().__init__(cfg)
        self.shading = DeconvNet(DeconvConfig(cfg.n_params, 3, cfg.size, **cfg.deconv))
        self.rasterization = PixelShuffleNet(PixelShuffleConfig(cfg.shape_params, 1, cfg.size, **cfg.pixel_shuffle))

    def forward(self, params: Tensor) -> tuple[Tensor, Tensor]:
        self.check(params)
        colour = torch.sigmoid(self.shading(params))
        mask = torch.sigmoid(self.rasterization(params[:, : self.cfg.shape_params]))
        return colour, mask


class SinglePathwayRenderer(RendererNet):
    """One pathway alone (the ablation): all params -> colour and mask as 4 channels."""

    def __init__(self, cfg: RendererConfig, net: nn.Module):
        super().__init__(cfg)
        self.net = net

    def forward(self, params: Tensor) -> tuple[Tensor, Tensor]:
        self.check(params)
        out = torch.sigmoid(self.net(params))
        return out[:, :3], out[:, 3:]


class RasterizationRenderer(SinglePathwayRenderer):
    """Rasterization pathway alone."""

    def __init__(self, cfg: RendererConfig):
        super().__init__(cfg, PixelShuffleNet(PixelShuffleConfig(cfg.n_params, 4, cfg.size, **cfg.pixel_shuffle)))


class ShadingRenderer(SinglePathwayRenderer):
    """Shading pathway alone."""

    def __init__(self, cfg: RendererConfig):
        super().__init__(cfg, DeconvNet(DeconvConfig(cfg.n_params, 4, cfg.size, **cfg.deconv)))


# 64x64 output and narrow layers: ~1,260 strokes/s per training step on 2 CPU cores (the full
# nets manage ~20), so a CPU can train one in well under an hour
LIGHT = dict(
    size=64,
    pixel_shuffle=dict(fc=(256, 512, 1024), base=8, channels=(16, 16, 8)),
    deconv=dict(channels=(128, 64, 32, 16)),
)
# the ablation of coordinate inputs: fusion-light whose rasterization convs also see (y, x)
LIGHT_COORDS = dict(LIGHT, pixel_shuffle=dict(LIGHT["pixel_shuffle"], coords=True))

# name -> (class, default overrides of RendererConfig)
NETS: dict[str, tuple[type[RendererNet], dict]] = {
    "fusion": (FusionRenderer, {}),
    "rasterization": (RasterizationRenderer, {}),
    "shading": (ShadingRenderer, {}),
    "fusion-light": (FusionRenderer, LIGHT),
    "fusion-light-coords": (FusionRenderer, LIGHT_COORDS),
    "rasterization-light": (RasterizationRenderer, LIGHT),
    "shading-light": (ShadingRenderer, LIGHT),
}


def net_names() -> list[str]:
    return list(NETS)


def renderer_config(net: str, n_params: int, shape_params: int, **overrides) -> RendererConfig:
    """The default config of ``net`` for a stroke type, with ``overrides`` applied."""
    if net not in NETS:
        raise ValueError(f"unknown renderer net {net!r}; known nets: {', '.join(NETS)}")
    defaults = dict(NETS[net][1])
    defaults.update(overrides)
    return RendererConfig(net=net, n_params=n_params, shape_params=shape_params, **defaults)


def build_net(cfg: RendererConfig) -> RendererNet:
    """A freshly initialised net for ``cfg``."""
    if cfg.net not in NETS:
        raise ValueError(f"unknown renderer net {cfg.net!r}; known nets: {', '.join(NETS)}")
    return NETS[cfg.net][0](cfg)
