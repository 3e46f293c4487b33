"""Files neuralpaint ships beside its code: renderer checkpoints, YAML configs, style images.

In the repository they are top-level folders (``checkpoints/``, ``configs/``, ``style_images/``),
where people look for them and where training writes. A wheel installs the same folders inside
the package (``neuralpaint/checkpoints/`` ...; see ``[tool.setuptools.package-dir]`` in
``pyproject.toml``). ``data_path`` finds a folder in either place, so an editable checkout and a
regular install behave the same.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

DATA_FOLDERS = ("checkpoints", "configs", "style_images")


def data_path(folder: str) -> Path:
    """The directory of the shipped ``folder`` (one of ``DATA_FOLDERS``).

    Installed package first (``neuralpaint/<folder>``), then the source checkout
    (``<repository>/<folder>``). The path may not exist when nothing of that kind is shipped.
    """
    if folder not in DATA_FOLDERS:
        raise ValueError(f"unknown data folder {folder!r}; expected one of {', '.join(DATA_FOLDERS)}")
    installed = Path(str(resources.files("neuralpaint"))) / folder
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / folder


STYLE_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def shipped_style_names() -> list[str]:
    """Names of the style images shipped in ``style_images/`` (``starry_night``, ...), sorted."""
    folder = data_path("style_images")
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*") if p.suffix.lower() in STYLE_IMAGE_SUFFIXES)
