"""Colour without a network: palettes and colour-distribution transfer onto stroke colours.

* ``kmeans_palette(image, k)``: the ``k`` main colours of an image (k-means in CIE Lab, scikit-learn).
* ``snap_to_palette(strokes, palette)``: every stroke painted in one palette colour (the nearest
  in Lab to its mean colour), opaque by default: what ``paint --palette K`` needs.
* ``transfer_colours(colours, weights, target)``: moves a weighted set of colours so that its
  distribution in Lab matches ``target``'s, by iterated sliced optimal transport (Pitie et al.'s
  iterative distribution transfer, weighted): along random 3-D rotations, each sample moves to the
  target's quantile at its own (weighted) quantile level. With the strokes' visible areas as
  weights, the painting's pixel colours follow the style image's distribution while every stroke
  keeps its place, shape and order.

Stroke colours are read and written through the stroke type's ``colour`` slice (one or two RGB
triplets per stroke, e.g. the oil brush's start and end colour) and its ``alpha`` index.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..errors import NeuralPaintError
from ..strokes import StrokeType
from ..strokesfile import Strokes, validate
from .losses import lab_to_rgb, random_directions, rgb_to_lab, weighted_quantiles


def _image_tensor(image: np.ndarray | Tensor) -> Tensor:
    """``(H, W, 3)`` array or ``(3, H, W)`` tensor in [0, 1] -> ``(3, H, W)`` float32 tensor."""
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3:
            raise NeuralPaintError(f"expected an (H, W, 3) RGB image, got shape {image.shape}")
        return torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)
    if not isinstance(image, Tensor) or image.dim() != 3 or image.shape[0] != 3:
        raise NeuralPaintError(f"expected a (3, H, W) image tensor, got {getattr(image, 'shape', type(image))}")
    return image.float()


def kmeans_palette(image: np.ndarray | Tensor, k: int, seed: int = 0, max_pixels: int = 50_000) -> np.ndarray:
    """The ``k`` main colours of ``image`` (``(H, W, 3)`` array or ``(3, H, W)`` tensor, RGB in
    [0, 1]): k-means in Lab over at most ``max_pixels`` random pixels. Returns ``(k, 3)`` float32
    RGB in [0, 1], most frequent first (fewer rows when the image has fewer distinct colours)."""
    from sklearn.cluster import KMeans

    if not 1 <= int(k) <= 256:
        raise NeuralPaintError(f"palette size must be in 1..256, got {k}")
    pixels = _image_tensor(image).reshape(3, -1).T
    g = torch.Generator().manual_seed(seed)
    if pixels.shape[0] > max_pixels:
        pixels = pixels[torch.randperm(pixels.shape[0], generator=g)[:max_pixels]]
    lab = rgb_to_lab(pixels).double().numpy()
    distinct = np.unique(np.round(lab, 3), axis=0).shape[0]
    k = min(int(k), distinct)
    km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(lab)
    counts = np.bincount(km.labels_, minlength=k)
    centres = torch.from_numpy(km.cluster_centers_[np.argsort(-counts)]).float()
    return lab_to_rgb(centres).numpy().astype(np.float32)


def colour_view(stroke: StrokeType, params: Tensor) -> Tensor:
    """The colour parameters of ``params (N, d)`` as ``(N, k, 3)`` RGB triplets (a copy)."""
    cols = params[:, stroke.colour]
    if cols.shape[1] % 3:
        raise NeuralPaintError(f"{stroke.name}: colour parameters are not RGB triplets ({cols.shape[1]} values)")
    return cols.reshape(params.shape[0], -1, 3).clone()


def with_colours(stroke: StrokeType, params: Tensor, colours: Tensor) -> Tensor:
    """``params (N, d)`` with its colour parameters replaced by ``colours (N, k, 3)``; nothing else changes."""
    out = params.clone()
    out[:, stroke.colour] = colours.reshape(params.shape[0], -1).to(out.dtype)
    return out


def snap_to_palette(strokes: Strokes, palette: np.ndarray | Tensor, opaque: bool = True) -> Strokes:
    """``strokes`` with every stroke painted in one colour of ``palette (K, 3)`` (RGB in [0, 1]):
    the nearest in Lab to the mean of its colour triplets, given to all of them. ``opaque``: the
    opacity parameter (when the stroke type has one) is set to 1. Shapes and order stay the same;
    ``metadata["palette"]`` records the palette."""
    stroke = validate(strokes)
    pal = torch.as_tensor(np.asarray(palette, dtype=np.float32))
    if pal.dim() != 2 or pal.shape[1] != 3 or pal.shape[0] < 1:
        raise NeuralPaintError(f"a palette must have shape (K, 3), got {tuple(pal.shape)}")
    if not torch.isfinite(pal).all() or pal.min() < 0 or pal.max() > 1:
        raise NeuralPaintError("palette colours must be RGB values in [0, 1]")
    params = strokes.params_tensor()
    if params.shape[0] == 0:
        return strokes
    cols = colour_view(stroke, params)  # (N, k, 3)
    mean_lab = rgb_to_lab(cols).mean(dim=1)  # (N, 3)
    nearest = torch.cdist(mean_lab, rgb_to_lab(pal)).argmin(dim=1)  # (N,)
    params = with_colours(stroke, params, pal[nearest][:, None, :].expand_as(cols))
    if opaque and stroke.alpha is not None:
        params[:, stroke.alpha] = 1.0
    metadata = {**strokes.metadata, "palette": [[round(float(c), 6) for c in row] for row in pal.tolist()]}
    return Strokes(strokes.stroke_type, params, strokes.width, strokes.height, strokes.canvas_colour,
                   strokes.stroke_options, metadata)


def transfer_colours(colours: Tensor, weights: Tensor, target: Tensor, iterations: int = 30,
                     step: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
    """Move ``colours (N, 3)`` (Lab) so that their ``weights (N,)``-weighted distribution matches
    the samples ``target (M, 3)`` (Lab): ``iterations`` rounds of 1-D quantile matching along the
    axes of a random rotation, each sample moving ``step`` of the way. Returns ``(N, 3)`` Lab."""
    x = colours.clone()
    if x.shape[0] == 0 or float(weights.sum()) <= 0:
        return x
    levels_cache = {}
    for _ in range(iterations):
        basis = torch.linalg.qr(random_directions(3, generator, x.device).T.double())[0].float()  # (3, 3)
        px, pt = x @ basis, target @ basis  # (N, 3), (M, 3)
        order = px.argsort(dim=0)
        w = weights.clamp_min(0)[order]  # (N, 3)
        cum = w.cumsum(0)
        level = (cum - 0.5 * w) / cum[-1:].clamp_min(1e-12)  # (N, 3): each sorted sample's level
        moved = torch.empty_like(px)
        for d in range(3):
            q = weighted_quantiles(pt[:, d : d + 1], level[:, d].clamp(1e-6, 1 - 1e-6))[:, 0]
            moved[order[:, d], d] = q
        x = x + step * (moved - px) @ basis.T
        levels_cache.clear()
    return x
