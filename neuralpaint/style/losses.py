"""Style, content and colour-distribution losses.

* ``gram``: the Gram matrix of a feature map normalised by ``C * H * W`` (so it does not grow
  with image size or depth), optionally of softmax-transformed features (``softmax_features``).
* ``StyleLoss``: the style image's Grams are computed once; the loss is, per layer, the squared
  Frobenius distance of the Grams relative to the style Gram's squared norm, weighted and summed.
  Relative distances make layer weights comparable across layers and backbones.
* ``ContentLoss``: relative squared feature distance at one deeper layer, plus a small pixel term
  on blurred luminance (keeps the composition's light and dark masses, not its colours).
* ``sliced_wasserstein``: distance between two colour distributions (CIE Lab, via kornia),
  compared along random directions by matching sorted projections (quantiles): differentiable,
  weights-free, in Lab units (about one just-noticeable difference per unit).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..backbones import Backbone
from ..colour import rgb_to_lab

SWD_QUANTILES = 256  # quantiles compared per direction
SWD_DIRECTIONS = 64


def softmax_features(feats: Tensor) -> Tensor:
    """``(B, C, H, W)`` -> the same shape: at each position a softmax over the channels, times ``C``
    so the values average 1. Our reading of the softmax transformation of Wang et al. (CVPR 2021),
    which raises the entropy of peaky activations before the Gram matrix. (A softmax over all
    channels and positions together, also tried, concentrates on a handful of pixels: a shift of a
    tenth of a pixel changed a layer's Gram loss fivefold.)"""
    return feats.softmax(dim=1) * feats.shape[1]


def gram(feats: Tensor, softmax: bool = False) -> Tensor:
    """``feats (B, C, H, W)`` -> ``(B, C, C)`` Gram matrices divided by ``C * H * W``."""
    if softmax:
        feats = softmax_features(feats)
    B, C, H, W = feats.shape
    flat = feats.reshape(B, C, H * W)
    return flat @ flat.transpose(1, 2) / (C * H * W)


class StyleLoss:
    """Gram distance to a style image under ``backbone`` at ``layers ((name, weight), ...)``."""

    def __init__(self, backbone: Backbone, style: Tensor, layers: tuple[tuple[str, float], ...],
                 softmax: bool | None = None):
        self.backbone = backbone
        self.layers = tuple(layers)
        self.softmax = backbone.softmax if softmax is None else softmax
        with torch.no_grad():
            feats = backbone(style[None], self.names)
            self.targets = {n: gram(feats[n], self.softmax)[0] for n in self.names}
            self.scales = {n: self.targets[n].square().sum().clamp_min(1e-12) for n in self.names}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.layers)

    def from_features(self, feats: dict[str, Tensor]) -> Tensor:
        """The loss of an image whose backbone features ``feats`` are given (batch of one)."""
        total = 0.0
        for name, weight in self.layers:
            g = gram(feats[name], self.softmax)[0]
            total = total + weight * (g - self.targets[name]).square().sum() / self.scales[name]
        return total / sum(w for _, w in self.layers)

    def __call__(self, image: Tensor) -> Tensor:
        """``image (3, H, W)`` in [0, 1] -> a scalar."""
        return self.from_features(self.backbone(image[None], self.names))


def luminance(image: Tensor) -> Tensor:
    """``(..., 3, H, W)`` RGB -> ``(..., 1, H, W)`` Rec. 601 luma."""
    r, g, b = image.unbind(-3)
    return (0.299 * r + 0.587 * g + 0.114 * b).unsqueeze(-3)


def blurred_luminance(image: Tensor, sigma: float) -> Tensor:
    """``(3, H, W)`` -> ``(1, 1, H, W)`` luminance blurred by a Gaussian of ``sigma`` pixels."""
    k = max(3, 2 * round(2 * sigma) + 1)
    import kornia  # imported when used: it costs 0.2 s of every paint command

    return kornia.filters.gaussian_blur2d(luminance(image)[None], (k, k), (sigma, sigma))


class ContentLoss:
    """Relative feature distance to ``content (3, H, W)`` at ``backbone.content_layer`` plus
    ``pixel_weight`` times the squared difference of blurred luminance (``sigma`` pixels)."""

    def __init__(self, backbone: Backbone, content: Tensor, pixel_weight: float = 0.1, sigma: float = 2.0):
        self.backbone, self.layer = backbone, backbone.content_layer
        self.pixel_weight, self.sigma = pixel_weight, sigma
        with torch.no_grad():
            self.target = backbone(content[None], (self.layer,))[self.layer]
            self.scale = self.target.square().mean().clamp_min(1e-12)
            self.target_lum = blurred_luminance(content, sigma)

    def from_features(self, feats: dict[str, Tensor], image: Tensor) -> Tensor:
        feature = (feats[self.layer] - self.target).square().mean() / self.scale
        pixel = (blurred_luminance(image, self.sigma) - self.target_lum).square().mean()
        return feature + self.pixel_weight * pixel / 0.01  # 0.01: a luminance error of 0.1 counts 1

    def __call__(self, image: Tensor) -> Tensor:
        return self.from_features(self.backbone(image[None], (self.layer,)), image)


# ---- colour distributions ----------------------------------------------------------------------
def image_colours(image: Tensor, n: int | None = None, generator: torch.Generator | None = None) -> Tensor:
    """``(3, H, W)`` RGB -> ``(M, 3)`` Lab colours of its pixels (``n`` random ones when given)."""
    pixels = image.reshape(3, -1).T
    if n is not None and pixels.shape[0] > n:
        idx = torch.randperm(pixels.shape[0], generator=generator)[:n].to(pixels.device)
        pixels = pixels[idx]
    return rgb_to_lab(pixels)


def random_directions(n: int, generator: torch.Generator | None = None, device=None) -> Tensor:
    """``(n, 3)`` unit vectors, uniformly distributed on the sphere."""
    d = torch.randn(n, 3, generator=generator, dtype=torch.float64).float()
    return (d / d.norm(dim=1, keepdim=True)).to(device)


def weighted_quantiles(values: Tensor, levels: Tensor, weights: Tensor | None = None) -> Tensor:
    """Quantiles of each column of ``values (N, D)`` at ``levels (Q,)`` in (0, 1), optionally with
    sample ``weights (N,)``; linear interpolation between sorted samples. Differentiable in
    ``values``. Returns ``(Q, D)``."""
    N, D = values.shape
    sorted_v, order = values.sort(dim=0)
    if weights is None:
        pos = (levels * N - 0.5).clamp(0, N - 1)  # sample i sits at level (i + 0.5) / N
        lo = pos.floor().long().clamp(max=N - 1)
        hi = (lo + 1).clamp(max=N - 1)
        t = (pos - lo).unsqueeze(1)
        return sorted_v[lo] * (1 - t) + sorted_v[hi] * t
    w = weights.clamp_min(0)[order]  # (N, D) weights in sorted order per column
    cum = w.cumsum(0)
    centre = (cum - 0.5 * w) / cum[-1:].clamp_min(1e-12)  # (N, D) level of each sorted sample
    out = []
    for d in range(D):
        idx = torch.searchsorted(centre[:, d].contiguous(), levels.contiguous()).clamp(1, N - 1)
        c0, c1 = centre[idx - 1, d], centre[idx, d]
        t = ((levels - c0) / (c1 - c0).clamp_min(1e-12)).clamp(0, 1)
        out.append(sorted_v[idx - 1, d] * (1 - t) + sorted_v[idx, d] * t)
    return torch.stack(out, dim=1)


def sliced_wasserstein(x: Tensor, y: Tensor, directions: Tensor, n_quantiles: int = SWD_QUANTILES,
                       x_weights: Tensor | None = None) -> Tensor:
    """Sliced 2-Wasserstein distance between point sets ``x (N, 3)`` and ``y (M, 3)`` along
    ``directions (K, 3)``: the root mean squared difference of their projections' quantiles.
    Differentiable in ``x``."""
    levels = (torch.arange(n_quantiles, device=x.device, dtype=x.dtype) + 0.5) / n_quantiles
    qx = weighted_quantiles(x @ directions.T, levels, x_weights)
    qy = weighted_quantiles(y @ directions.T, levels)
    return (qx - qy).square().mean().sqrt()


class ColourTarget:
    """A colour distribution to match: the Lab quantiles of ``target (M, 3)`` along ``n_directions``
    fixed random directions, computed once. ``loss(x (N, 3))`` is the sliced Wasserstein distance
    of ``x`` along ``per_step`` of those directions drawn at random (all when None)."""

    def __init__(self, target: Tensor, n_directions: int = 128, n_quantiles: int = SWD_QUANTILES,
                 generator: torch.Generator | None = None):
        self.generator = generator
        self.directions = random_directions(n_directions, generator, target.device)  # (K, 3)
        self.levels = (torch.arange(n_quantiles, device=target.device, dtype=target.dtype) + 0.5) / n_quantiles
        with torch.no_grad():
            self.quantiles = weighted_quantiles(target @ self.directions.T, self.levels)  # (Q, K)

    def loss(self, x: Tensor, per_step: int | None = 32) -> Tensor:
        K = self.directions.shape[0]
        pick = torch.randperm(K, generator=self.generator)[:per_step].to(x.device) if per_step else torch.arange(K)
        qx = weighted_quantiles(x @ self.directions[pick].T, self.levels)
        return (qx - self.quantiles[:, pick]).square().mean().sqrt()


def colour_distance(image: Tensor, style: Tensor, n_directions: int = SWD_DIRECTIONS, seed: int = 0,
                    n_pixels: int = 65536) -> float:
    """The benchmark's weights-free colour distance of ``image`` to ``style`` (both ``(3, H, W)``):
    sliced Wasserstein in Lab over fixed random directions (``seed``). Not differentiable."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        dirs = random_directions(n_directions, g, image.device)
        return float(sliced_wasserstein(image_colours(image, n_pixels, g), image_colours(style, n_pixels, g), dirs))
