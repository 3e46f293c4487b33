"""Writing big 8-bit RGB images band by band, atomically (``neuralpaint render-hires``).

``open_image_writer(path, width, height)`` checks everything that can be checked before any pixel
exists -- a known extension, a size the format can hold, a destination that can be written (the
temporary file is created at once) -- and raises ``NeuralPaintError`` with a one-line message
otherwise. The writer then takes ``(rows, width, 3)`` uint8 RGB bands from top to bottom
(``write_rows``); ``close()`` finishes the file and moves it onto ``path``; ``abort()`` (or an
exception inside a ``with`` block, Ctrl-C included) deletes the temporary file and leaves ``path``
untouched.

* **PNG** is streamed: each band is filtered (PNG filter *Up*: each row minus the row above, which
  turns flat paint into zeros) and fed to one deflate stream, whose output goes straight into
  ``IDAT`` chunks. Memory stays at one band whatever the image size. The deflate is Intel ISA-L's
  (the ``isal`` package, level 1: measured ~4x faster than zlib's level 1 on rendered paintings,
  with smaller files) when installed, otherwise the standard library's zlib at level 1. Both
  release the GIL, so a band can be compressed while the next one is rendered.
* **Other formats** (``.jpg``/``.jpeg``, ``.webp``, ``.tif``/``.tiff``, ``.bmp`` and whatever else
  this OpenCV writes) collect the bands into one uint8 image (3 bytes per pixel, never a float
  canvas) and encode it with OpenCV on ``close()``; JPEG quality 95 as ``images.write_image``.
"""
from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import NeuralPaintError
from ..fileutil import temporary_path

try:  # Intel ISA-L deflate: much faster than zlib, same format
    from isal import isal_zlib as _deflate

    DEFLATE_LEVEL = 1
    DEFLATE_NAME = "isal"
except ImportError:  # pragma: no cover - depends on the environment
    _deflate = zlib
    DEFLATE_LEVEL = 1
    DEFLATE_NAME = "zlib"

JPEG_QUALITY = 95
IDAT_BYTES = 1 << 20  # compressed bytes gathered per IDAT chunk
# per-side limits of the formats (libjpeg: 65500; libwebp: 16383)
SIDE_LIMITS = {".jpg": 65500, ".jpeg": 65500, ".jpe": 65500, ".webp": 16383}
PNG_EXTENSIONS = (".png",)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def _temporary(path: Path) -> tuple[Path, object]:
    """Create the hidden temporary file beside ``path`` (creating parent directories) and open it."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise NeuralPaintError(f"{path}: cannot write: {parent} is not a directory")
            break
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory")
        tmp = temporary_path(path)
        return tmp, open(tmp, "xb")
    except OSError as err:
        raise NeuralPaintError(f"{path}: cannot write: {err.strerror or err}") from None


class ImageWriter:
    """Base class: rows in, one file out (see the module docstring)."""

    def __init__(self, path: Path, width: int, height: int):
        self.path, self.width, self.height = path, width, height
        self.rows_written = 0
        self._tmp, self._file = _temporary(path)

    def write_rows(self, rows: np.ndarray) -> None:
        """Append ``rows (h, width, 3)`` uint8 RGB below the rows written so far."""
        if rows.dtype != np.uint8 or rows.ndim != 3 or rows.shape[1:] != (self.width, 3):
            raise ValueError(f"expected (h, {self.width}, 3) uint8 rows, got {rows.shape} {rows.dtype}")
        if self.rows_written + rows.shape[0] > self.height:
            raise ValueError(f"too many rows: {self.rows_written} + {rows.shape[0]} > {self.height}")
        self._write(np.ascontiguousarray(rows))
        self.rows_written += rows.shape[0]

    def _write(self, rows: np.ndarray) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        raise NotImplementedError

    def close(self) -> Path:
        """Finish the file (all rows must have been written) and move it onto ``path``."""
        if self.rows_written != self.height:
            self.abort()
            raise ValueError(f"{self.rows_written} rows written of {self.height}")
        try:
            try:
                self._finish()
                self._file.flush()
                os.fsync(self._file.fileno())
            finally:
                self._file.close()
            os.replace(self._tmp, self.path)
        except OSError as err:
            self.abort()
            raise NeuralPaintError(f"{self.path}: cannot write: {err.strerror or err}") from None
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        """Delete the temporary file; ``path`` is left as it was."""
        self._file.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> ImageWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


class PngWriter(ImageWriter):
    """A streaming 8-bit RGB PNG writer: filter Up, one deflate stream, ``IDAT`` chunks of 1 MB."""

    def __init__(self, path: Path, width: int, height: int, level: int = DEFLATE_LEVEL):
        super().__init__(path, width, height)
        self._deflate = _deflate.compressobj(level)
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._previous = np.zeros(width * 3, np.uint8)  # the row above the first is zeros
        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        self._write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header))

    def _write_bytes(self, data: bytes) -> None:
        try:
            self._file.write(data)
        except OSError as err:
            raise NeuralPaintError(f"{self.path}: cannot write: {err.strerror or err}") from None

    def _idat(self, data: bytes, flush: bool = False) -> None:
        if data:
            self._pending.append(data)
            self._pending_bytes += len(data)
        if self._pending_bytes >= IDAT_BYTES or (flush and self._pending_bytes):
            self._write_bytes(_chunk(b"IDAT", b"".join(self._pending)))
            self._pending, self._pending_bytes = [], 0

    def _write(self, rows: np.ndarray) -> None:
        h = rows.shape[0]
        flat = rows.reshape(h, self.width * 3)
        filtered = np.empty((h, self.width * 3 + 1), np.uint8)
        filtered[:, 0] = 2  # filter type Up
        np.subtract(flat[0], self._previous, out=filtered[0, 1:])
        np.subtract(flat[1:], flat[:-1], out=filtered[1:, 1:])
        self._previous = flat[-1].copy()
        self._idat(self._deflate.compress(filtered))

    def _finish(self) -> None:
        self._idat(self._deflate.flush(), flush=True)
        self._write_bytes(_chunk(b"IEND", b""))


class OpenCVWriter(ImageWriter):
    """Any other format OpenCV writes: the bands are gathered into one uint8 image, encoded at the end."""

    def __init__(self, path: Path, width: int, height: int):
        super().__init__(path, width, height)
        self._image = np.empty((height, width, 3), np.uint8)  # BGR for OpenCV

    def _write(self, rows: np.ndarray) -> None:
        self._image[self.rows_written : self.rows_written + rows.shape[0]] = rows[..., ::-1]

    def _finish(self) -> None:
        import cv2

        ext = self.path.suffix.lower()
        options = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if ext in (".jpg", ".jpeg", ".jpe") else []
        try:
            ok, encoded = cv2.imencode(ext, self._image, options)
        except cv2.error as err:
            raise NeuralPaintError(f"{self.path}: OpenCV cannot encode this image: {str(err).strip().splitlines()[-1]}") from None
        if not ok:
            raise NeuralPaintError(f"{self.path}: OpenCV cannot encode this image as {ext}")
        self._image = None
        self._file.write(encoded.data)


def supported(path: str | os.PathLike) -> bool:
    """Whether ``open_image_writer`` can write ``path``'s format (from its extension)."""
    ext = Path(path).suffix.lower()
    if ext in PNG_EXTENSIONS:
        return True
    if not ext:
        return False
    import cv2

    return bool(cv2.haveImageWriter("x" + ext))


def check_output(path: str | os.PathLike, width: int, height: int) -> None:
    """Raise ``NeuralPaintError`` unless an image of ``width x height`` can be written at ``path``
    in the format its extension names (the file system is not touched)."""
    path = Path(path)
    ext = path.suffix.lower()
    if not supported(path):
        raise NeuralPaintError(f"{path}: cannot write images with extension {ext!r}; "
                               "use .png, .jpg, .webp or .tif")
    limit = SIDE_LIMITS.get(ext)
    if limit is not None and max(width, height) > limit:
        raise NeuralPaintError(f"{path}: {width}x{height} pixels is too big for {ext} "
                               f"(at most {limit} per side); use .png")


def open_image_writer(path: str | os.PathLike, width: int, height: int) -> ImageWriter:
    """A writer for a ``width x height`` RGB image at ``path`` (format from the extension).

    Fails with ``NeuralPaintError`` before any pixel is made when the format is unknown, the size
    too big for it, or the destination cannot be written (its temporary file is created now).
    """
    path = Path(path)
    check_output(path, width, height)
    if path.suffix.lower() in PNG_EXTENSIONS:
        return PngWriter(path, width, height)
    return OpenCVWriter(path, width, height)
