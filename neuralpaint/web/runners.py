"""What the studio's queue runs, one function per kind of job (``RUNNERS``), each returning the
state the job ends in (``done`` or ``cancelled``) or raising ``NeuralPaintError``:

* ``paint``: a photo painted by ``batch.paint_file``, the call ``neuralpaint paint`` makes, with
  ``paint``'s options parsed by its own parser; then a thumbnail and the stroke lists;
* ``stylize``: a finished painting restyled by ``style.stylize_run``, as ``neuralpaint stylize``
  does, written as a painting of its own (``final.png``, ``strokes.npz``, ``painting.svg``).

The files are named ``painting_*`` in the painting's folder (``jobs.FILES`` serves them).
"""
from __future__ import annotations

import math
import shutil
from pathlib import Path

from ..errors import NeuralPaintError

NAME = "painting"
THUMB_SIDE = 240


def run_paint(studio, job) -> str:
    from ..batch import paint_file
    from .options import parse_request

    style = job.folder / job.style_upload if job.style_upload else None
    request = parse_request(job.options, job.name, style)
    job.command = request.command
    warnings: list[str] = []
    result = paint_file(job.folder / job.upload, job.folder, request.config, name=NAME, animation=request.animation,
                        svg=request.svg, style=request.style, style_config=request.style_config,
                        command=request.command, warn=warnings.append, watch=job.watch)
    job.strokes_done, job.strokes_total = result.strokes, result.max_strokes
    job.width, job.height, job.painted_seconds = result.width, result.height, result.painted_seconds
    job.psnr = round(result.psnr, 3) if result.psnr is not None and math.isfinite(result.psnr) else None
    finish(job.folder)
    return "cancelled" if result.status == "interrupted" else "done"


def run_stylize(studio, job) -> str:
    from ..export.painting import write_painting
    from ..strokesfile import load_strokes
    from ..style import StylizeConfig, stylize_run

    source = studio.get(job.source or "")
    if source is None or not (source.folder / f"{NAME}_strokes.npz").is_file():
        raise NeuralPaintError("the painting to stylize is gone, or has no strokes")
    strokes = load_strokes(source.folder / f"{NAME}_strokes.npz")
    content = source.folder / f"{NAME}_input.png"
    style = str(job.folder / job.style_upload) if job.style_upload else job.options.get("style")
    if not style:
        raise NeuralPaintError("choose a style: a shipped style image or an uploaded one")
    options = job.options
    config = StylizeConfig(mode=options.get("mode") or StylizeConfig.mode, seed=int(options.get("seed") or 0),
                           steps=int(options.get("style_steps") or StylizeConfig.steps), device="auto")
    config.validate()
    job.stage, job.strokes_total = "stylizing", strokes.n
    job.changed()
    result = stylize_run(strokes, style, content if content.is_file() else None, config)
    if content.is_file():
        shutil.copyfile(content, job.folder / f"{NAME}_input.png")
    write_painting(result.strokes, job.folder, NAME, final_name=f"{NAME}_final.png", animation=False, svg=True)
    job.strokes_done, job.width, job.height = result.strokes.n, result.strokes.width, result.strokes.height
    job.command = f"neuralpaint stylize {source.name}_strokes.npz --style {Path(style).stem} --mode {config.mode}"
    finish(job.folder)
    return "done"


def finish(folder: Path) -> None:
    """A finished painting's extras: ``thumb.jpg`` and the stroke lists (JSON, CSV)."""
    import cv2

    from ..export.strokelist import write_stroke_list
    from ..fileutil import atomic_path
    from ..strokesfile import load_strokes

    final = folder / f"{NAME}_final.png"
    if final.is_file():
        picture = cv2.imread(str(final), cv2.IMREAD_COLOR)
        h, w = picture.shape[:2]
        scale = min(1.0, THUMB_SIDE / max(h, w))
        thumb = cv2.resize(picture, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        with atomic_path(folder / "thumb.jpg") as tmp:
            cv2.imwrite(str(tmp), thumb, [cv2.IMWRITE_JPEG_QUALITY, 85])
    strokes_file = folder / f"{NAME}_strokes.npz"
    if strokes_file.is_file():
        strokes = load_strokes(strokes_file)
        for fmt in ("json", "csv"):
            write_stroke_list(strokes, folder / f"{NAME}_strokes.{fmt}", fmt)


def render_width(folder: Path, width: int) -> Path:
    """Re-render a painting's strokes ``width`` pixels wide into ``hires.png`` (as render-hires)."""
    from ..canvas.render import write_render
    from ..strokesfile import load_strokes

    strokes_file = folder / f"{NAME}_strokes.npz"
    if not strokes_file.is_file():
        raise NeuralPaintError("this painting has no strokes file to render")
    return write_render(load_strokes(strokes_file), folder / "hires.png", width=width, progress=False)


RUNNERS = {"paint": run_paint, "stylize": run_stylize}
