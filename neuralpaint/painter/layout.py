"""Blocks of a level: a grid over the canvas, each block seen through a window that reaches a
margin beyond its edges (so strokes may cross block borders and no seams show)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class Level:
    """A grid of ``rows x cols`` near-square blocks over a ``height x width`` canvas (pixels of
    the level's working scale). All windows share one size ``(win_h, win_w)``; ``tops``/``lefts``
    are their integer corners (may be negative: windows reach past the canvas edges)."""

    height: int
    width: int
    rows: int
    cols: int
    win_h: int
    win_w: int
    margin_h: int
    margin_w: int
    tops: tuple[int, ...]  # one per block, row-major
    lefts: tuple[int, ...]

    @property
    def n_blocks(self) -> int:
        return self.rows * self.cols

    def boxes(self) -> list[tuple[int, int, int, int]]:
        """``(top, left, win_h, win_w)`` of every window, row-major."""
        return [(t, l, self.win_h, self.win_w) for t, l in zip(self.tops, self.lefts)]


def grid_shape(blocks: int, height: int, width: int) -> tuple[int, int]:
    """``blocks`` along the longer side, as many along the shorter as keeps blocks near-square."""
    long_side, short_side = max(height, width), min(height, width)
    other = max(1, round(blocks * short_side / long_side))
    return (blocks, other) if height >= width else (other, blocks)


def make_level(blocks: int, full_height: int, full_width: int, work_size: int, overlap: float) -> Level:
    """The level with ``blocks`` along the longer side, on a working canvas scaled down (never up)
    from the full canvas so that a window is at most ``work_size`` pixels across."""
    rows, cols = grid_shape(blocks, full_height, full_width)
    window_full = max(full_height / rows, full_width / cols) * (1 + 2 * overlap)
    scale = min(1.0, work_size / window_full)
    H, W = max(1, round(full_height * scale)), max(1, round(full_width * scale))
    bh, bw = H / rows, W / cols
    mh, mw = math.ceil(bh * overlap), math.ceil(bw * overlap)
    win_h, win_w = math.ceil(bh) + 2 * mh, math.ceil(bw) + 2 * mw
    tops = tuple(round(r * bh) - mh for r in range(rows) for _ in range(cols))
    lefts = tuple(round(c * bw) - mw for _ in range(rows) for c in range(cols))
    return Level(H, W, rows, cols, win_h, win_w, mh, mw, tops, lefts)


def crop_windows(image: Tensor, level: Level) -> tuple[Tensor, Tensor]:
    """Windows of ``image (C, H, W)`` (the level's working canvas): ``(n_blocks, C, win_h, win_w)``
    with edges replicated beyond the canvas, and a ``(n_blocks, 1, win_h, win_w)`` mask that is 1
    on pixels inside the canvas."""
    C = image.shape[0]
    pad_h, pad_w = level.win_h, level.win_w
    padded = F.pad(image[None], (pad_w, pad_w, pad_h, pad_h), mode="replicate")[0]
    inside = F.pad(torch.ones(1, 1, level.height, level.width, device=image.device, dtype=image.dtype),
                   (pad_w, pad_w, pad_h, pad_h))[0]
    crops, masks = [], []
    for t, l, h, w in level.boxes():
        crops.append(padded[:, t + pad_h : t + pad_h + h, l + pad_w : l + pad_w + w])
        masks.append(inside[:, t + pad_h : t + pad_h + h, l + pad_w : l + pad_w + w])
    return torch.stack(crops), torch.stack(masks)
