"""The studio's web app: ``create_app(data, ...)`` is an ordinary FastAPI (ASGI) app serving the
page (``static/``), the JSON API under ``/api`` (OpenAPI at ``/docs``) and each painting's
progress as server-sent events. ``neuralpaint serve`` runs it with uvicorn.

Every error is JSON ``{"error": "one line"}`` with a 4xx status. With a ``token`` every request
(page, API, docs) must carry it: ``Authorization: Bearer TOKEN``, ``?token=TOKEN`` (a page
opened so keeps it in a cookie) or that cookie.
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import json
import re
import threading
from pathlib import Path

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from .. import __version__
from ..errors import NeuralPaintError
from . import uploads
from .jobs import Job, QueueFull, Studio, job_json
from .options import BY_FIELD, LIMITS, parse_request

STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "neuralpaint_token"
EVENT_POLL = 0.1  # seconds between looks at a painting's progress
KEEPALIVE = 15.0  # seconds between comments on a quiet event stream
MEDIA = {".png": "image/png", ".jpg": "image/jpeg", ".svg": "image/svg+xml", ".npz": "application/octet-stream",
         ".json": "application/json", ".csv": "text/csv", ".mp4": "video/mp4", ".gif": "image/gif"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def display_name(filename: str | None) -> str:
    """An uploaded file's name, for people: its last path part, printable, not starting with ``-``,
    at most 80 characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(c for c in name if c.isprintable()).strip().lstrip("-")  # never read as an option
    return name[:80] or "photo"


def warm_up() -> None:
    """Import the painter (torch, the engines) and build paint's parser now, so that the first
    painting starts streaming within a second of being asked for."""
    from ..batch import paint_file  # noqa: F401
    from ..painter import paint_image  # noqa: F401
    from .options import paint_parser

    paint_parser()


def create_app(data: str | Path, *, max_running: int = 1, max_queued: int = 16, token: str | None = None,
               max_bytes: int = uploads.MAX_BYTES, max_pixels: int = uploads.MAX_PIXELS) -> FastAPI:
    """The studio app over the paintings in ``data`` (see the module docstring)."""
    studio = Studio(data, max_running=max_running, max_queued=max_queued)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
        yield
        await asyncio.to_thread(studio.close)

    app = FastAPI(title="neuralpaint studio", version=__version__, lifespan=lifespan,
                  description="Paint photos with brush strokes and watch them form. Every painting is what "
                  "`neuralpaint paint` makes with the same options.")
    app.state.studio = studio
    # a photo and a style image at most, and the form fields
    app.add_middleware(uploads.BodyLimit, limit=2 * max_bytes + 1024 * 1024)

    @app.middleware("http")
    async def check_token(request: Request, call_next):
        if token is None:
            return await call_next(request)
        given = request.query_params.get("token") or request.cookies.get(COOKIE) or ""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            given = header[7:].strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return error(401, "this studio needs its token: open the address neuralpaint serve printed "
                         "(…?token=…), or send Authorization: Bearer TOKEN")
        response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    @app.exception_handler(ApiError)
    async def api_error(request, exc: ApiError):
        return error(exc.status, exc.message, exc.headers)

    @app.exception_handler(HTTPException)
    async def http_error(request, exc: HTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "not found"
        return error(exc.status_code, "not found" if exc.status_code == 404 else message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        return error(422, f"{where}: {first.get('msg', 'invalid value')}")

    def painting(job_id: str) -> Job:
        job = studio.get(job_id)
        if job is None:
            raise ApiError(404, "no such painting")
        return job

    async def read_upload(file: UploadFile, what: str) -> uploads.CheckedImage:
        try:
            data_ = await asyncio.to_thread(uploads.read_limited, file.file, max_bytes, what)
            return await asyncio.to_thread(uploads.check_image, data_, what, max_pixels)
        except uploads.UploadError as err:
            raise ApiError(err.status, err.message) from None

    # ---- the page ---------------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/options", summary="The paint options: choices, defaults and this server's limits")
    def options():
        from ..painter.config import LOSSES, PaintConfig
        from ..resources import shipped_style_names
        from ..strokes import stroke_type_names
        from ..style import MODES, StylizeConfig

        d = PaintConfig
        return {"stroke": stroke_type_names(), "loss": list(LOSSES), "mode": list(MODES), "styles": shipped_style_names(),
                "defaults": {"stroke": d.stroke, "max_strokes": d.max_strokes, "size": d.size, "seed": d.seed,
                             "min_stroke_size": d.min_stroke_size, "loss": d.loss, "mode": StylizeConfig.mode},
                "limits": {k: list(v) for k, v in LIMITS.items()}, "max_bytes": max_bytes,
                "samples": sorted(p.name for p in (STATIC / "samples").glob("*.jpg"))}

    @app.get("/api/styles/{name}", summary="A shipped style image", response_class=FileResponse)
    def style_image(name: str):
        from ..resources import data_path, shipped_style_names

        stem = name.rsplit(".", 1)[0]
        if stem not in shipped_style_names():
            raise ApiError(404, "no such style")
        path = next(p for p in sorted(data_path("style_images").glob(f"{stem}.*")) if p.suffix.lower() in MEDIA)
        return FileResponse(path, media_type=MEDIA.get(path.suffix.lower(), "image/jpeg"))

    # ---- paintings ------------------------------------------------------------------------------
    def queue(job, style_file):
        """Save the job's style upload and queue it: its JSON, or 429 when the queue is full."""
        if style_file is not None:
            (job.folder / job.style_upload).write_bytes(style_file.data)
        try:
            studio.submit(job)
        except QueueFull as err:
            studio.discard(job)
            raise ApiError(429, str(err), {"Retry-After": "10"}) from None
        return job_json(job, studio)

    @app.post("/api/paintings", status_code=201, summary="Paint a photo (multipart form: image and paint options)")
    async def create(image: UploadFile = File(..., description="the photo: PNG, JPEG, WebP, BMP, TIFF or GIF"),
                     stroke: str | None = Form(None), max_strokes: int | None = Form(None),
                     size: int | None = Form(None), seed: int | None = Form(None),
                     max_divide: int | None = Form(None), m_grid: int | None = Form(None),
                     iters_per_stroke: int | None = Form(None), refine_steps: int | None = Form(None),
                     brush: str | None = Form(None), canvas_colour: str | None = Form(None),
                     opaque: bool = Form(False), palette: int | None = Form(None),
                     min_stroke_size: float | None = Form(None), loss: str | None = Form(None),
                     style: str | None = Form(None, description="a shipped style image's name"),
                     style_image: UploadFile | None = File(None, description="or a style image of your own"),
                     mode: str | None = Form(None), style_steps: int | None = Form(None),
                     svg: bool = Form(True), animation: bool = Form(True)):
        values = {k: v for k, v in locals().items() if k not in ("image", "style_image") and v is not None}
        values = {k: v for k, v in values.items() if k in BY_FIELD}
        photo = await read_upload(image, "photo")
        style_file = None
        if style_image is not None and style_image.filename:
            style_file = await read_upload(style_image, "style image")
            values.pop("style", None)
        try:  # the options as neuralpaint paint would take them (the style image checked too)
            await asyncio.to_thread(_check_options, values, style_file)
        except NeuralPaintError as err:
            raise ApiError(422, str(err)) from None
        job = studio.create("paint", display_name(image.filename), values, upload=f"upload{photo.suffix}",
                            style_upload=f"style{style_file.suffix}" if style_file else None)
        (job.folder / job.upload).write_bytes(photo.data)
        return queue(job, style_file)

    @app.get("/api/paintings", summary="Every painting, newest first")
    def listing():
        return {"paintings": [job_json(job, studio) for job in studio.listing()]}

    @app.get("/api/paintings/{painting_id}", summary="A painting: state, progress, strokes, files, error")
    def get(painting_id: str):
        return job_json(painting(painting_id), studio)

    @app.delete("/api/paintings/{painting_id}", summary="Cancel a queued or running painting; remove a finished one")
    def delete(painting_id: str):
        job = painting(painting_id)
        if job.state in ("queued", "running"):
            studio.cancel(job)
            return job_json(job, studio)
        studio.remove(job)
        return {"id": job.id, "removed": True}

    @app.get("/api/paintings/{painting_id}/files/{name}", summary="One of a painting's files",
             response_class=FileResponse)
    def download(painting_id: str, name: str):
        path = painting(painting_id).path(name)
        if path is None:
            raise ApiError(404, "no such file")
        return FileResponse(path, media_type=MEDIA.get(path.suffix, "application/octet-stream"),
                            filename=f"{painting_id[:8]}_{name}" if name != "thumb.jpg" else None)

    @app.post("/api/paintings/{painting_id}/render", summary="Re-render the painting at a width (render-hires)")
    def render(painting_id: str, width: int = Form(..., ge=16, le=8192)):
        from .runners import render_width

        job = painting(painting_id)
        if job.state not in ("done", "cancelled"):
            raise ApiError(409, "the painting is not finished")
        try:
            render_width(job.folder, width)
        except NeuralPaintError as err:
            raise ApiError(422, str(err)) from None
        return job_json(job, studio)

    @app.post("/api/paintings/{painting_id}/stylize", status_code=201,
              summary="Restyle a finished painting after a style image, without repainting it")
    async def stylize(painting_id: str, style: str | None = Form(None), mode: str | None = Form(None),
                      style_steps: int | None = Form(None), seed: int | None = Form(None),
                      style_image: UploadFile | None = File(None)):
        source = painting(painting_id)
        if source.state != "done" or source.path("strokes.npz") is None:
            raise ApiError(409, "only a finished painting can be stylized")
        style_file = None
        if style_image is not None and style_image.filename:
            style_file = await read_upload(style_image, "style image")
        elif not style:
            raise ApiError(422, "style: choose a shipped style image or upload one")
        else:
            _check_style_name(style)
        values = {k: v for k, v in {"style": style, "mode": mode, "style_steps": style_steps, "seed": seed}.items()
                  if v is not None}
        job = studio.create("stylize", f"{source.name} (stylized)", values, source=source.id,
                            style_upload=f"style{style_file.suffix}" if style_file else None)
        return queue(job, style_file)

    @app.get("/api/paintings/{painting_id}/events", summary="Progress as server-sent events",
             response_class=StreamingResponse)
    async def events(painting_id: str, request: Request):
        job = painting(painting_id)
        return StreamingResponse(_event_stream(job, studio, request), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return app


def _check_style_name(style: str) -> None:
    from ..resources import shipped_style_names

    if style not in shipped_style_names():
        raise ApiError(422, f"style: no shipped style image {style!r}; choose one of {', '.join(shipped_style_names())}")


def _check_options(values: dict, style_file) -> None:
    if values.get("style"):
        _check_style_name(values["style"])
    if style_file is None:
        parse_request(values, "photo")
        return
    import tempfile

    with tempfile.TemporaryDirectory() as folder:  # the style image is checked as paint checks it
        path = Path(folder) / f"style{style_file.suffix}"
        path.write_bytes(style_file.data)
        parse_request(values, "photo", path)


async def _event_stream(job: Job, studio: Studio, request: Request):
    """``progress`` events (the painting's JSON, with ``frame``: the live picture as a data URL
    when it changed) until the painting ends with a ``done`` event."""
    loop = asyncio.get_running_loop()
    seen, frame_seen, quiet_since = -1, 0, loop.time()
    while True:
        if await request.is_disconnected():
            return
        if job.version != seen:
            seen = job.version
            body = job_json(job, studio)
            if job.frame is not None and job.frame_no != frame_seen:
                frame_seen = job.frame_no
                body["frame"] = "data:image/jpeg;base64," + base64.b64encode(job.frame).decode()
            final = job.state not in ("queued", "running")
            yield f"event: {'done' if final else 'progress'}\ndata: {json.dumps(body)}\n\n"
            quiet_since = loop.time()
            if final:
                return
        elif loop.time() - quiet_since > KEEPALIVE:
            yield ": still here\n\n"
            quiet_since = loop.time()
        await asyncio.sleep(EVENT_POLL)
