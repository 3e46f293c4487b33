"""What the subcommands share: the ``Command`` record, argument types, the stroke types' options
(``--brush``), output checks.

Only the standard library is imported here, so ``neuralpaint --help`` stays fast (the stroke types
are imported when a command that builds them declares its options).
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import NeuralPaintError

PROG = "neuralpaint"


@dataclass(frozen=True)
class Command:
    """One subcommand: ``add_arguments(parser)`` declares its options, ``run(args)`` does the
    work and returns the exit status."""

    name: str
    summary: str  # one line, shown in ``neuralpaint --help``
    description: str  # shown at the top of ``neuralpaint NAME --help``
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    epilog: str = ""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep the line breaks of descriptions and epilogs (examples); wrap option help."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)
        self._action_max_length = 20  # a floor, so subcommand names share a line with their summary


def int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse


def format_scale(scale: float) -> str:
    """``8.0`` -> ``"8"``, ``2.5`` -> ``"2.5"`` (for file names)."""
    return str(int(scale)) if float(scale).is_integer() else repr(float(scale))


def _stroke_options() -> dict[str, list[tuple[str, object]]]:
    """The command-line options the registered stroke types declare (``StrokeType.
    command_line_options``): ``flag -> [(type name, CommandLineOption), ...]``, types sorted."""
    from ..strokes import stroke_type_class, stroke_type_names

    flags: dict[str, list[tuple[str, object]]] = {}
    for name in stroke_type_names():
        for option in stroke_type_class(name).command_line_options:
            flags.setdefault(option.flag, []).append((name, option))
    return flags


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def add_brush_argument(p: argparse.ArgumentParser) -> None:
    """The options stroke types declare (``--brush``: the oil brush's texture, the MyPaint brush),
    each once, its help gathered from the types (checked by ``brush_options``)."""
    for flag, declared in _stroke_options().items():
        p.add_argument(flag, default=None, metavar="NAME",
                       help="; ".join(f"{name}: {option.help}" for name, option in declared))


def brush_options(args: argparse.Namespace) -> dict:
    """The stroke options that the options of ``add_brush_argument`` give for ``--stroke``, ``{}``
    when none is given. ``NeuralPaintError`` for an option the stroke type does not declare or a
    value outside its choices."""
    from ..strokes import stroke_type_class

    declared = {option.flag: option for option in stroke_type_class(args.stroke).command_line_options}
    options = {}
    for flag, types in _stroke_options().items():
        value = getattr(args, _dest(flag), None)
        if value is None:
            continue
        option = declared.get(flag)
        if option is None:
            raise NeuralPaintError(f"{flag} applies only to --stroke {' or '.join(name for name, _ in types)}, "
                                   f"not {args.stroke}")
        if option.choices and value not in option.choices:
            raise NeuralPaintError(f"{flag} {value!r} is not {option.kind}; choose one of {', '.join(option.choices)}")
        options[option.option] = value
    return options


def colour_text(rgb: tuple[float, float, float]) -> str:
    """``(1, 1, 1)`` -> ``"white"``, ``(0, 0, 0)`` -> ``"black"``, else ``"#rrggbb"``."""
    names = {(255, 255, 255): "white", (0, 0, 0): "black"}
    rgb8 = tuple(round(c * 255) for c in rgb)
    return names.get(rgb8, "#" + "".join(f"{c:02x}" for c in rgb8))


def check_output_dir(path: Path) -> None:
    """``NeuralPaintError`` unless ``path`` is, or can be created as, a writable directory (nothing
    is created here)."""
    import os

    existing = path.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise NeuralPaintError(f"{path}: cannot be the output directory: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise NeuralPaintError(f"{path}: cannot be the output directory: {existing} is not writable")


def width_option(text: str | None, integer: bool) -> float | int | None:
    """``--width`` as a number (``NeuralPaintError`` when it is not one); ``None`` stays ``None``."""
    if text is None:
        return None
    try:
        value = float(text)
        if integer and value.is_integer():
            return int(value)
        if not integer:
            return value
    except ValueError:
        pass
    kind = "a whole number of pixels" if integer else "a number"
    raise NeuralPaintError(f"--width must be {kind}, got {text!r}")


def one_line(message: object) -> str:
    return " ".join(str(message).split()) or "unknown error"
