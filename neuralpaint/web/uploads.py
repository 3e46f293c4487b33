"""Checking an uploaded photo before anything is written: its size in bytes, its content (not its
name: the bytes must decode as one of ``FORMATS``), its pixel count (read from the header, before
decoding, so a decompression bomb costs nothing) and then a full decode (truncated or corrupt
files). Every refusal is an ``UploadError`` with an HTTP status and one clear message.
``BodyLimit`` refuses a request far larger than that before it is read."""
from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass

MAX_BYTES = 25 * 1024 * 1024  # 25 MB
MAX_PIXELS = 40_000_000  # 40 megapixels
MIN_SIDE = 2
MAX_SIDE = 20000  # as neuralpaint.imagefiles.io reads them
# Pillow's format name -> the extension the file is stored under
FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif", "GIF": ".gif"}
FORMAT_LIST = "PNG, JPEG, WebP, BMP, TIFF or GIF"


class UploadError(Exception):
    """A refused upload: ``status`` (400, 413, 415) and a one-line ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    format: str  # Pillow's name (``PNG``)
    suffix: str  # ``.png``
    width: int
    height: int


def read_limited(stream, limit: int = MAX_BYTES, what: str = "photo") -> bytes:
    """At most ``limit`` bytes of the binary ``stream``; ``UploadError`` (413) when it holds more."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise UploadError(413, f"the {what} is larger than {limit / 1024 / 1024:.0f} MB")
    return data


def check_image(data: bytes, what: str = "photo", max_pixels: int = MAX_PIXELS) -> CheckedImage:
    """``data`` checked as an image file (see the module docstring)."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise UploadError(400, f"the {what} is an empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: the limit is ours
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise UploadError(415, f"the {what} is not an image ({FORMAT_LIST})") from None
    except Image.DecompressionBombError:
        raise UploadError(413, f"the {what} has too many pixels (at most {max_pixels // 1_000_000} megapixels)") from None
    except Exception as err:  # broken headers: Pillow raises OSError, SyntaxError, ValueError...
        raise UploadError(400, f"the {what} is a corrupt image ({err})") from None
    with image:
        if image.format not in FORMATS:
            raise UploadError(415, f"the {what} is a {image.format} image; use {FORMAT_LIST}")
        width, height = image.size
        if width * height > max_pixels:
            raise UploadError(413, f"the {what} is {width}x{height} pixels; at most {max_pixels // 1_000_000} "
                              "megapixels are accepted")
        if max(width, height) > MAX_SIDE:
            raise UploadError(413, f"the {what} is {width}x{height} pixels; at most {MAX_SIDE} per side are accepted")
        if min(width, height) < MIN_SIDE:
            raise UploadError(400, f"the {what} is {width}x{height} pixels; it must be at least {MIN_SIDE}x{MIN_SIDE}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                image.load()
        except Exception as err:
            raise UploadError(400, f"the {what} is a corrupt or truncated image ({err})") from None
    return CheckedImage(data, image.format, FORMATS[image.format], width, height)


class RequestTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: a request body larger than ``limit`` bytes is refused with 413 as soon as
    its ``Content-Length`` says so, or as soon as that many bytes have arrived, before the
    multipart parser spools it to disk."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", ())).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(send)
        seen = 0
        started = False

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise RequestTooLarge
            return message

        async def tracked(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except RequestTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send) -> None:
        body = json.dumps({"error": f"the request is larger than {self.limit / 1024 / 1024:.0f} MB"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
