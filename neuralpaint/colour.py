"""Colour shared by the painter and style: CIE Lab, k-means palettes, snapping colours to a palette.

* ``rgb_to_lab`` / ``lab_to_rgb``: ``(..., 3)`` RGB in [0, 1] <-> CIE Lab (D65, L in [0, 100]; kornia).
* ``kmeans_palette(image, k)``: the ``k`` main colours of an image (k-means in Lab, scikit-learn).
* ``snap_colours(colours, palette)``: RGB triplets replaced by the palette colour nearest in Lab
  (each triplet, or one colour per stroke); the painter's ``--palette`` constraint and
  ``snap_to_palette`` both use it.
* ``colour_view`` / ``with_colours``: a stroke type's colour parameters as ``(N, k, 3)`` triplets.
* ``snap_to_palette(strokes, palette)``: every stroke of a painting in one palette colour, opaque.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .errors import NeuralPaintError
from .photo import image_tensor
from .strokes import StrokeType
from .strokesfile import Strokes, validate


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """``(..., 3)`` RGB in [0, 1] (clamped) -> ``(..., 3)`` CIE Lab (D65; L in [0, 100])."""
    shape = rgb.shape
    import kornia  # imported when used: it costs 0.2 s of every paint command

    lab = kornia.color.rgb_to_lab(rgb.reshape(-1, 3).T.reshape(1, 3, -1, 1).clamp(0.0, 1.0))
    return lab.reshape(3, -1).T.reshape(shape)


def lab_to_rgb(lab: Tensor) -> Tensor:
    """``(..., 3)`` CIE Lab -> ``(..., 3)`` RGB clipped to [0, 1]."""
    shape = lab.shape
    import kornia

    rgb = kornia.color.lab_to_rgb(lab.reshape(-1, 3).T.reshape(1, 3, -1, 1), clip=True)
    return rgb.reshape(3, -1).T.reshape(shape)


def kmeans_palette(image: np.ndarray | Tensor, k: int, seed: int = 0, max_pixels: int = 50_000) -> np.ndarray:
    """The ``k`` main colours of ``image`` (``(H, W, 3)`` array or ``(3, H, W)`` tensor, RGB in
    [0, 1]): k-means in Lab over at most ``max_pixels`` random pixels. Returns ``(k, 3)`` float32
    RGB in [0, 1], most frequent first (fewer rows when the image has fewer distinct colours)."""
    from sklearn.cluster import KMeans

    if not 1 <= int(k) <= 256:
        raise NeuralPaintError(f"palette size must be in 1..256, got {k}")
    pixels = image_tensor(image).reshape(3, -1).T  # (H * W, 3)
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


def snap_colours(colours: Tensor, palette: Tensor, per_stroke: bool = False,
                 palette_lab: Tensor | None = None) -> Tensor:
    """``colours (N, k, 3)`` (RGB in [0, 1]; ``k`` triplets per stroke) -> ``(N, k, 3)``, every
    triplet replaced by a colour of ``palette (K, 3)``: the nearest to it in Lab, or with
    ``per_stroke`` the nearest to the mean of the stroke's triplets in Lab, given to all of them.
    ``palette_lab``: ``rgb_to_lab(palette)`` when the caller keeps it."""
    if palette_lab is None:
        palette_lab = rgb_to_lab(palette)
    lab = rgb_to_lab(colours)  # (N, k, 3)
    if per_stroke:
        nearest = torch.cdist(lab.mean(dim=1), palette_lab.to(lab)).argmin(dim=1)  # (N,)
        return palette.to(colours)[nearest][:, None, :].expand_as(colours)
    nearest = torch.cdist(lab.reshape(-1, 3), palette_lab.to(lab)).argmin(dim=1)  # (N * k,)
    return palette.to(colours)[nearest].reshape(colours.shape)


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
    params = with_colours(stroke, params, snap_colours(cols, pal, per_stroke=True))
    if opaque and stroke.alpha is not None:
        params[:, stroke.alpha] = 1.0
    metadata = {**strokes.metadata, "palette": [[round(float(c), 6) for c in row] for row in pal.tolist()]}
    return Strokes(strokes.stroke_type, params, strokes.width, strokes.height, strokes.canvas_colour,
                   strokes.stroke_options, metadata)
