"""The ``neuralpaint`` command line: a thin layer of argument parsing over the library.

Each subcommand is a module of this package (``paint.py``, ``render_hires.py``, ...) holding one
``COMMAND``: its name, a one-line summary, a function that adds its arguments to an ``argparse``
parser and a function that runs it and returns the exit status. Adding a subcommand means writing
such a module and naming it in ``COMMAND_MODULES``.

Only the chosen subcommand's arguments are built, and heavy modules (torch, the engines, OpenCV)
are imported inside the ``run`` functions, so ``neuralpaint --help`` starts without torch.

Errors the user can fix (``NeuralPaintError``: a bad file, an impossible size...) are printed as
``neuralpaint: error: <message>`` on one line with exit status 2, like argparse's own usage
errors; Ctrl-C prints ``neuralpaint: interrupted`` and exits with 130. Anything else is a bug
and propagates with its traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from .. import __version__
from ..errors import NeuralPaintError
from .common import PROG, Command, HelpFormatter, one_line

# subcommand modules, in the order ``neuralpaint --help`` lists them
COMMAND_MODULES = ("paint", "paint_video", "stylize", "labels", "compose", "random_strokes", "render_hires", "train_renderer", "eval_renderer",
                   "export_svg", "export_strokes", "make_dataset", "cluster_local", "serve")

COMMANDS: tuple[Command, ...] = tuple(
    importlib.import_module(f".{name}", __name__).COMMAND for name in COMMAND_MODULES
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``neuralpaint`` parser. ``only``: declare the arguments of that subcommand alone (the
    others are listed with their summaries but not built); ``None`` builds them all."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Turn a photo into a painting made of real, parameterised brush strokes.",
        epilog="quick example:\n"
        "  neuralpaint paint --img photo.jpg                  # writes output/photo_final.png and more\n"
        "  neuralpaint random-strokes --stroke oilpaintbrush --n 300 -o strokes.npz\n"
        "  neuralpaint render-hires strokes.npz --scale 4     # writes strokes_x4.png\n\n"
        f"Run '{PROG} COMMAND --help' for a command's options.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.summary, description=command.description,
                           epilog=command.epilog or None, formatter_class=HelpFormatter)
        if only is None or only == command.name:
            command.add_arguments(p)
        p.set_defaults(_run=command.run)
    return parser


def _chosen_command(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is one), else ``None``."""
    names = {c.name for c in COMMANDS}
    return next((word for word in argv if word in names), None)


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    ``--help``, ``--version`` and usage errors exit through ``SystemExit`` (status 0 or 2), as
    argparse does.
    """
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        args = build_parser(only=_chosen_command(argv) or "").parse_args(argv)
        args._argv = argv  # the command line, for provenance in output files
        status = args._run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except BrokenPipeError:  # the reader went away (``neuralpaint paint ... | head -1``): the files
        # are written before anything is printed; stop quietly, as command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except NeuralPaintError as err:
        print(f"{PROG}: error: {one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """The ``neuralpaint`` executable: ``main()``, then exit without tearing the interpreter down.

    Every output is written and closed (and the animation thread joined) when ``main`` returns;
    what is left is Python's module-by-module teardown, which with torch loaded takes about half
    a second of every command. So the exit handlers run, the streams are flushed and the process
    ends at once (``os._exit``). Errors with a traceback leave the usual way."""
    import atexit

    try:
        status = main()
    except SystemExit as stop:  # --help, --version, usage errors
        if stop.code is not None and not isinstance(stop.code, int):
            raise
        status = stop.code or 0
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # the reader went away, or the stream is closed
            pass
    os._exit(status)
