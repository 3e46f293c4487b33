"""The manifest of a batch (``out/manifest.json``): what each photo was painted with, and how it went.

``{"version": 1, "photos": {NAME: ENTRY, ...}}``, one entry per output name ``NAME`` (the photo's
``NAME_*`` files): ``source`` (the photo's absolute path), ``bytes`` and ``mtime_ns`` (its size and
modification time), ``settings`` (``batch_settings``: every ``PaintConfig`` field, ``animation``,
``svg``, ``style`` and ``style_config``), ``status`` (``pending``, ``painted``, ``failed`` or
``interrupted``), ``files`` (relative to the manifest's folder), ``psnr``, ``seconds``,
``strokes``, ``error`` and ``finished`` (local time). Entries of photos that are not in a batch
are kept.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from pathlib import Path

from .errors import NeuralPaintError
from .fileutil import write_text_atomic

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


def one_line(message: object) -> str:
    return " ".join(str(message).split()) or "unknown error"


def read_manifest(out: Path) -> dict:
    """``out/manifest.json`` (an empty one when there is none); ``NeuralPaintError`` when unreadable."""
    path = Path(out) / MANIFEST
    if not path.exists():
        return {"version": MANIFEST_VERSION, "photos": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise NeuralPaintError(f"{path}: cannot read the batch manifest ({one_line(err)}); move it away to "
                               "paint every photo again") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("photos"), dict):
        raise NeuralPaintError(f"{path}: not a neuralpaint batch manifest; move it away to paint every photo again")
    return manifest


def source_record(path: Path) -> dict:
    """What identifies the photo's contents: its absolute path, size in bytes and modification time."""
    st = path.stat()
    return {"source": str(path.resolve()), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def batch_settings(config, options: dict) -> dict:
    """Everything that shapes a photo's outputs (every ``PaintConfig`` field, the animation, SVG and
    style options), as the manifest stores it (JSON: tuples become lists)."""
    style_config = options.get("style_config")
    settings = {"paint": dataclasses.asdict(config), "animation": options.get("animation", True),
                "svg": options.get("svg", False),
                "style": None if options.get("style") is None else str(options["style"]),
                "style_config": dataclasses.asdict(style_config) if options.get("style") is not None and
                style_config is not None else None}
    return json.loads(json.dumps(settings))


def is_complete(entry: dict | None, source: dict, settings: dict, out: Path) -> bool:
    """Whether a manifest entry records this photo painted with these settings, its files all there."""
    return (isinstance(entry, dict) and entry.get("status") == "painted" and entry.get("settings") == settings
            and all(entry.get(key) == value for key, value in source.items())
            and bool(entry.get("files")) and all((out / name).is_file() for name in entry["files"]))


def result_entry(result, source: dict, settings: dict, out: Path) -> dict:
    return {**source, "settings": settings, "status": result.status,
            "files": [os.path.relpath(p, out) for p in result.files],
            "psnr": round(result.psnr, 4) if result.psnr is not None and math.isfinite(result.psnr) else None,
            "seconds": round(result.seconds, 3), "strokes": result.strokes, "error": result.error,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def write_manifest(out: Path, manifest: dict) -> Path:
    """Write ``manifest`` to ``out/manifest.json`` atomically (``NeuralPaintError`` when it cannot)."""
    manifest["version"] = MANIFEST_VERSION
    return write_text_atomic(Path(out) / MANIFEST, json.dumps(manifest, indent=1) + "\n")
