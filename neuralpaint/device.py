"""Choosing the torch device: ``resolve_device("auto" | "cpu" | "cuda" | "cuda:N")``;
``check_device`` checks the name alone, without importing torch."""
from __future__ import annotations

from .arrays import torch
from .errors import NeuralPaintError


def check_device(name: str) -> str:
    """The device name lower-cased, when it is one ``resolve_device`` knows (``NeuralPaintError``
    otherwise); whether such a device is there is not checked (that needs torch)."""
    text = str(name).strip().lower()
    if text in ("auto", "cpu", "cuda") or (text.startswith("cuda:") and text[5:].isdigit()):
        return text
    raise NeuralPaintError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N")


def resolve_device(name: str):
    """``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Raises ``NeuralPaintError`` for another name or a CUDA device that is not there.
    """
    text = check_device(name)
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "cuda" or (text.startswith("cuda:") and text[5:].isdigit()):
        if not torch.cuda.is_available():
            raise NeuralPaintError(f"device {name!r} asked for, but CUDA is not available here; use --device cpu")
        index = int(text[5:]) if ":" in text else 0
        count = torch.cuda.device_count()
        if index >= count:
            raise NeuralPaintError(f"device {name!r} asked for, but there are only {count} CUDA device(s)")
        return torch.device("cuda", index)
