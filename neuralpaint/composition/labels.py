"""Label maps: a painting cut into regions, drawn in flat colours that a paint program can edit.

* ``make_labels(image, regions, seed)`` -> ``(index (H, W) int32, palette (K, 3) uint8, legend)``:
  k-means on every pixel's CIE Lab colour plus its (weighted) position, then smoothed (a mode
  filter, then connected pieces smaller than ``min_piece`` of the picture merged into the region
  around them); region ``i`` is drawn in ``LABEL_COLOURS[i]``, regions numbered by area, largest
  first. Deterministic for a seed.
* ``label_picture(index, palette)``: the ``(H, W, 3)`` uint8 picture of a label map.
* ``read_label_map(path)`` -> ``(index (H, W) int32, colours (M, 3) uint8)``: a label PNG (perhaps
  edited, with anti-aliased edges) snapped to its main colours: the colours flat over at least
  ``min_fraction`` of the picture (counting pixels whose 8 neighbours have the same colour, so a
  long anti-aliased edge makes no main colour). Every other pixel takes the nearest main colour in
  RGB (an edge pixel is a blend, linear in RGB, of the colours either side; the nearer is the one
  it holds more of).
"""
from __future__ import annotations

import os

import cv2
import numpy as np
from torch import Tensor

from ..colour import rgb_to_lab
from ..errors import NeuralPaintError
from ..photo import image_tensor

# 32 flat colours for regions 0..31, far apart in Lab (no two closer than 16 Delta E): Sasha
# Trubetskoy's 20 distinct colours, black, white, then the RGB grid colours farthest from those.
LABEL_COLOURS = (
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6",
    "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000", "#aaffc3",
    "#808000", "#ffd8b1", "#000075", "#808080", "#000000", "#ffffff", "#0000ff", "#993366",
    "#00ff00", "#333366", "#003300", "#ff0099", "#ff0000", "#66ccff", "#ffcc66", "#cc6666",
)
MAX_REGIONS = len(LABEL_COLOURS)
POSITION_WEIGHT = 0.5  # position's share: 1.0 makes the picture's longer side span 100 Lab units
FIT_PIXELS = 40_000  # k-means is fitted on this many random pixels, then every pixel is assigned
MIN_PIECE = 0.002  # connected pieces under this fraction of the picture join the region around them


def hex_colour(rgb) -> str:
    """``(r, g, b)`` 0..255 -> ``"#rrggbb"``."""
    return "#" + "".join(f"{int(c):02x}" for c in rgb)


def palette_array(n: int) -> np.ndarray:
    """The first ``n`` label colours as ``(n, 3)`` uint8."""
    return np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in LABEL_COLOURS[:n]], dtype=np.uint8)


def _features(image: Tensor, position_weight: float) -> np.ndarray:
    """``(3, H, W)`` RGB -> ``(H * W, 5)`` float64: Lab, then x and y scaled so that the longer side
    spans ``100 * position_weight``."""
    _, H, W = image.shape
    lab = rgb_to_lab(image.permute(1, 2, 0).reshape(-1, 3)).double().numpy()  # (H * W, 3)
    scale = 100.0 * position_weight / max(H, W)
    ys, xs = np.mgrid[0:H, 0:W]
    return np.concatenate([lab, (xs.reshape(-1, 1) + 0.5) * scale, (ys.reshape(-1, 1) + 0.5) * scale], axis=1)


def _mode_filter(index: np.ndarray, k: int, radius: int) -> np.ndarray:
    """Each pixel takes the most frequent label in the ``(2 radius + 1)²`` window around it (ties:
    the lower label)."""
    if radius < 1:
        return index
    size = 2 * radius + 1
    votes = np.stack([cv2.boxFilter((index == i).astype(np.float32), -1, (size, size), normalize=False,
                                    borderType=cv2.BORDER_REFLECT) for i in range(k)])  # (k, H, W)
    return votes.argmax(axis=0).astype(np.int32)


def _merge_small_pieces(index: np.ndarray, k: int, min_area: int) -> np.ndarray:
    """Connected pieces (8-connected) of fewer than ``min_area`` pixels take the label most common
    on their border; each label's largest piece is kept whatever its size, so no label vanishes."""
    index = index.copy()
    H, W = index.shape
    for label in range(k):
        n, pieces, stats, _ = cv2.connectedComponentsWithStats((index == label).astype(np.uint8), connectivity=8)
        if n <= 2:  # background plus at most one piece
            continue
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        for piece in range(1, n):
            x, y, w, h, area = stats[piece]
            if piece == largest or area >= min_area:
                continue
            y0, y1, x0, x1 = max(0, y - 1), min(H, y + h + 1), max(0, x - 1), min(W, x + w + 1)
            mask = (pieces[y0:y1, x0:x1] == piece).astype(np.uint8)
            ring = cv2.dilate(mask, np.ones((3, 3), np.uint8)).astype(bool) & ~mask.astype(bool)
            around = index[y0:y1, x0:x1][ring]
            around = around[around != label]
            if around.size:
                index[y0:y1, x0:x1][mask.astype(bool)] = np.bincount(around, minlength=k).argmax()
    return index


def make_labels(image: np.ndarray | Tensor, regions: int, seed: int = 0, position_weight: float = POSITION_WEIGHT,
                smooth_radius: int | None = None, min_piece: float = MIN_PIECE, first_colour: int = 0
                ) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """A label map of ``image`` (``(H, W, 3)`` array or ``(3, H, W)`` tensor, RGB in [0, 1]) with
    ``regions`` regions (2..32).

    Returns ``index (H, W) int32`` in ``0..K-1`` (region 0 the largest), ``palette (K, 3) uint8``
    (region ``i`` is drawn in ``palette[i] = LABEL_COLOURS[first_colour + i]``: a second painting's
    map can take the colours after the first's, so that the two can be mixed in one new map) and the legend: one dict per region,
    ``{"region": i, "colour": "#rrggbb", "area": fraction of the pixels, "mean_colour": "#rrggbb"
    (the image's mean RGB there)}``; the areas sum to 1. ``K == regions`` unless the image has fewer
    distinct pixels. ``smooth_radius``: of the mode filter (default: the longer side / 128, at least
    1). The same image, settings and ``seed`` give the same map."""
    from sklearn.cluster import KMeans

    if not 2 <= int(regions) <= MAX_REGIONS:
        raise NeuralPaintError(f"a label map needs 2..{MAX_REGIONS} regions, got {regions}")
    if not 0 <= first_colour <= MAX_REGIONS - int(regions):
        raise NeuralPaintError(f"{regions} regions from colour {first_colour} on need more than the "
                               f"{MAX_REGIONS} label colours")
    if not 0 <= position_weight <= 10:
        raise NeuralPaintError(f"position weight must be in 0..10, got {position_weight}")
    picture = image_tensor(image, "label map image").detach().cpu().clamp(0.0, 1.0)  # (3, H, W)
    _, H, W = picture.shape
    feats = _features(picture, position_weight)  # (H * W, 5)
    rng = np.random.default_rng(seed)
    fit = feats[rng.permutation(feats.shape[0])[:FIT_PIXELS]] if feats.shape[0] > FIT_PIXELS else feats
    k = min(int(regions), np.unique(np.round(fit, 6), axis=0).shape[0])
    if k < 2:
        raise NeuralPaintError("the image has a single colour: it cannot be cut into regions")
    km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(fit)
    index = km.predict(feats).reshape(H, W).astype(np.int32)

    radius = max(1, round(max(H, W) / 128)) if smooth_radius is None else int(smooth_radius)
    smoothed = _mode_filter(index, k, radius)
    for label in np.setdiff1d(np.arange(k), np.unique(smoothed)):  # the filter wiped a label out
        smoothed[index == label] = label  # give it back its pixels
    index = _merge_small_pieces(smoothed, k, max(1, round(min_piece * H * W)))

    counts = np.bincount(index.ravel(), minlength=k)
    present = [int(i) for i in np.argsort(-counts, kind="stable") if counts[i] > 0]  # by area, largest first
    renumber = np.zeros(k, np.int32)
    renumber[present] = np.arange(len(present), dtype=np.int32)
    index = renumber[index]
    palette = palette_array(first_colour + len(present))[first_colour:]
    rgb = picture.permute(1, 2, 0).reshape(-1, 3).double().numpy()
    flat = index.ravel()
    legend = []
    for i in range(len(present)):
        where = flat == i
        mean = np.round(rgb[where].mean(axis=0) * 255).astype(int)
        legend.append({"region": i, "colour": hex_colour(palette[i]), "area": float(where.mean()),
                       "mean_colour": hex_colour(mean)})
    return index, palette, legend


def label_picture(index: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """``index (H, W)`` and ``palette (K, 3)`` uint8 -> the ``(H, W, 3)`` uint8 picture."""
    return np.asarray(palette, np.uint8)[np.asarray(index)]


def read_label_map(path: str | os.PathLike, min_fraction: float = 0.005, max_colours: int = MAX_REGIONS
                   ) -> tuple[np.ndarray, np.ndarray]:
    """A label map file -> ``index (H, W) int32`` and ``colours (M, 3) uint8``, main colours by
    area, largest first (``colours[index]`` is the snapped picture); see ``snap_label_picture``.
    ``NeuralPaintError`` for an unreadable file (and what ``snap_label_picture`` refuses)."""
    from ..imagefiles.io import read_image

    picture = np.round(read_image(path) * 255.0).astype(np.uint8)
    try:
        return snap_label_picture(picture, min_fraction, max_colours)
    except NeuralPaintError as err:
        raise NeuralPaintError(f"{path}: {err}") from None


def snap_label_picture(picture: np.ndarray, min_fraction: float = 0.005, max_colours: int = MAX_REGIONS
                       ) -> tuple[np.ndarray, np.ndarray]:
    """A label picture ``(H, W, 3)`` uint8 (perhaps edited, anti-aliased) -> ``index (H, W) int32``
    and ``colours (M, 3) uint8``, main colours by area, largest first.

    A main colour has at least ``min_fraction * H * W`` interior pixels (pixels whose 8 neighbours
    have the same colour); every other colour (anti-aliased edges, stray specks) is replaced by the
    main colour nearest to it in RGB. ``NeuralPaintError`` for no main colour or more than
    ``max_colours`` main colours."""
    picture = np.asarray(picture)
    if picture.ndim != 3 or picture.shape[2] != 3 or picture.dtype != np.uint8:
        raise NeuralPaintError(f"a label picture must be (H, W, 3) uint8, got {picture.shape} {picture.dtype}")
    pixels = picture.astype(np.int64)
    H, W, _ = pixels.shape
    if min(H, W) < 3:
        raise NeuralPaintError(f"a label map of {W}x{H} pixels is too small")
    packed = pixels[..., 0] << 16 | pixels[..., 1] << 8 | pixels[..., 2]  # (H, W)
    values, inverse = np.unique(packed, return_inverse=True)
    inverse = inverse.reshape(H, W)
    # interior pixels: the same colour as all 8 neighbours. Anti-aliased edges are blends one or two
    # pixels wide, so their colours have (almost) no interior pixels however long the edge is.
    centre = packed[1:-1, 1:-1]
    interior = np.ones_like(centre, dtype=bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            interior &= packed[dy:dy + H - 2, dx:dx + W - 2] == centre
    counts = np.bincount(inverse[1:-1, 1:-1][interior], minlength=values.size)
    order = np.argsort(-counts, kind="stable")
    main = order[counts[order] >= min_fraction * H * W]
    if main.size == 0:
        raise NeuralPaintError(f"not a label map: no flat colour covers {min_fraction:.1%} of the picture")
    if main.size > max_colours:
        raise NeuralPaintError(f"{main.size} flat colours each cover {min_fraction:.1%} of the picture or more; "
                               f"a label map has at most {max_colours} (flat colours, one per region)")
    unpack = np.stack([values >> 16 & 255, values >> 8 & 255, values & 255], axis=1)  # (U, 3)
    colours = unpack[main]  # (M, 3)
    dist = ((unpack[:, None, :] - colours[None, :, :]) ** 2).sum(axis=2)  # (U, M)
    nearest = dist.argmin(axis=1).astype(np.int32)  # each distinct colour's main colour
    return nearest[inverse], colours.astype(np.uint8)
