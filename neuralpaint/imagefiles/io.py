"""Reading and writing images as float RGB arrays in [0, 1].

``read_image`` accepts anything OpenCV (or, failing that, Pillow) decodes and normalises it:

* 8-bit values are divided by 255, 16-bit by 65535; floating-point images are clipped to [0, 1];
* grayscale is replicated to three channels;
* an alpha channel is composited over **white** (``rgb * a + (1 - a)``), like a transparent
  image shown on a white page, and then dropped;
* the EXIF orientation tag is applied, so a phone photo comes out the way viewers show it.

Bad input -- a missing file, something that is not an image, a corrupt or truncated file, an
image smaller than 2x2 or larger than 20000 pixels on a side -- raises ``NeuralPaintError`` with
a one-line message naming the file. Every file is first decoded in full by Pillow when Pillow
knows the format, which catches truncated files that some OpenCV versions decode silently.

``write_image`` writes an 8-bit image (the format follows the extension: ``.png``, ``.jpg``...)
atomically, creating parent directories.
"""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from ..arrays import is_tensor
from ..errors import NeuralPaintError
from ..fileutil import atomic_write

MIN_SIDE = 2
MAX_SIDE = 20000
JPEG_QUALITY = 95

# EXIF orientation tag -> how to turn the stored (H, W, C) pixels upright
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


def _check_size(width: int, height: int, src: str) -> None:
    if width < MIN_SIDE or height < MIN_SIDE:
        raise NeuralPaintError(f"{src}: image is {width}x{height} pixels; it must be at least {MIN_SIDE}x{MIN_SIDE}")
    if width > MAX_SIDE or height > MAX_SIDE:
        raise NeuralPaintError(f"{src}: image is {width}x{height} pixels; at most {MAX_SIDE} per side is supported")


def _pillow_decode(data: bytes, src: str) -> tuple[Image.Image | None, int]:
    """Decode ``data`` fully with Pillow: ``(image, EXIF orientation)``, or ``(None, 1)`` when
    Pillow does not know the format or refuses its size. Corrupt/truncated data raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's size and EXIF warnings; sizes are checked here
            image = Image.open(io.BytesIO(data))
            _check_size(image.width, image.height, src)  # before decoding a huge image
            image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError):
        return None, 1
    except NeuralPaintError:
        raise
    except Exception as err:  # Pillow reports broken data as OSError, SyntaxError, ValueError...
        raise NeuralPaintError(f"{src}: corrupt or truncated image ({err})") from None
    try:
        orientation = int(image.getexif().get(0x0112, 1))
    except Exception:  # a broken EXIF block only loses the orientation
        orientation = 1
    return image, orientation


def _to_float(pixels: np.ndarray, src: str) -> np.ndarray:
    """Integer or float pixels -> float32 in [0, 1]."""
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / 255.0
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) / 65535.0
    if pixels.dtype.kind == "f":
        return np.nan_to_num(np.clip(pixels.astype(np.float32), 0.0, 1.0))
    raise NeuralPaintError(f"{src}: unsupported pixel type {pixels.dtype}")


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as ``(H, W, 3)`` float32 RGB in [0, 1] (see the module docstring)."""
    src = str(path)
    if not Path(path).is_file():
        raise NeuralPaintError(f"{src}: no such file")
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise NeuralPaintError(f"{src}: cannot read: {err.strerror or err}") from None
    if not data:
        raise NeuralPaintError(f"{src}: empty file, not an image")

    image, orientation = _pillow_decode(data, src)
    try:
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        pixels = None
    if pixels is not None:  # OpenCV: (H, W) gray, or (H, W, 2/3/4) gray+alpha / BGR / BGRA
        if pixels.ndim == 3 and pixels.shape[2] >= 3:
            pixels = pixels[..., [2, 1, 0, 3][: pixels.shape[2]]]  # BGR(A) -> RGB(A)
    elif image is not None:  # a format Pillow reads but this OpenCV does not (e.g. GIF)
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        pixels = np.asarray(image.convert("RGBA" if has_alpha else "RGB"))
    else:
        raise NeuralPaintError(f"{src}: not an image, or an image format that cannot be read")
    if image is not None:
        image.close()

    rgb = _to_float(pixels, src)
    if rgb.ndim == 2:
        rgb = rgb[..., None]
    if rgb.shape[2] in (2, 4):  # composite over white
        alpha = rgb[..., -1:]
        rgb = rgb[..., :-1] * alpha + (1.0 - alpha)
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    if rgb.shape[2] != 3:
        raise NeuralPaintError(f"{src}: unsupported number of channels ({pixels.shape[2]})")
    rgb = _ORIENT.get(orientation, lambda a: a)(rgb)
    _check_size(rgb.shape[1], rgb.shape[0], src)
    return np.ascontiguousarray(rgb, dtype=np.float32)


def write_image(path: str | os.PathLike, rgb) -> Path:
    """Write ``rgb`` as an 8-bit image at ``path`` (format from the extension), atomically.

    ``rgb``: a ``(H, W, 3)`` array or a ``(3, H, W)`` tensor, values in [0, 1] (clipped).
    Parent directories are created. Returns ``path`` as a ``Path``.
    """
    path = Path(path)
    if is_tensor(rgb):
        if rgb.dim() != 3 or rgb.shape[0] != 3:
            raise ValueError(f"write_image expects a (3, H, W) tensor, got {tuple(rgb.shape)}")
        rgb = rgb.detach().float().permute(1, 2, 0).cpu().numpy()
    rgb = np.asarray(rgb, dtype=np.float32)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"write_image expects an (H, W, 3) array, got {rgb.shape}")
    pixels = np.round(np.nan_to_num(np.clip(rgb, 0.0, 1.0)) * 255.0).astype(np.uint8)
    ext = path.suffix.lower()
    options = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if ext in (".jpg", ".jpeg") else []
    try:
        ok, encoded = cv2.imencode(ext, np.ascontiguousarray(pixels[..., ::-1]), options)
    except cv2.error:
        ok = False
    if not ok:
        raise NeuralPaintError(f"{path}: cannot write images with extension {ext!r}; use .png or .jpg")
    try:
        with atomic_write(path) as f:
            f.write(encoded.tobytes())
    except OSError as err:
        raise NeuralPaintError(f"{path}: cannot write: {err.strerror or err}") from None
    return path
