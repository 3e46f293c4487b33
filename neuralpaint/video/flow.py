"""Motion between frames: optical flow (OpenCV's DIS), strokes carried along it, scene cuts, and
the warping error that measures how steady a painted video is.

Flow fields are ``(H, W, 2)`` float32 arrays of ``(dx, dy)`` pixel displacements at pixel centres:
``flow(a, b)[y, x]`` says where the content of frame ``a`` at ``(x, y)`` went in frame ``b``.
Frames are ``(H, W, 3)`` float arrays in [0, 1] (numpy; torch tensors ``(3, H, W)`` are accepted).
"""
from __future__ import annotations

import cv2
import numpy as np

from ..arrays import is_tensor, to_numpy

CUT_BINS = 16  # histogram bins per channel for the scene-cut test
GONE_PIXELS = 1.0  # left_frame: how far beyond an edge a stroke's points must be carried


def _gray8(frame) -> np.ndarray:
    """``(H, W, 3)`` array or ``(3, H, W)`` tensor in [0, 1] -> ``(H, W)`` uint8 luma."""
    rgb = to_numpy(frame.permute(1, 2, 0) if is_tensor(frame) else frame, np.float32)
    gray = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(np.rint(gray * 255.0), 0, 255).astype(np.uint8)


def optical_flow(a, b) -> np.ndarray:
    """Dense flow from frame ``a`` to frame ``b`` (same size): ``(H, W, 2)`` float32 pixels
    (OpenCV's DIS optical flow, medium preset, on luma)."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(_gray8(a), _gray8(b), None)


def sample(flow: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``flow`` at points ``x, y`` (``(N,)`` pixels, centres at ``i + 0.5``), bilinear, held at
    the edges: ``(N, 2)``."""
    if x.size == 0:
        return np.zeros((0, 2), np.float32)
    map_x = (np.asarray(x, np.float32) - 0.5).reshape(-1, 1)
    map_y = (np.asarray(y, np.float32) - 0.5).reshape(-1, 1)
    out = cv2.remap(flow, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(-1, 2)


def carry_strokes(stroke, params, flow: np.ndarray):
    """Strokes ``params (N, d)`` of ``stroke`` (a numpy array or tensor, canvas fractions) moved
    along ``flow`` (of a canvas the flow's size): every point of a stroke (``stroke.x_indices`` /
    ``y_indices`` pairs) moves by the flow where it is. Returns the same kind, clipped to [0, 1]."""
    H, W = flow.shape[:2]
    values = to_numpy(params, np.float64).copy()
    for xi, yi in zip(stroke.x_indices, stroke.y_indices):
        d = sample(flow, values[:, xi] * W, values[:, yi] * H)
        values[:, xi] = np.clip(values[:, xi] + d[:, 0] / W, 0.0, 1.0)
        values[:, yi] = np.clip(values[:, yi] + d[:, 1] / H, 0.0, 1.0)
    if is_tensor(params):
        import torch  # a tensor came in: torch is loaded

        return torch.as_tensor(values, dtype=params.dtype, device=params.device)
    return values.astype(np.asarray(params).dtype, copy=False)


def left_frame(stroke, params, flow: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: strokes ``params (N, d)`` of ``stroke`` (canvas fractions) that ``flow`` moves
    out of the canvas: every point (``stroke.x_indices`` / ``y_indices`` pairs) more than
    ``GONE_PIXELS`` beyond an edge, where ``carry_strokes`` would leave it clipped to the edge.
    (The margin spares strokes the painter left on an edge that the flow nudges outwards.)"""
    H, W = flow.shape[:2]
    values = to_numpy(params, np.float64)
    out = np.ones(values.shape[0], bool)
    for xi, yi in zip(stroke.x_indices, stroke.y_indices):
        d = sample(flow, values[:, xi] * W, values[:, yi] * H)
        x, y = values[:, xi] * W + d[:, 0], values[:, yi] * H + d[:, 1]
        m = GONE_PIXELS
        out &= (x < -m) | (x > W + m) | (y < -m) | (y > H + m)
    return out


def cut_distance(a, b) -> float:
    """How different two frames' colour histograms are: half the L1 distance between their
    normalised ``CUT_BINS``-bin per-channel histograms, in [0, 1] (0: same colours)."""
    def hist(frame):
        rgb = to_numpy(frame.permute(1, 2, 0) if is_tensor(frame) else frame, np.float32)
        idx = np.clip((rgb * CUT_BINS).astype(np.int64), 0, CUT_BINS - 1).reshape(-1, 3)
        return np.concatenate([np.bincount(idx[:, c], minlength=CUT_BINS) for c in range(3)]) / (3.0 * idx.shape[0])

    return float(0.5 * np.abs(hist(a) - hist(b)).sum())


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image (H, W, C)`` sampled at ``x + flow(x)`` (bilinear, edges held): with the flow from
    frame t to frame t-1, frame t-1's image brought to frame t."""
    H, W = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32))
    return cv2.remap(np.ascontiguousarray(image, np.float32), gx + flow[..., 0], gy + flow[..., 1],
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def visible(flow_back: np.ndarray, flow_fwd: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: pixels of frame t whose backward flow (t -> t-1) and the forward flow
    (t-1 -> t) there agree (the forward-backward check of Lai et al. / Sundaram et al.): not
    occluded, not leaving the frame."""
    H, W = flow_back.shape[:2]
    fwd_at = warp(flow_fwd, flow_back)
    total = flow_back + fwd_at
    bound = 0.01 * ((flow_back ** 2).sum(-1) + (fwd_at ** 2).sum(-1)) + 0.5
    gx, gy = np.meshgrid(np.arange(W), np.arange(H))
    inside = ((gx + flow_back[..., 0] >= 0) & (gx + flow_back[..., 0] <= W - 1)
              & (gy + flow_back[..., 1] >= 0) & (gy + flow_back[..., 1] <= H - 1))
    return ((total ** 2).sum(-1) <= bound) & inside


def warping_error(painted: np.ndarray, painted_before: np.ndarray, frame: np.ndarray,
                  frame_before: np.ndarray) -> float:
    """Temporal instability of a painted video at frame t (Lai et al., ECCV 2018): the mean squared
    difference between ``painted`` (frame t, ``(H, W, 3)`` in [0, 1]) and ``painted_before`` (frame
    t-1) warped to frame t by the *input's* flow (``frame``, ``frame_before``), over the pixels the
    forward-backward check finds visible. The input video's own error (``painted`` = ``frame``) is
    the floor a painting can reach."""
    back, fwd = optical_flow(frame, frame_before), optical_flow(frame_before, frame)
    mask = visible(back, fwd)
    if not mask.any():
        return 0.0
    diff = (np.asarray(painted, np.float32) - warp(painted_before, back)) ** 2
    return float(diff.sum(-1)[mask].mean())
