"""Photos as tensors: the painter's and style's one way to take an image in and resize it.

* ``image_tensor(image)``: ``(H, W, 3)`` array or ``(3, H, W)`` tensor in [0, 1] -> ``(3, H, W)`` float32.
* ``resize_image(image, height, width)``: area average when shrinking, bicubic when enlarging.
* ``painting_size`` and ``prepare_photo``: the photo as the painter paints it (longer side ``size``).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import NeuralPaintError


def image_tensor(image: np.ndarray | Tensor, what: str = "image") -> Tensor:
    """``(H, W, 3)`` array or ``(3, H, W)`` tensor, RGB in [0, 1] -> ``(3, H, W)`` float32 tensor
    (on the tensor's device; not clamped). ``NeuralPaintError`` naming ``what`` otherwise."""
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3:
            raise NeuralPaintError(f"{what}: expected an (H, W, 3) RGB image, got shape {image.shape}")
        return torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)
    if not isinstance(image, Tensor) or image.dim() != 3 or image.shape[0] != 3:
        raise NeuralPaintError(f"{what}: expected an (H, W, 3) array or a (3, H, W) tensor, got "
                               f"{tuple(getattr(image, 'shape', ())) or type(image).__name__}")
    return image.float()


def resize_image(image: Tensor, height: int, width: int) -> Tensor:
    """``(3, H, W)`` -> ``(3, height, width)`` clamped to [0, 1]: area average when the picture
    shrinks (``height * width < H * W``), bicubic when it grows; the same tensor when the size is
    already right."""
    if tuple(image.shape[1:]) == (height, width):
        return image
    shrinking = height * width < image.shape[1] * image.shape[2]
    out = F.interpolate(image[None], size=(height, width), mode="area" if shrinking else "bicubic",
                        align_corners=None if shrinking else False)[0]
    return out.clamp(0.0, 1.0)


def painting_size(height: int, width: int, size: int) -> tuple[int, int]:
    """``(H, W)`` with the longer side ``size`` and the photo's aspect ratio."""
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def prepare_photo(image: np.ndarray | Tensor, size: int, device: torch.device) -> Tensor:
    """``(H, W, 3)`` array or ``(3, H, W)`` tensor in [0, 1] -> ``(3, h, w)`` on ``device``, the
    longer side resized (area / bicubic, ``resize_image``) to ``size``."""
    image = image_tensor(image, "photo").to(device)
    return resize_image(image, *painting_size(image.shape[1], image.shape[2], size)).clamp(0.0, 1.0)
