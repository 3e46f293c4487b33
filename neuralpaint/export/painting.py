"""Writing a finished painting: its picture, its strokes file, its animation and SVG.

``write_painting`` is what ``paint`` and ``stylize`` write. Each file is written atomically, so an
interrupted run leaves finished files or none. The animation renders and encodes in a second
thread (the compiled kernels, ffmpeg and the image encoders release the GIL) while the picture, the strokes file
and the SVG are written.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..strokesfile import Strokes


def write_painting(strokes: Strokes, out: str | Path, name: str, *, final_name: str | None = None,
                   animation: bool = True, svg: bool = False, device="cpu",
                   final=None, warn: Callable[[str], None] = print) -> list[Path]:
    """Write ``strokes`` into the directory ``out`` (created when needed):

    * ``final_name`` (default ``<name>.png``): the painting rendered by its engine at the strokes
      file's size (``final``, an ``(H, W, 3)`` array or a ``(3, H, W)`` tensor, when already rendered);
    * ``<name>_strokes.npz``: the strokes file;
    * ``<name>.svg`` (``svg``): the painting as vector strokes;
    * ``<name>_animated.mp4`` and ``.gif`` (``animation``): the painting stroke by stroke; without
      ffmpeg only the GIF, and ``warn`` says why.

    Returns the paths written, in that order.
    """
    from ..canvas.render import render_painting
    from ..imagefiles.io import write_image
    from ..strokesfile import save_strokes
    from .animation import FFmpegUnavailable, write_animation

    out = Path(out)
    H, W = strokes.height, strokes.width
    pending = None
    if animation:
        from concurrent.futures import ThreadPoolExecutor

        mp4, gif = out / f"{name}_animated.mp4", out / f"{name}_animated.gif"
        pool = ThreadPoolExecutor(1)
        pending = pool.submit(write_animation, strokes, H, W, mp4, gif, device=device)
        pool.shutdown(wait=False)
    try:
        if final is None:
            final = render_painting(strokes.stroke(), strokes.params, H, W, strokes.canvas_colour,
                                    device=device).transpose(1, 2, 0)  # (H, W, 3)
        written = [write_image(out / (final_name or f"{name}.png"), final),
                   save_strokes(strokes, out / f"{name}_strokes.npz")]
        if svg:
            from .svg import write_svg

            written.append(write_svg(strokes, out / f"{name}.svg"))
    finally:
        if pending is not None:  # never leave the animation thread writing behind us
            try:
                pending.result()
                animation_files = [mp4, gif]
            except FFmpegUnavailable as err:
                animation_files = [gif]
                warn(str(err))
    return written + (animation_files if pending is not None else [])
