"""Figures: the benchmarks' results files, and the tables in the docs made from them.

Every benchmark script writes its results file with ``save``: the raw results plus the command
that wrote the file (``python scripts/bench_x.py ...`` exactly as it was run), when, on what machine,
and whether its times are whole commands in fresh processes or inner timings. Each script also
has a function ``tables(results) -> {name: Table}`` that turns the raw results into markdown tables.

In README.md and docs/*.md every figure table sits between two markers naming its results file and
table, and everything between them is generated (the command, the file, then the table)::

    <!-- figures: bench_results/paint_256.json paint -->
    ...
    <!-- /figures -->

    python scripts/figures.py --write     # regenerate every block from its results file
    python scripts/figures.py --check     # exit 1 when a block differs from what its file gives

``tests/test_figures.py`` runs the check, so a table cannot drift from its file, name a file that
does not exist, or use a key the file lacks.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import pathlib
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ("README.md", "docs")
BLOCK = re.compile(r"<!-- figures: (\S+) (\S+) -->\n(.*?)<!-- /figures -->", re.S)
WHOLE = "whole commands, each in a fresh process (start-up, reading, work, outputs)"
INNER = "inner timing: a library call in a running process (profiling, not what a user waits for)"


@dataclass
class Table:
    """A markdown table: ``header`` cells, ``rows`` of cells, ``align`` one of ``l``/``r`` per column."""

    header: list[str]
    rows: list[list[str]]
    align: str = ""

    def markdown(self) -> str:
        align = (self.align or "l" + "r" * (len(self.header) - 1)).ljust(len(self.header), "r")
        lines = ["| " + " | ".join(self.header) + " |",
                 "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
        for row in self.rows:
            if len(row) != len(self.header):
                raise ValueError(f"row {row} has {len(row)} cells for {len(self.header)} columns")
            lines.append("| " + " | ".join(str(c) for c in row) + " |")
        return "\n".join(lines) + "\n"


def command_line() -> str:
    """The command that is running, as a user types it from the repository root."""
    script = pathlib.Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(ROOT)
    except ValueError:
        pass
    return "python " + shlex.join([str(script), *sys.argv[1:]])


def save(path: str | os.PathLike, results: dict, *, timing: str) -> pathlib.Path:
    """Write ``results`` to the JSON file ``path`` (atomically), with the command that made it,
    the date, the machine and what its timings are (``WHOLE``, ``INNER`` or a sentence)."""
    path = pathlib.Path(path)
    if not path.is_absolute():
        path = pathlib.Path.cwd() / path
    path.parent.mkdir(parents=True, exist_ok=True)
    torch = sys.modules.get("torch")
    doc = {"command": command_line(),
           "script": _relative(pathlib.Path(sys.argv[0]).resolve()),
           "measured": datetime.datetime.now().astimezone().isoformat(timespec="minutes"),
           "machine": {"cpus": os.cpu_count(), "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
                       "python": platform.python_version(), "torch": getattr(torch, "__version__", None),
                       "cuda": bool(torch and torch.cuda.is_available())},
           "timing": timing, **results}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)
    print(f"wrote {path}", file=sys.stderr)
    return path


def _relative(path: pathlib.Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def run_timed(argv: list[str], cwd: pathlib.Path, env: dict | None = None) -> dict:
    """Run ``argv`` in a fresh process from ``cwd``, reaped by ``os.wait4`` so that the peak RSS is
    that process's own: wall ``seconds``, ``rss_mb``, CPU ``user_s`` and ``sys_s``, exit ``status``,
    ``stdout``, ``stderr``."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return {"seconds": seconds, "rss_mb": usage.ru_maxrss / 1024, "user_s": usage.ru_utime,
                "sys_s": usage.ru_stime, "status": os.waitstatus_to_exitcode(status), "stdout": out.read(),
                "stderr": err.read()}


def load_tables(results_file: pathlib.Path) -> dict[str, Table]:
    """The tables the script that wrote ``results_file`` makes from it."""
    results = json.loads(results_file.read_text())
    script = ROOT / results.get("script", "")
    if not results.get("script") or not script.is_file():
        raise ValueError(f"{results_file}: no 'script' that made it (or {script} is missing)")
    spec = importlib.util.spec_from_file_location(f"_bench_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    sys.path.insert(0, str(script.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(script.parent))
    return module.tables(results)


def block(results_path: str, name: str) -> str:
    """The generated text of one figures block: command, results file, timing, table."""
    path = ROOT / results_path
    if not path.is_file():
        raise ValueError(f"results file {results_path} does not exist")
    results = json.loads(path.read_text())
    tables = load_tables(path)
    if name not in tables:
        raise ValueError(f"{results_path} gives the tables {sorted(tables)}, not {name!r}")
    machine = results.get("machine", {})
    where = f"{machine.get('cpus', '?')} CPUs" + (", CUDA" if machine.get("cuda") else "")
    return (f"```\n{results['command']}\n```\n\n"
            f"`{results_path}` · measured {results['measured']} · {where} · {results['timing']}\n\n"
            f"{tables[name].markdown()}")


def doc_files() -> list[pathlib.Path]:
    files = []
    for entry in DOCS:
        p = ROOT / entry
        files += sorted(p.glob("*.md")) if p.is_dir() else [p]
    return files


def regenerate(text: str, problems: list[str] | None = None) -> str:
    """``text`` with every figures block regenerated; a block that cannot be (its file is missing
    or lacks a key) is left as it was and reported in ``problems`` (or raises without a list)."""
    def one(m: re.Match) -> str:
        try:
            return f"<!-- figures: {m[1]} {m[2]} -->\n{block(m[1], m[2])}<!-- /figures -->"
        except (ValueError, KeyError, TypeError) as e:
            if problems is None:
                raise
            problems.append(f"{m[1]} {m[2]}: {type(e).__name__}: {e}")
            return m[0]

    return BLOCK.sub(one, text)


def check() -> list[str]:
    """Differences between the docs' figure blocks and their results files, one line each."""
    problems = []
    for path in doc_files():
        text = path.read_text()
        for m in BLOCK.finditer(text):
            try:
                want = block(m[1], m[2])
            except (ValueError, KeyError, TypeError) as e:
                problems.append(f"{_relative(path)}: {m[1]} {m[2]}: {type(e).__name__}: {e}")
                continue
            if m[3] != want:
                problems.append(f"{_relative(path)}: {m[1]} {m[2]}: the block differs from its results file "
                                "(python scripts/figures.py --write)")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="regenerate every figures block in the docs")
    group.add_argument("--check", action="store_true", help="exit 1 when a block differs from its results file")
    args = ap.parse_args()
    if args.check:
        problems = check()
        for p in problems:
            print(p, file=sys.stderr)
        raise SystemExit(1 if problems else 0)
    problems: list[str] = []
    for path in doc_files():
        text = path.read_text()
        new = regenerate(text, problems)
        if new != text:
            path.write_text(new)
            print(f"updated {_relative(path)}")
    for p in problems:
        print(f"not regenerated: {p}", file=sys.stderr)
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
