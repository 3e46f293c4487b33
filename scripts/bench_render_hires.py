"""Benchmark: the whole ``neuralpaint render-hires`` command, per stroke type, size and format.

    python scripts/bench_render_hires.py [--types oilpaintbrush rectangle ...] [--scales 16 32]
        [--formats png jpg] [--n 500] [--repeat 1] [--baseline /path/to/old/checkout]
        [--json bench_results/render_hires.json]

For each stroke type a strokes file is made with ``neuralpaint random-strokes --stroke TYPE --n N
--seed 7`` (512x512 canvas); then ``neuralpaint render-hires FILE --scale S -q -o out.FORMAT
--device cpu`` runs as a subprocess under ``/usr/bin/time``: wall seconds, peak RSS of the
process (torch included), user and system CPU seconds. The output file is deleted after each run.
With ``--baseline DIR`` the same command also runs with ``PYTHONPATH=DIR`` (an older checkout, e.g.
``git worktree add /tmp/base <commit>``), interleaved with the current code so that both see the
same machine load; ``--repeat`` runs each command several times and reports medians.
Prints a markdown table and writes the JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]


def neuralpaint(pythonpath: str | None) -> tuple[list[str], dict]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath or str(REPO), env.get("PYTHONPATH")]))
    return [sys.executable, "-m", "neuralpaint"], env


def timed(cmd: list[str], env: dict, cwd: pathlib.Path) -> dict:
    """Run ``cmd`` under /usr/bin/time: wall s, peak RSS MB, user s, sys s."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        result = subprocess.run(["/usr/bin/time", "-o", t.name, "-f", "%e %M %U %S", *cmd], env=env,
                                capture_output=True, text=True, cwd=cwd)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stderr[-2000:]}")
        wall, rss_kb, user, system = t.read().split()[-4:]
    return {"wall_s": float(wall), "peak_rss_mb": round(int(rss_kb) / 1024), "user_s": float(user),
            "sys_s": float(system)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--types", nargs="+", default=["oilpaintbrush", "rectangle", "markerpen", "watercolor", "mypaint"])
    ap.add_argument("--scales", type=float, nargs="+", default=[16, 32])
    ap.add_argument("--formats", nargs="+", default=["png", "jpg"])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--baseline", default=None, metavar="DIR",
                    help="also time the code in DIR (PYTHONPATH=DIR), interleaved")
    ap.add_argument("--work", default=None, help="directory for strokes files and outputs (default: a temporary one)")
    ap.add_argument("--json", default="bench_results/render_hires.json")
    args = ap.parse_args()

    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="bench_render_hires_"))
    work.mkdir(parents=True, exist_ok=True)
    codes = {"new": None} | ({"baseline": args.baseline} if args.baseline else {})
    # commands run in the work directory: ``python -m`` puts the current directory first on the
    # path, which must not be a checkout; each code's kernels are compiled (cached) before timing
    for name, path in codes.items():
        cmd, env = neuralpaint(path)
        module = "neuralpaint.kernels" if (pathlib.Path(path or REPO) / "neuralpaint/kernels").is_dir() \
            else "neuralpaint.cpukernels"
        subprocess.run([cmd[0], "-m", module], env=env, cwd=work, check=True, capture_output=True)
    rows = []
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"| code | stroke type | scale | size | format | wall s | peak RSS MB | CPU s (user+sys) |")
    print("|---|---|---:|---:|---|---:|---:|---:|", flush=True)
    for stroke in args.types:
        npz = work / f"{stroke}.npz"
        base, env = neuralpaint(None)
        if not npz.exists():
            subprocess.run([*base, "random-strokes", "--stroke", stroke, "--n", str(args.n), "--seed",
                            str(args.seed), "-o", str(npz)], env=env, check=True, capture_output=True, cwd=work)
        for scale in args.scales:
            for fmt in args.formats:
                runs: dict[str, list[dict]] = {name: [] for name in codes}
                for _ in range(args.repeat):
                    for name, path in codes.items():
                        out = work / f"out_{name}.{fmt}"
                        cmd, env = neuralpaint(path)
                        cmd += ["render-hires", str(npz), "--scale", f"{scale:g}", "-q", "-o", str(out),
                                "--device", "cpu"]
                        runs[name].append(timed(cmd, env, work))
                        out.unlink(missing_ok=True)
                for name, rs in runs.items():
                    med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
                    size = round(512 * scale)
                    row = {"code": name, "stroke": stroke, "scale": scale, "size": size, "format": fmt,
                           "n": args.n, "repeat": args.repeat, **med, "runs": rs}
                    rows.append(row)
                    print(f"| {name} | {stroke} | {scale:g} | {size}² | {fmt} | {med['wall_s']:.1f} | "
                          f"{med['peak_rss_mb']:,} | {med['user_s'] + med['sys_s']:.1f} |", flush=True)
    if args.json:
        path = pathlib.Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"started": started, "cpus": os.cpu_count(), "n": args.n, "seed": args.seed,
                                    "load_average_at_end": os.getloadavg(), "results": rows}, indent=2))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
