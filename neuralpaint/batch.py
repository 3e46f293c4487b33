"""Painting many photos: ``paint_many(paths, out_dir, ...)``, resumable through a manifest.

    import neuralpaint

    for result in neuralpaint.paint_many(["photos/"], "out", stroke="rectangle", size=256):
        print(result.path, result.status, result.psnr)

Each photo is painted as ``neuralpaint paint --img PHOTO`` paints one (``paint_file``) and writes
the same ``<name>_*`` files into ``out_dir``. ``out_dir/manifest.json`` (written atomically after
every photo) records, for each output name, the photo (path, size in bytes, modification time),
the settings that shape its outputs and the result (status, files, PSNR, seconds). A photo whose
record matches -- same photo, same settings, status ``painted``, every file still there -- is
skipped; anything else is painted again. Photos are painted in this process (``jobs=1``) or in
``jobs`` worker processes (``spawn``), each with ``cores // jobs`` threads.
"""
from __future__ import annotations

import dataclasses
import glob
import math
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import NeuralPaintError
from .manifest import batch_settings, is_complete, one_line, read_manifest, result_entry, source_record, write_manifest

DEFAULT_JOBS = 1  # photos painted at once by paint_many when jobs is not given (the CLI: default_jobs())
QUICK_WRITE = 0.01  # seconds: a manifest written faster than this is written after every photo
SMALL_MANIFEST = 200  # photos: a manifest this small is written after every photo however slow the disk
WORKER_MEMORY = 1.5e9  # bytes set aside per worker: one painting peaks at 0.75-1.1 GB up to 2048 px
PHOTO_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
GLOB_CHARACTERS = "*?["
STATUSES = ("painted", "skipped", "failed", "interrupted")


@dataclass
class PhotoResult:
    """What became of one photo. ``status``: ``painted``, ``skipped`` (its outputs were complete,
    with these settings), ``failed`` (``error`` says why) or ``interrupted`` (Ctrl-C: its files hold
    the strokes finished so far; the next run paints it again). ``files``: its outputs; ``seconds``:
    the time spent on it in this run (0 when skipped); ``psnr``: of the painting against the photo
    as painted (None when failed, or when the painting is exact)."""

    path: Path
    name: str
    status: str
    error: str | None = None
    files: list[Path] = field(default_factory=list)
    psnr: float | None = None
    seconds: float = 0.0
    strokes: int = 0
    max_strokes: int = 0
    stroke_type: str = ""
    width: int = 0
    height: int = 0
    painted_seconds: float = 0.0  # the painting alone, without writing the outputs
    stages: dict = field(default_factory=dict)  # the painter's stages (seconds)
    warnings: list[str] = field(default_factory=list)


# ---- one photo -----------------------------------------------------------------------------------
def paint_file(path: str | os.PathLike, out: str | os.PathLike, config, *, name: str | None = None, image=None,
               animation: bool = True, svg: bool = False, style=None, style_config=None,
               command: str | None = None, progress: bool = False, warn=None,
               started: float | None = None, watch=None) -> PhotoResult:
    """Paint the photo ``path`` (``image``: already read) with the ``PaintConfig`` ``config`` and
    write ``<name>_input.png``, ``_final.png``, ``_strokes.npz``, ``_animated.mp4/.gif``
    (``animation``), ``<name>.svg`` (``svg``) and the ``_stylized`` outputs (``style``) into ``out``:
    what ``neuralpaint paint`` writes. After Ctrl-C in the painter the outputs hold the strokes
    finished so far and the status is ``interrupted``; so they do when ``watch`` (see
    ``painter.progressive.paint_photo``: progress and the live picture) asks to stop.
    ``NeuralPaintError`` on bad input."""
    from .canvas.render import render_painting
    from .export.painting import write_painting
    from .imagefiles.io import read_image, write_image
    from .painter import paint_image

    start = time.perf_counter() if started is None else started
    path, out = Path(path), Path(out)
    name = name or path.stem
    warnings: list[str] = []
    warn = warn or warnings.append
    if image is None:
        image = read_image(path)
    strokes, state, photo = paint_image(image, config, progress=progress, watch=watch)
    painted = time.perf_counter() - start
    H, W = photo.shape[1:]
    metadata = {**strokes.metadata, "source": str(path)}
    if command is not None:
        metadata["command"] = command
    strokes = dataclasses.replace(strokes, metadata=metadata)
    if state.interrupted:  # the canvas may hold part of an unfinished level: render the strokes
        final = render_painting(strokes.stroke(), strokes.params_tensor(photo.device), H, W, strokes.canvas_colour)
    else:  # the painter's canvas is the engine's render of exactly these strokes
        final = state.canvas
    mse = (final - photo).pow(2).mean().item()
    psnr = 10 * math.log10(1.0 / mse) if mse > 0 else math.inf
    files = [write_image(out / f"{name}_input.png", photo)]
    files += write_painting(strokes, out, name, final_name=f"{name}_final.png", final=final, animation=animation,
                            svg=svg, device=photo.device, warn=warn)
    if style is not None and not state.interrupted:
        from .style import stylize_run

        result = stylize_run(strokes, style, photo, style_config, progress=progress)
        files += write_painting(result.strokes, out, f"{name}_stylized", animation=animation, svg=svg,
                                device=photo.device, warn=warn)
    return PhotoResult(path, name, "interrupted" if state.interrupted else "painted", files=files, psnr=psnr,
                       seconds=time.perf_counter() - start, strokes=strokes.n, max_strokes=config.max_strokes,
                       stroke_type=strokes.stroke_type, width=W, height=H, painted_seconds=painted,
                       stages=dict(state.seconds), warnings=warnings)


def _attempt(path: Path, name: str, out: Path, config, options: dict) -> PhotoResult:
    """``paint_file``, with bad input and Ctrl-C turned into a result."""
    start = time.perf_counter()
    try:
        return paint_file(path, out, config, name=name, **options)
    except KeyboardInterrupt:  # outside the painter (which keeps its strokes itself)
        return PhotoResult(path, name, "interrupted", error="interrupted", seconds=time.perf_counter() - start)
    except (NeuralPaintError, OSError, MemoryError) as err:
        message = one_line(err if isinstance(err, NeuralPaintError) else f"{type(err).__name__}: {err}")
        if str(path) not in message:
            message = f"{path}: {message}"
        return PhotoResult(path, name, "failed", error=message, seconds=time.perf_counter() - start)


# ---- which photos --------------------------------------------------------------------------------
def is_batch(spec: str | os.PathLike) -> bool:
    """Whether one ``--img`` value names several photos: a folder, or a glob pattern that is not
    the name of an existing file."""
    path = Path(spec)
    return path.is_dir() or (not path.exists() and any(c in str(spec) for c in GLOB_CHARACTERS))


def _is_photo(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in PHOTO_EXTENSIONS and not path.name.startswith(".")


def find_photos(specs: Iterable[str | os.PathLike]) -> list[Path]:
    """The photos ``specs`` name, in order, each once: a folder gives its photo files (by extension:
    ``PHOTO_EXTENSIONS``, not its subfolders), sorted by name; a glob pattern (``*``, ``?``, ``[``;
    ``**`` crosses folders) its matching photo files, sorted; a file itself. ``NeuralPaintError``
    when a folder or pattern gives no photo, or a file does not exist."""
    photos: dict[Path, Path] = {}
    specs = [specs] if isinstance(specs, (str, os.PathLike)) else list(specs)
    if not specs:
        raise NeuralPaintError("no photos given")
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if _is_photo(p))
            if not found:
                raise NeuralPaintError(f"{spec}: no photos in this folder ({', '.join(PHOTO_EXTENSIONS)})")
        elif path.exists():
            found = [path]
        elif is_batch(spec):
            found = sorted(p for p in map(Path, glob.glob(str(spec), recursive=True)) if _is_photo(p))
            if not found:
                raise NeuralPaintError(f"no photos match {spec}")
        else:
            raise NeuralPaintError(f"{spec}: no such file or folder")
        for p in found:
            photos.setdefault(p.resolve(), p)
    return list(photos.values())


def output_names(photos: list[Path]) -> list[str]:
    """Each photo's output name (its file name without the extension); ``NeuralPaintError`` when two
    photos would write the same ``<name>_*`` files."""
    seen: dict[str, Path] = {}
    for photo in photos:
        other = seen.setdefault(photo.stem, photo)
        if other is not photo:
            raise NeuralPaintError(f"{other} and {photo} would both write {photo.stem}_* files: paint them "
                                   "into different --out folders, or rename one")
    return [p.stem for p in photos]


# ---- the batch -----------------------------------------------------------------------------------
@dataclass
class Batch:
    """A checked batch (``prepare_batch``): the photos, their output names, which are done."""

    photos: list[Path]
    names: list[str]
    out: Path
    config: object
    options: dict
    settings: dict
    manifest: dict
    sources: dict[str, dict | None]  # name -> source_record, None when the photo cannot be read
    done: list[str]  # names whose outputs are complete with these settings
    todo: list[str]
    _written: float = field(default=-math.inf, repr=False)  # when the manifest was last written
    _cost: float = field(default=0.0, repr=False)  # how long that took
    _unsaved: bool = field(default=False, repr=False)

    def _path(self, name: str) -> Path:
        return self.photos[self.names.index(name)]

    def skipped(self, name: str) -> PhotoResult:
        entry = self.manifest["photos"][name]
        return PhotoResult(self._path(name), name, "skipped", files=[self.out / f for f in entry["files"]],
                           psnr=entry.get("psnr"), strokes=entry.get("strokes", 0),
                           max_strokes=self.config.max_strokes)

    def record(self, result: PhotoResult) -> None:
        """Enter the photo's result in the manifest and write it (atomically), as soon as the photo
        is done while the manifest is small (``SMALL_MANIFEST`` photos) or a write is cheap (under
        ``QUICK_WRITE``); once the manifest is big and slow to write (thousands of photos, on a
        cluster) at most every 20 times its last write's duration, so that it takes about 5 % of
        the batch's time at most. (A time limit alone let a loaded machine, where even a small
        write took over 10 ms, skip writes after quick photos.) ``run_batch`` writes the rest when it ends,
        however it ends (a killed command repaints the few photos not yet written in)."""
        source = self.sources[result.name] or {}
        self.manifest["photos"][result.name] = result_entry(result, source, self.settings, self.out)
        self._unsaved = True
        if (len(self.manifest["photos"]) <= SMALL_MANIFEST or self._cost < QUICK_WRITE
                or time.perf_counter() - self._written >= 20 * self._cost):
            self.save()

    def save(self) -> None:
        start = time.perf_counter()
        write_manifest(self.out, self.manifest)
        self._written = time.perf_counter()
        self._cost = self._written - start
        self._unsaved = False

    def flush(self) -> None:
        if self._unsaved:
            self.save()


def prepare_batch(paths, out_dir: str | os.PathLike, config=None, *, animation: bool = True, svg: bool = False,
                  style=None, style_config=None, command: str | None = None, **settings) -> Batch:
    """Find the photos, check the settings and names, read the manifest and see which photos are
    done; ``NeuralPaintError`` for anything that stops the batch before it starts."""
    from .painter.config import PaintConfig

    config = dataclasses.replace(config or PaintConfig(), **settings)
    config.validate()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NeuralPaintError(f"{out}: cannot be the output directory: it is not a directory")
    photos = find_photos(paths)
    names = output_names(photos)
    options = {"animation": animation, "svg": svg, "style": style, "style_config": style_config, "command": command}
    recorded = batch_settings(config, options)
    manifest = read_manifest(out)
    sources: dict[str, dict | None] = {}
    done, todo = [], []
    for path, name in zip(photos, names):
        try:
            sources[name] = source_record(path)
        except OSError:
            sources[name] = None
        complete = sources[name] is not None and is_complete(manifest["photos"].get(name), sources[name],
                                                             recorded, out)
        (done if complete else todo).append(name)
    return Batch(photos, names, out, config, options, recorded, manifest, sources, done, todo)


def paint_many(paths, out_dir: str | os.PathLike, config=None, *, jobs: int = DEFAULT_JOBS, animation: bool = True,
               svg: bool = False, style=None, style_config=None, command: str | None = None,
               **settings) -> Iterator[PhotoResult]:
    """Paint the photos ``paths`` names (files, folders, glob patterns: ``find_photos``) into
    ``out_dir``, skipping those already painted there with the same settings (its manifest), with
    ``config`` (a ``PaintConfig``) and/or ``PaintConfig`` fields as keywords. Checks everything
    first (``NeuralPaintError``), then returns an iterator of one ``PhotoResult`` per photo as it
    finishes: the skipped ones first, then the others. A photo that fails is a ``failed`` result;
    the others go on. On Ctrl-C (or when the iteration is stopped early) the photos being painted
    stop, their files and the finished ones are recorded, and ``KeyboardInterrupt`` is raised."""
    if not isinstance(jobs, int) or jobs < 1:
        raise NeuralPaintError(f"--jobs must be at least 1, got {jobs}")
    batch = prepare_batch(paths, out_dir, config, animation=animation, svg=svg, style=style,
                          style_config=style_config, command=command, **settings)
    return run_batch(batch, jobs)


def run_batch(batch: Batch, jobs: int = DEFAULT_JOBS, runner=None) -> Iterator[PhotoResult]:
    """The results of a prepared batch, as each photo finishes (see ``paint_many``). ``runner(batch,
    names, jobs)``: paints the photos elsewhere (``neuralpaint.cluster``: on Dask workers)."""
    for name in batch.done:
        yield batch.skipped(name)
    if not batch.todo:
        return
    for name in batch.todo:  # until painted afresh, a photo's old record no longer stands
        batch.manifest["photos"][name] = {**(batch.sources[name] or {}), "settings": batch.settings,
                                          "status": "pending"}
    batch.save()
    todo = []
    for name in batch.todo:
        if batch.sources[name] is None:  # gone since it was found, or not a file
            path = batch._path(name)
            result = PhotoResult(path, name, "failed", error=f"{path}: cannot be read (it is gone, or not a file)")
            batch.record(result)
            yield result
        else:
            todo.append(name)
    if todo:
        runner = runner or (_in_process if jobs == 1 or len(todo) == 1 else _in_workers)
        try:
            yield from runner(batch, todo, min(jobs, len(todo)))
        finally:  # finished, Ctrl-C, a crash, or the iteration stopped early
            batch.flush()


def _in_process(batch: Batch, todo: list[str], jobs: int) -> Iterator[PhotoResult]:
    for name in todo:
        result = _attempt(batch._path(name), name, batch.out, batch.config, batch.options)
        batch.record(result)
        yield result
        if result.status == "interrupted":
            raise KeyboardInterrupt


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def available_memory() -> int | None:
    """Bytes of memory available to new processes (``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return None


def default_jobs() -> int:
    """``paint --jobs`` when not given: one worker per usable core, as many as the available memory
    allows (``WORKER_MEMORY`` each). On 2 cores, 2 workers paint a folder faster than 1
    (``scripts/bench_batch.py``, docs/batch.md)."""
    memory = available_memory()
    by_memory = int(memory // WORKER_MEMORY) if memory is not None else usable_cores()
    return max(1, min(usable_cores(), by_memory))


def worker_threads(jobs: int) -> int:
    """Threads for each of ``jobs`` worker processes, so that jobs x threads <= the usable cores."""
    return max(1, usable_cores() // jobs)


# ---- in a worker process ------------------------------------------------------------------------
_stop = None  # the batch's stop event (a multiprocessing Event)
_busy = False  # painting a photo: SIGINT interrupts it; between photos SIGINT is ignored


def _start_worker(threads: int, stop) -> None:
    """Worker set-up, before torch and numba are imported: ``threads`` threads each; SIGINT (the
    terminal's Ctrl-C, or the main process setting ``stop``) interrupts the photo being painted."""
    import atexit
    import signal
    import threading

    global _stop
    _stop = stop
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[variable] = str(threads)
    import torch

    torch.set_num_threads(threads)
    signal.signal(signal.SIGINT, _on_interrupt)

    def watch() -> None:
        stop.wait()
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=watch, daemon=True).start()
    atexit.register(_quick_exit)  # registered last, so it runs first when the worker exits


def _quick_exit() -> None:
    """End a worker at once when the pool lets it go: its results are sent, and tearing down an
    interpreter with torch loaded takes seconds that the batch would wait for."""
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)


def _on_interrupt(signum, frame) -> None:
    global _busy
    if _busy:
        _busy = False  # once: a second signal must not cut the outputs of the interrupted photo short
        raise KeyboardInterrupt


def _paint_in_worker(path: Path, name: str, out: Path, config, options: dict) -> PhotoResult | None:
    """``_attempt`` in a worker; None when the batch was stopped before this photo began."""
    global _busy
    if _stop is not None and _stop.is_set():
        return None
    _busy = True
    try:
        return _attempt(path, name, out, config, options)
    finally:
        _busy = False


def _in_workers(batch: Batch, todo: list[str], jobs: int) -> Iterator[PhotoResult]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                               initargs=(worker_threads(jobs), stop))
    pending = {pool.submit(_paint_in_worker, batch._path(name), name, batch.out, batch.config, batch.options): name
               for name in todo}
    try:
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                name = pending.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:  # a worker was killed (out of memory?): no one knows which
                    path = batch._path(name)  # photo did it, so every unfinished one fails; rerun them
                    result = PhotoResult(path, name, "failed", error=f"{path}: the worker process painting it "
                                         "ended abruptly (out of memory?); the next run tries it again")
                batch.record(result)
                yield result
                if result.status == "interrupted":
                    raise KeyboardInterrupt
    except BaseException:  # Ctrl-C, the iteration stopped early, or a bug: stop the workers,
        stop.set()  # record what they finish with (a photo in progress keeps its strokes so far)
        for future in pending:
            future.cancel()
        for future in pending:
            try:
                result = future.result()
            except BaseException:  # cancelled, or the worker was interrupted between photos
                continue
            if result is not None:
                batch.record(result)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
