"""The studio's paintings: each one a folder ``<data>/paintings/<id>/`` holding its upload, its
record ``job.json`` (written atomically at every change of state) and its outputs; a queue runs
at most ``max_running`` of them at once in worker threads and holds at most ``max_queued``.

A painting is painted by ``batch.paint_file``, the call ``neuralpaint paint`` makes, with the
options parsed by ``paint``'s own parser (``options.parse_request``): the same options give the
same files and the same picture for the same seed. Its ``watch`` (``painter.PaintProgress``)
keeps the stage, the strokes done, the time left and, every ``FRAME_INTERVAL`` seconds (less
often, up to ``MAX_FRAME_GAP``, when making a picture would take more than ``FRAME_SHARE`` of the
time), a JPEG of the live picture; a stop request ends the painting as Ctrl-C ends ``paint``: the
outputs hold the strokes finished so far.

After a restart every finished painting is listed again; one that was running is
``interrupted`` (never ``done``: ``done`` is recorded only after every output is written), and
queued ones are queued again.
"""
from __future__ import annotations

import collections
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NeuralPaintError
from ..fileutil import write_text_atomic
from .runners import RUNNERS

log = logging.getLogger("neuralpaint.web")

STATES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
ACTIVE = ("queued", "running")
ID = re.compile(r"[0-9a-f]{24}")
FRAME_INTERVAL = 0.3  # seconds between live pictures
FRAME_SHARE = 0.08  # at most this share of the painting's time goes to live pictures ...
MAX_FRAME_GAP = 3.0  # ... unless that leaves more than this many seconds between them
PREVIEW_SIDE = 400  # longer side of the live picture
# the names a painting's files are served under -> the files in its folder (nothing else is served)
FILES = {
    "input.png": "painting_input.png",
    "final.png": "painting_final.png",
    "strokes.npz": "painting_strokes.npz",
    "painting.svg": "painting.svg",
    "strokes.json": "painting_strokes.json",
    "strokes.csv": "painting_strokes.csv",
    "animated.mp4": "painting_animated.mp4",
    "animated.gif": "painting_animated.gif",
    "stylized.png": "painting_stylized.png",
    "stylized_strokes.npz": "painting_stylized_strokes.npz",
    "stylized.svg": "painting_stylized.svg",
    "thumb.jpg": "thumb.jpg",
    "hires.png": "hires.png",
}


class QueueFull(Exception):
    """The queue holds ``max_queued`` paintings already."""


@dataclass
class Job:
    """One painting. The fields before ``folder`` are its record (``job.json``); the rest live in
    memory while it is painted."""

    id: str
    kind: str  # a key of RUNNERS: paint, stylize
    state: str
    created: float
    name: str  # the photo's name, for people (never a path)
    options: dict
    upload: str | None = None  # the photo's file in the folder
    style_upload: str | None = None
    source: str | None = None  # stylize: the painting it restyles
    command: str | None = None
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    strokes_done: int = 0
    strokes_total: int = 0
    width: int = 0
    height: int = 0
    psnr: float | None = None
    seconds: float | None = None  # the whole run, outputs included
    painted_seconds: float | None = None  # the painting alone (paint_file's painted_seconds)
    folder: Path = field(default=Path(), repr=False, compare=False)
    stage: str = ""
    progress: float = 0.0
    seconds_left: float | None = None
    frame: bytes | None = field(default=None, repr=False)
    frame_no: int = 0
    version: int = 0
    stop: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)
    _frame_at: float = field(default=0.0, repr=False)  # when the next live picture is due

    RECORD = ("id", "kind", "state", "created", "name", "options", "upload", "style_upload", "source", "command",
              "error", "started", "finished", "strokes_done", "strokes_total", "width", "height", "psnr", "seconds",
              "painted_seconds")

    def record(self) -> dict:
        return {key: getattr(self, key) for key in self.RECORD}

    def files(self) -> list[str]:
        """The served names of the files this painting has now."""
        return [name for name, file in FILES.items() if (self.folder / file).is_file()]

    def path(self, name: str) -> Path | None:
        """The file served as ``name``, or None when ``name`` is not one of ``FILES`` or missing."""
        file = FILES.get(name)
        return self.folder / file if file is not None and (self.folder / file).is_file() else None

    def changed(self) -> None:
        self.version += 1

    def watch(self, event) -> bool:
        """The painter's ``watch``: keep its progress (and now and then its live picture); True asks it to stop."""
        import cv2

        self.stage = "refining" if event.stage == "refine" else f"painting {event.level} blocks"
        self.progress = event.step / max(1, event.total_steps)
        self.strokes_done, self.strokes_total = event.strokes_done, event.strokes_total
        self.seconds_left = event.seconds / event.step * (event.total_steps - event.step)
        now = time.monotonic()
        if self.frame is None or now >= self._frame_at:
            picture = event.picture(PREVIEW_SIDE)
            ok, jpeg = cv2.imencode(".jpg", picture[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 88])
            if ok:
                self.frame, self.frame_no = jpeg.tobytes(), self.frame_no + 1
            # a slow render (MyPaint strokes) comes less often, but at least every MAX_FRAME_GAP
            # seconds; the first one's cost (loading the compiled kernels) does not count
            cost = time.monotonic() - now if self.frame_no > 1 else 0.0
            self._frame_at = now + max(FRAME_INTERVAL, min(cost / FRAME_SHARE, MAX_FRAME_GAP))
        self.changed()
        return self.stop.is_set()


def new_id() -> str:
    """An unguessable id: 96 random bits."""
    return secrets.token_hex(12)


class Studio:
    """The paintings under ``data`` and the queue that paints them (see the module docstring)."""

    def __init__(self, data: str | os.PathLike, max_running: int = 1, max_queued: int = 16) -> None:
        if max_running < 1 or max_queued < 0:
            raise NeuralPaintError(f"max_running must be at least 1 and max_queued 0 or more, got {max_running}, "
                                   f"{max_queued}")
        self.root = Path(data) / "paintings"
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_running, self.max_queued = max_running, max_queued
        self.jobs: dict[str, Job] = {}
        self.pending: collections.deque[Job] = collections.deque()
        self.lock = threading.Condition()
        self.closing = False
        self._load()
        self.threads = [threading.Thread(target=self._work, name=f"painter-{i}", daemon=True) for i in range(max_running)]
        for thread in self.threads:
            thread.start()

    # ---- records --------------------------------------------------------------------------------
    def _load(self) -> None:
        for record_file in sorted(self.root.glob("*/job.json")):
            folder = record_file.parent
            try:
                record = json.loads(record_file.read_text(encoding="utf-8"))
                job = Job(**{key: record[key] for key in Job.RECORD if key in record}, folder=folder)
            except (OSError, ValueError, TypeError, KeyError) as err:
                log.warning("%s: unreadable painting record, skipped (%s)", record_file, err)
                continue
            if not ID.fullmatch(job.id) or job.id != folder.name or job.state not in STATES:
                log.warning("%s: not a painting record of ours, skipped", record_file)
                continue
            if job.state == "running":  # the server stopped while painting it
                job.state, job.error = "interrupted", "the server stopped while it was being painted"
                self.save(job)
            self.jobs[job.id] = job
        for job in sorted(self.jobs.values(), key=lambda j: j.created):
            if job.state == "queued":
                self.pending.append(job)

    def save(self, job: Job) -> None:
        write_text_atomic(job.folder / "job.json", json.dumps(job.record(), indent=1))
        job.changed()

    def create(self, kind: str, name: str, options: dict, **record) -> Job:
        """A new painting's folder and record (state ``queued``, not yet in the queue)."""
        job_id = new_id()
        folder = self.root / job_id
        folder.mkdir()
        return Job(job_id, kind, "queued", time.time(), name, options, folder=folder, **record)

    def discard(self, job: Job) -> None:
        """Remove a painting that was never accepted (its folder)."""
        shutil.rmtree(job.folder, ignore_errors=True)

    # ---- the queue ------------------------------------------------------------------------------
    def submit(self, job: Job) -> None:
        """Queue ``job`` (its record is written); ``QueueFull`` when the queue is full."""
        with self.lock:
            if len(self.pending) >= self.max_queued:
                raise QueueFull(f"the queue is full ({self.max_queued} paintings waiting); try again when one has "
                                "started")
            self.save(job)
            self.jobs[job.id] = job
            self.pending.append(job)
            self.lock.notify()

    def get(self, job_id: str) -> Job | None:
        if not ID.fullmatch(job_id or ""):
            return None
        with self.lock:
            return self.jobs.get(job_id)

    def listing(self) -> list[Job]:
        """Every painting, newest first."""
        with self.lock:
            jobs = list(self.jobs.values())
        return sorted(jobs, key=lambda j: j.created, reverse=True)

    def position(self, job: Job) -> int | None:
        """1 for the next painting to start, ...; None when it is not waiting."""
        with self.lock:
            return next((i + 1 for i, other in enumerate(self.pending) if other is job), None)

    def cancel(self, job: Job) -> None:
        """Stop a painting: a queued one is cancelled at once, a running one at its next step
        (keeping the finished strokes)."""
        with self.lock:
            if job in self.pending:
                self.pending.remove(job)
                job.state, job.finished = "cancelled", time.time()
                self.save(job)
            elif job.state == "running":
                job.stop.set()

    def remove(self, job: Job) -> None:
        """Delete a painting that is not queued or running, and its files."""
        with self.lock:
            if job.state in ACTIVE:
                raise NeuralPaintError("the painting is still queued or running: cancel it first")
            self.jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the workers: the paintings being painted stop (recorded as interrupted)."""
        with self.lock:
            self.closing = True
            for job in self.jobs.values():
                if job.state == "running":
                    job.stop.set()
            self.lock.notify_all()
        for thread in self.threads:
            thread.join(timeout)

    def _work(self) -> None:
        while True:
            with self.lock:
                while not self.pending and not self.closing:
                    self.lock.wait()
                if self.closing:
                    return
                job = self.pending.popleft()
                job.state, job.started, job.stage = "running", time.time(), "starting"
                self.save(job)
            self._run(job)

    def _run(self, job: Job) -> None:
        from ..manifest import one_line

        start = time.perf_counter()
        try:
            state = RUNNERS[job.kind](self, job)
        except (NeuralPaintError, OSError, MemoryError) as err:
            state, job.error = "failed", one_line(err if isinstance(err, NeuralPaintError) else f"{type(err).__name__}: {err}")
        except Exception as err:  # an engine bug: this painting fails, the server goes on
            log.exception("painting %s failed", job.id)
            state, job.error = "failed", one_line(f"{type(err).__name__}: {err}")
        if state == "cancelled" and self.closing:
            state, job.error = "interrupted", "the server stopped while it was being painted"
        job.state, job.finished, job.seconds = state, time.time(), time.perf_counter() - start
        job.frame, job.stage = None, ""
        if state == "done":
            job.progress = 1.0
        self.save(job)


def job_json(job: Job, studio: Studio, base: str = "/api/paintings") -> dict:
    """What the API says of a painting."""
    record = job.record()
    settings = record.pop("options")
    files = {name: f"{base}/{job.id}/files/{name}" for name in job.files()}
    return {**record, "settings": settings, "progress": round(job.progress, 4), "stage": job.stage,
            "seconds_left": None if job.seconds_left is None else round(job.seconds_left, 1),
            "position": studio.position(job), "files": files}
