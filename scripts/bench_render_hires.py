"""Benchmark: the whole ``neuralpaint render-hires`` command, per stroke type, size and format.

    python scripts/bench_render_hires.py [--types oilpaintbrush rectangle ...] [--scales 16 32]
        [--formats png jpg] [--n 500] [--repeat 1] [--baseline /path/to/old/checkout]
        [--json bench_results/render_hires.json]

For each stroke type a strokes file is made with ``neuralpaint random-strokes --stroke TYPE --n N
--seed 7`` (512x512 canvas); then ``neuralpaint render-hires FILE --scale S -q -o out.FORMAT
--device cpu`` runs in a fresh process reaped by ``os.wait4``: wall seconds, peak RSS of the
process (torch included), user and system CPU seconds. The output file is deleted after each run.
With ``--baseline DIR`` the same command also runs with ``PYTHONPATH=DIR`` (an older checkout, e.g.
``git worktree add /tmp/base <commit>``), interleaved with the current code so that both see the
same machine load; ``--repeat`` runs each command several times and reports medians.
Prints a markdown table and writes the JSON.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

import figures

REPO = pathlib.Path(__file__).resolve().parents[1]


def neuralpaint(pythonpath: str | None) -> tuple[list[str], dict]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath or str(REPO), env.get("PYTHONPATH")]))
    return [sys.executable, "-m", "neuralpaint"], env


def timed(cmd: list[str], env: dict, cwd: pathlib.Path) -> dict:
    """Run ``cmd`` in a fresh process: wall s, peak RSS MB, user s, sys s (``figures.run_timed``)."""
    run = figures.run_timed(cmd, cwd, env)
    if run["status"] != 0:  # a failed run is never a figure
        print(f"{' '.join(cmd)} failed (exit {run['status']}): {run['stderr'].strip()[-500:]}", file=sys.stderr)
        return {"status": run["status"]}
    return {"status": 0, "wall_s": round(run["seconds"], 2), "peak_rss_mb": round(run["rss_mb"]),
            "user_s": round(run["user_s"], 2), "sys_s": round(run["sys_s"], 2)}


def tables(results: dict) -> dict[str, figures.Table]:
    """``render_hires``: one row per stroke type, scale and format (and code, with a baseline),
    medians over the runs that succeeded; with a baseline also ``ab``: now against before."""
    rows = results["results"]
    compare = any(r["code"] != "new" for r in rows)
    out = []
    for r in rows:
        lead = [r["code"]] if compare else []
        if not r.get("runs_ok", r["repeat"]):
            out.append(lead + [r["stroke"], f"×{r['scale']:g}", f"{r['size']}²", r["format"], "failed", "", ""])
            continue
        out.append(lead + [r["stroke"], f"×{r['scale']:g}", f"{r['size']}²", r["format"], f"{r['wall_s']:.2f}",
                           f"{r['peak_rss_mb']:,.0f}", f"{r['user_s'] + r['sys_s']:.1f}"])
    header = [*(["code"] if compare else []), "stroke type", "scale", "size", "format", "wall s (median)",
              "peak RSS MB", "CPU s (user+sys)"]
    found = {"render_hires": figures.Table(header, out, ("l" if compare else "") + "lrrl")}
    new = {(r["stroke"], r["scale"], r["format"]): r for r in rows if r["code"] == "new" and "wall_s" in r}
    base = {(r["stroke"], r["scale"], r["format"]): r for r in rows if r["code"] == "baseline" and "wall_s" in r}
    if base:
        ab = []
        for key, b in base.items():
            if key in new:
                n = new[key]
                ab.append([key[0], f"×{key[1]:g}", f"{n['wall_s']:.2f}", f"{b['wall_s']:.2f}",
                           f"{b['wall_s'] - n['wall_s']:.2f}", f"{n['peak_rss_mb']:.0f} / {b['peak_rss_mb']:.0f}",
                           f"{n['user_s'] + n['sys_s']:.1f} / {b['user_s'] + b['sys_s']:.1f}"])
        found["ab"] = figures.Table(["stroke type", "scale", "wall s now", "wall s before", "saved s",
                                     "peak MB now / before", "CPU s now / before"], ab, "ll")
    return found


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
                    ok = [r for r in rs if r["status"] == 0]
                    med = {k: statistics.median(r[k] for r in ok) for k in ok[0] if k != "status"} if ok else {}
                    row = {"code": name, "stroke": stroke, "scale": scale, "size": round(512 * scale), "format": fmt,
                           "n": args.n, "repeat": args.repeat, "runs_ok": len(ok),
                           "failed_runs": [r["status"] for r in rs if r["status"]], **med, "runs": rs}
                    rows.append(row)
                    print(f"  {name} {stroke} x{scale:g} {fmt}: " + (f"{med['wall_s']:.2f} s, {med['peak_rss_mb']} MB"
                          if ok else "failed"), file=sys.stderr, flush=True)
    results = {"n": args.n, "seed": args.seed, "baseline": args.baseline, "results": rows}
    figures.save(args.json, results, timing=figures.WHOLE)
    for table in tables(results).values():
        print(table.markdown())
    if any(r["failed_runs"] for r in rows):
        raise SystemExit("some runs failed (left out of the figures)")


if __name__ == "__main__":
    main()
