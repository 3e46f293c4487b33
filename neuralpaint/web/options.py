"""The studio's paint options: form fields named like ``neuralpaint paint``'s long options, turned
into that command's own arguments and parsed by its own parser, so a painting from the page is
configured exactly as the same command line configures it (``paint_config_from_args``).

``OPTIONS`` is the registry: form field -> command-line flag and how it is written. ``LIMITS``
are the server's own bounds (a studio shared over a network must not accept a 100000-pixel
painting); the command line has none.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import shlex
from dataclasses import dataclass
from pathlib import Path

from ..errors import NeuralPaintError


@dataclass(frozen=True)
class Option:
    """A form field and the ``paint`` flag it becomes: ``value`` (``--flag VALUE``), ``switch``
    (``--flag`` when true) or ``negated`` (``--flag`` when false: ``animation`` -> ``--no-animation``)."""

    field: str
    flag: str
    kind: str = "value"


OPTIONS = (
    Option("stroke", "--stroke"),
    Option("max_strokes", "--max-strokes"),
    Option("size", "--size"),
    Option("seed", "--seed"),
    Option("max_divide", "--max-divide"),
    Option("m_grid", "--m-grid"),
    Option("iters_per_stroke", "--iters-per-stroke"),
    Option("refine_steps", "--refine-steps"),
    Option("brush", "--brush"),
    Option("canvas_colour", "--canvas-color"),
    Option("opaque", "--opaque", "switch"),
    Option("palette", "--palette"),
    Option("min_stroke_size", "--min-stroke-size"),
    Option("loss", "--loss"),
    Option("style", "--style"),
    Option("mode", "--mode"),
    Option("style_steps", "--style-steps"),
    Option("svg", "--svg", "switch"),
    Option("animation", "--no-animation", "negated"),
)
BY_FIELD = {option.field: option for option in OPTIONS}

# field -> (smallest, largest) the server accepts
LIMITS = {"max_strokes": (1, 10_000), "size": (16, 2048), "iters_per_stroke": (1, 500), "refine_steps": (0, 5000),
          "max_divide": (1, 12), "m_grid": (1, 12), "palette": (2, 64), "style_steps": (0, 2000)}


@dataclass
class PaintRequest:
    """A checked paint request: the ``PaintConfig``, the ``paint_file`` options and the command
    line that paints the same picture."""

    config: object
    animation: bool
    svg: bool
    style: str | None
    style_config: object
    command: str


def paint_argv(values: dict, photo: str | Path, style_path: str | Path | None = None) -> list[str]:
    """``paint``'s arguments for the form ``values`` (fields of ``OPTIONS``; None or absent: the
    default). ``style_path``: an uploaded style image, which replaces ``values["style"]``."""
    unknown = set(values) - set(BY_FIELD)
    if unknown:
        raise NeuralPaintError(f"unknown option {sorted(unknown)[0]!r}")
    argv = ["paint", "--img", str(photo)]
    for option in OPTIONS:
        value = values.get(option.field)
        if option.field == "style" and style_path is not None:
            value = str(style_path)
        if value is None or value == "":
            continue
        low, high = LIMITS.get(option.field, (None, None))
        if low is not None and not low <= value <= high:
            raise NeuralPaintError(f"{option.field} must be in {low}..{high} on this server, got {value}")
        if option.kind == "switch":
            argv += [option.flag] if value else []
        elif option.kind == "negated":
            argv += [] if value else [option.flag]
        else:
            argv += [option.flag, str(value)]
    return argv


def parse_request(values: dict, photo: str | Path, style_path: str | Path | None = None) -> PaintRequest:
    """Check the form ``values`` with ``neuralpaint paint``'s own parser and config builders;
    ``NeuralPaintError`` with one line when they are not paintable."""
    from ..cli.paint import paint_config_from_args, style_config_from_args

    argv = paint_argv(values, photo, style_path)
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            args = paint_parser().parse_args(argv[1:])
    except SystemExit:  # argparse's usage error: its last line says what is wrong
        lines = [line for line in errors.getvalue().splitlines() if line.strip()]
        message = lines[-1].split("error: ", 1)[-1] if lines else "invalid options"
        raise NeuralPaintError(_field_names(message)) from None
    config = paint_config_from_args(args)
    style_config = style_config_from_args(args, config)
    return PaintRequest(config, animation=not args.no_animation, svg=args.svg,
                        style=str(args.style) if args.style is not None else None, style_config=style_config,
                        command=shlex.join(["neuralpaint", *argv]))


def paint_parser() -> argparse.ArgumentParser:
    """``neuralpaint paint``'s parser: its own arguments (``cli.paint.add_paint_arguments``)."""
    from ..cli.paint import add_paint_arguments

    parser = argparse.ArgumentParser(prog="neuralpaint paint")
    add_paint_arguments(parser)
    return parser


def _field_names(message: str) -> str:
    """argparse's message with the flags named as the form fields (``--max-strokes`` -> ``max_strokes``)."""
    for option in OPTIONS:
        message = message.replace(f"argument {option.flag}", option.field)
    return message

