"""Benchmark: whole ``neuralpaint`` commands, each in a fresh process (wall time, peak RSS, PSNR).

    python scripts/bench_commands.py                       # every group but the long ones
    python scripts/bench_commands.py --only paint256 help  # a slice
    python scripts/bench_commands.py --list                # the command table
    python scripts/bench_commands.py --only paint512 --repeat 3
    # a baseline checkout (e.g. ``git worktree add /tmp/base HEAD``), interleaved with this one:
    python scripts/bench_commands.py --only paint256 --compare /tmp/base

Each run is started with ``subprocess`` and reaped with ``os.wait4``, which gives that process's
own peak resident set (``ru_maxrss``; ffmpeg, a grandchild, is not counted). Wall time is the whole
process: interpreter start-up, ``import torch``, the work and the outputs. ``paint`` runs also
report the PSNR and the stage times they print. With ``--compare DIR`` every command is run
alternately with the code in ``DIR`` (same Python, ``PYTHONPATH=DIR``, run from ``DIR``) and with
this checkout, so both see the same machine load; medians over ``--repeat`` runs are reported.
Results go to ``bench_results/commands.json`` (``--json``) and a markdown table on stdout. A run
that exits non-zero is reported and left out of the medians (``failed_runs`` in the JSON; a
command with no good run shows "failed" in the table), and the script then exits non-zero.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import figures

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ("astronaut", "chelsea", "coffee")
ENGINES = ("oilpaintbrush", "rectangle", "markerpen", "watercolor")


@dataclass(frozen=True)
class Bench:
    """One command: ``group`` (for ``--only``), a ``name``, its arguments after ``neuralpaint``
    (``{tmp}`` is a scratch directory, ``{root}`` the checkout whose test_images are used) and
    commands to run first, untimed (``prepare``)."""

    group: str
    name: str
    argv: tuple[str, ...]
    prepare: tuple[tuple[str, ...], ...] = ()
    long: bool = False  # only with --long or when its group is named in --only
    notes: dict = field(default_factory=dict)


def command_table() -> list[Bench]:
    table = []
    for stroke in ("rectangle", "oilpaintbrush"):
        for photo in PHOTOS:
            table.append(Bench("paint256", f"paint 256 {stroke} {photo}",
                               ("paint", "--img", f"{{root}}/test_images/{photo}.png", "--size", "256",
                                "--stroke", stroke, "-q", "--out", "{tmp}/out")))
    table.append(Bench("paint512", "paint default (512, oil, 500) astronaut",
                       ("paint", "--img", "{root}/test_images/astronaut.png", "-q", "--out", "{tmp}/out")))
    table.append(Bench("paint1024", "paint 1024 oil 2000 chelsea --no-animation",
                       ("paint", "--img", "{root}/test_images/chelsea.png", "--max-strokes", "2000", "--size", "1024",
                        "--no-animation", "-q", "--out", "{tmp}/out")))
    table.append(Bench("paint2048", "paint 2048 oil 5000 chelsea --no-animation",
                       ("paint", "--img", "{root}/test_images/chelsea.png", "--max-strokes", "5000", "--size", "2048",
                        "--no-animation", "-q", "--out", "{tmp}/out"), long=True))
    table.append(Bench("help", "--help (start-up)", ("--help",)))
    for engine in ENGINES:
        table.append(Bench("hires", f"render-hires {engine} 500 x16",
                           ("render-hires", f"{{tmp}}/{engine}.npz", "--scale", "16", "-q", "-o", f"{{tmp}}/{engine}.png"),
                           prepare=(("random-strokes", "--stroke", engine, "--n", "500", "--seed", "7",
                                     "-o", f"{{tmp}}/{engine}.npz"),)))
    return table


def _launcher(code: Path) -> list[str]:
    """How to start ``neuralpaint`` from the checkout ``code``: ``python -m neuralpaint`` where the
    package has a ``__main__``, else (older layouts) ``python -m neuralpaint.cli``."""
    module = "neuralpaint" if (code / "neuralpaint" / "__main__.py").is_file() else "neuralpaint.cli"
    return [sys.executable, "-m", module]


def parse_paint(stdout: str) -> dict:
    """PSNR and stage times from ``paint``'s report."""
    found = {}
    m = re.search(r"in ([\d.]+) s \(([\d.]+) s with the outputs\); PSNR ([\d.]+|inf) dB", stdout)
    if m:
        found.update(painting_s=float(m[1]), with_outputs_s=float(m[2]), psnr=float(m[3]))
    m = re.search(r"stages: (.*)", stdout)
    if m:
        for part in m[1].replace(";", ",").split(","):
            words = part.strip().split()
            if len(words) >= 3 and words[-1] == "s":
                found[f"{'_'.join(words[:-2])}_s"] = float(words[-2])
    return found


def bench(item: Bench, code: Path, tmp: Path, threads: int | None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code)}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    fill = lambda args: [a.format(tmp=tmp, root=ROOT) for a in args]  # noqa: E731
    for prep in item.prepare:
        done = figures.run_timed(_launcher(code) + fill(prep), code, env)
        if done["status"] != 0:
            raise SystemExit(f"preparing {item.name} failed: {done['stderr'][-2000:]}")
    result = figures.run_timed(_launcher(code) + fill(item.argv), code, env)
    if result["status"] != 0:
        print(f"  {item.name}: exit status {result['status']}: {result['stderr'].strip()[-500:]}", file=sys.stderr)
    return {"seconds": round(result["seconds"], 2), "rss_mb": round(result["rss_mb"], 1),
            "status": result["status"], **parse_paint(result["stdout"])}


STAGES = ("levels_s", "refine_s", "final_render_s", "outputs_s")


def tables(results: dict) -> dict[str, figures.Table]:
    """``commands``: one row per command (and per code with a baseline): wall s, peak RSS, PSNR, stages."""
    rows = results["results"]
    compare = any(r["code"] != "new" for r in rows)
    stages = [k for k in STAGES if any(k in r for r in rows)]
    header = ["command", *(["code"] if compare else []), "wall s", "peak RSS MB", "PSNR",
              *(["levels / refine / final render / outputs s"] if stages else [])]
    out = []
    for r in rows:
        # the scratch folder and the checkout as a user would write them
        command = re.sub(r"'?\{(?:root|tmp)\}/([^' ]*)'?", r"\1", r["command"])
        lead = [f"`{command}`", *([r["code"]] if compare else [])]
        if not r["runs"]:  # every run failed: no figures
            out.append(lead + [f"failed (exit {r['failed_runs'][0]})"] + [""] * (len(header) - len(lead) - 1))
            continue
        cells = [f"{r['seconds']:.1f}", f"{r['rss_mb']:.0f}", f"{r['psnr']:.2f}" if "psnr" in r else ""]
        if stages:
            cells.append(" / ".join(f"{r[k]:.1f}" if k in r else "–" for k in stages) if "psnr" in r else "")
        out.append(lead + cells)
    return {"commands": figures.Table(header, out, "l" * (2 if compare else 1))}


def main() -> None:
    table = command_table()
    groups = sorted({b.group for b in table}, key=[b.group for b in table].index)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=groups, metavar="GROUP",
                    help=f"run only these groups: {', '.join(groups)}")
    ap.add_argument("--long", action="store_true", help="also the long commands (paint2048)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each command; medians are reported")
    ap.add_argument("--compare", type=Path, default=None, metavar="DIR",
                    help="a baseline checkout, run alternately with this one")
    ap.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for the commands")
    ap.add_argument("--list", action="store_true", help="print the command table and exit")
    ap.add_argument("--json", type=Path, default=ROOT / "bench_results" / "commands.json")
    args = ap.parse_args()

    chosen = [b for b in table if (b.group in args.only if args.only else (args.long or not b.long))]
    if args.list:
        for b in table:
            print(f"{b.group:<10} {b.name:<45} neuralpaint {shlex.join(b.argv)}")
        return
    codes = [("base", args.compare.resolve()), ("new", ROOT)] if args.compare else [("new", ROOT)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_commands_") as scratch:
        for item in chosen:
            runs: dict[str, list[dict]] = {label: [] for label, _ in codes}
            for _ in range(args.repeat):
                for label, code in codes:
                    tmp = Path(scratch) / label
                    tmp.mkdir(exist_ok=True)
                    runs[label].append(bench(item, code, tmp, args.threads))
                    r = runs[label][-1]
                    print(f"  {item.name} [{label}]: {r['seconds']:.1f} s, {r['rss_mb']:.0f} MB"
                          + (f", PSNR {r['psnr']:.2f}" if "psnr" in r else ""), file=sys.stderr, flush=True)
            for label, _ in codes:
                # a failed run is never a figure: medians over the runs that exited 0
                got = [r for r in runs[label] if r["status"] == 0]
                failed = [r["status"] for r in runs[label] if r["status"] != 0]
                row = {"group": item.group, "name": item.name, "code": label,
                       "command": "neuralpaint " + shlex.join(item.argv), "runs": len(got),
                       "failed_runs": failed}
                for k in sorted({k for r in got for k in r} - {"status"}):
                    values = [r[k] for r in got if k in r]
                    row[k] = round(statistics.median(values), 2)
                row["seconds_all"] = [r["seconds"] for r in got]
                rows.append(row)
    results = {"threads": args.threads, "repeat": args.repeat,
               "baseline": str(args.compare) if args.compare else None, "results": rows}
    figures.save(args.json, results, timing=figures.WHOLE)
    print(tables(results)["commands"].markdown())
    failures = [f"{r['name']} [{r['code']}]" for r in rows if r["failed_runs"]]
    if failures:
        raise SystemExit(f"failed runs (left out of the figures): {', '.join(failures)}")


if __name__ == "__main__":
    main()
