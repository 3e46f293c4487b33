"""Painting a clip on a Dask cluster: ``paint-video --cluster``, one task per scene.

The client reads the frames and splits the clip where ``paint_video`` would start a fresh painting
anyway: at each scene cut, found with the painter's own test (``flow.cut_distance`` between the
frames as the painter resizes them, above ``VideoConfig.cut_threshold``). Each chunk -- its frames,
the settings and the number of its first frame -- is one ``client.submit``; the worker runs the
library ``paint_video`` on it and sends back its ``VideoFrame``s, which the client takes in frame
order and writes exactly as a local run does.

Nothing flows across a cut in ``paint_video``: the fresh painting at frame ``i`` is seeded with
``seed + i`` (``paint_photo`` seeds its generator and torch's), its optimiser starts anew, its
palette is the new frame's. So a chunk painted on its own paints what the whole clip painted in one
process paints for those frames. A clip without cuts is one chunk: one worker paints it all, in
order, because each frame carries on from the one before.

Frames travel as PNG bytes when they are 8-bit (``x == u8 / 255`` exactly, as decoded video frames
are), else as float32 arrays, so the worker paints the very same values.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import NeuralPaintError
from ..painter import PaintConfig
from ..strokesfile import Strokes
from .painting import VideoConfig, VideoFrame

RETRIES = 1  # Dask retries of a chunk whose task raised (a dead worker is rescheduled regardless)


@dataclass
class Chunk:
    """Frames ``start`` to ``stop - 1`` of the clip, painted by one task (``future``)."""

    start: int
    stop: int
    future: object


# ---- frames through the network ------------------------------------------------------------------
def _from_u8(pixels: np.ndarray) -> np.ndarray:
    return pixels.astype(np.float32) / 255.0  # as video.frames decodes a frame


def encode_frame(frame: np.ndarray) -> bytes | np.ndarray:
    """An ``(H, W, 3)`` float frame as PNG bytes when that is exact, else as a float32 array."""
    import cv2

    frame = np.ascontiguousarray(frame, dtype=np.float32)
    pixels = np.clip(np.rint(frame * 255.0), 0, 255).astype(np.uint8)
    if np.array_equal(_from_u8(pixels), frame):
        ok, data = cv2.imencode(".png", np.ascontiguousarray(pixels[..., ::-1]))
        if ok:
            return data.tobytes()
    return frame


def decode_frame(data: bytes | np.ndarray) -> np.ndarray:
    """The frame ``encode_frame`` encoded, value for value."""
    if isinstance(data, np.ndarray):
        return data
    import cv2

    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if pixels is None:
        raise NeuralPaintError("a frame sent to the worker could not be decoded")
    return _from_u8(np.ascontiguousarray(pixels[..., ::-1]))


# ---- where the clip is cut -----------------------------------------------------------------------
def scene_chunks(frames: Iterable[np.ndarray], config: PaintConfig, video: VideoConfig, *, first_index: int = 0,
                 before: np.ndarray | None = None, keep: Callable = lambda frame: frame) -> Iterator[tuple[int, list]]:
    """``(first frame number, frames)`` of each scene of ``frames`` (numbered from ``first_index``),
    as they are read: a new scene starts where ``paint_video`` starts a fresh painting, the frame's
    colour histogram (at the painting's size) more than ``video.cut_threshold`` from the frame
    before's. ``before``: the frame before the first (``--resume``), which the first is compared to
    as ``paint_video`` compares it; the first chunk starts at ``first_index`` anyway. The chunks hold
    ``keep(frame)`` (``encode_frame``: the client holds a scene's frames encoded, not as floats)."""
    import torch

    from ..painter import prepare_photo
    from .flow import cut_distance

    cpu = torch.device("cpu")
    last = None if before is None else prepare_photo(before, config.size, cpu)
    start, chunk = first_index, []
    for index, frame in enumerate(frames, start=first_index):
        photo = prepare_photo(frame, config.size, cpu)
        if chunk and (last is None or cut_distance(last, photo) > video.cut_threshold):
            yield start, chunk
            start, chunk = index, []
        chunk.append(keep(frame))
        last = photo
    if chunk:
        yield start, chunk


# ---- on a worker ---------------------------------------------------------------------------------
def paint_chunk(first_index: int, frames: list, config: PaintConfig, video: VideoConfig,
                previous: tuple[bytes | np.ndarray, Strokes] | None = None) -> list[VideoFrame]:
    """Paint one chunk on a Dask worker (``frames`` as ``encode_frame`` made them): the library's
    ``paint_video`` from frame ``first_index`` on, its ``VideoFrame``s in order."""
    from ..cluster import _use_worker_threads
    from .painting import paint_video

    _use_worker_threads()
    if previous is not None:
        previous = (decode_frame(previous[0]), previous[1])
    return list(paint_video([decode_frame(f) for f in frames], config, video, first_index=first_index,
                            previous=previous))


# ---- on the client -------------------------------------------------------------------------------
def submit_chunks(client, frames: Iterable[np.ndarray], config: PaintConfig, video: VideoConfig, *,
                  first_index: int = 0, previous: tuple[np.ndarray, Strokes] | None = None,
                  retries: int = RETRIES) -> list[Chunk]:
    """Split ``frames`` at its scene cuts and submit each chunk as it is read (workers start on the
    first scenes while the client still reads the rest). ``previous = (frame, strokes)`` of the
    frame before ``first_index`` (``--resume``) goes with the first chunk, which carries on from it."""
    import warnings

    token = f"{os.getpid()}-{time.time_ns()}"
    chunks = []
    try:
        for start, part in scene_chunks(frames, config, video, first_index=first_index, keep=encode_frame,
                                        before=None if previous is None else previous[0]):
            carry = None
            if previous is not None and start == first_index:
                carry = (encode_frame(previous[0]), previous[1])
            with warnings.catch_warnings():  # a long scene is a large task by design: the frames go with it
                warnings.filterwarnings("ignore", message=".*large graph", category=UserWarning)
                future = client.submit(paint_chunk, start, part, config, video, carry,
                                       key=f"paint-video-{start:06d}-{token}", retries=retries, pure=False)
            chunks.append(Chunk(start, start + len(part), future))
    except BaseException:
        client.cancel([c.future for c in chunks])
        raise
    return chunks


def collect(client, chunks: list[Chunk]) -> Iterator[VideoFrame]:
    """The painted frames of ``chunks``, in frame order, as their tasks finish. When the iteration
    stops (the end, Ctrl-C, an error) the chunks not taken are cancelled."""
    try:
        for k, chunk in enumerate(chunks):
            try:
                frames = chunk.future.result()
            except NeuralPaintError:  # the painter's own one-line errors (a frame of another size...)
                raise
            except Exception as err:  # KilledWorker (its workers kept dying), a bug on a worker, a lost task
                from ..manifest import one_line

                raise NeuralPaintError(f"painting frames {chunk.start}-{chunk.stop - 1} on the cluster failed "
                                       f"({type(err).__name__}: {one_line(err)}); the frames before are kept, "
                                       "--resume continues") from None
            chunks[k] = None  # the client keeps no chunk it has handed on
            yield from frames
    finally:
        left = [c.future for c in chunks if c is not None]
        if left:
            client.cancel(left)
