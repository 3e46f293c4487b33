"""Benchmark: painting a folder with ``neuralpaint paint --img DIR``, ``--jobs 1`` against ``--jobs 2``.

    python scripts/bench_batch.py                                   # 12 photos, 256 px, 500 strokes, 3 rounds
    python scripts/bench_batch.py --jobs 1 2 3 --repeat 5
    python scripts/bench_batch.py --photos 3 --size 48 --strokes 8 --repeat 1 \\
        --paint-args="--no-animation --stroke rectangle --max-divide 2 --refine-steps 2" --json /tmp/batch.json

The folder: astronaut, chelsea and coffee from ``test_images/``, each as it is, flipped left to
right, a centre crop (70 % of each side) and that crop flipped upside down: 12 photos (``--photos
N`` takes the first N). Every run is a whole command in a fresh process (interpreter start-up,
``import torch``, the worker processes, every photo and its outputs), started with ``subprocess``
and reaped with ``os.wait4``: wall time and the peak RSS of the largest single process (the command
or one of its workers, whichever is larger). Each round paints the folder into a new ``--out``
once per ``--jobs`` value, the order alternating from round to round so that every value sees the
same machine load, then runs the last command again on its finished ``--out``: the resume run,
where every photo is skipped. A run that exits non-zero, or paints or skips another number of
photos than expected, is reported and left out of the table (``failed_runs``), and the script exits
1. Results: ``--json`` (default ``bench_results/batch.json``) through ``figures.save``; the table
from ``tables`` on stdout. Run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

import figures

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("astronaut", "chelsea", "coffee")
VARIANTS = ("as is", "flipped", "crop", "crop flipped upside down")
SUMMARY = re.compile(r"(\d+) painted, (\d+) skipped, (\d+) failed in ([\d.]+) s")
PSNR = re.compile(r"^painted .* PSNR ([\d.]+|inf) dB$", re.M)


def make_photos(folder: Path, count: int) -> list[str]:
    """Write the benchmark's photos into ``folder``; returns their file names."""
    import cv2
    import numpy as np

    names = []
    for source in SOURCES:
        image = cv2.imread(str(ROOT / "test_images" / f"{source}.png"))
        h, w = image.shape[:2]
        crop = image[round(0.15 * h):round(0.85 * h), round(0.15 * w):round(0.85 * w)]
        for variant, pixels in zip(VARIANTS, (image, image[:, ::-1], crop, crop[::-1])):
            names.append(f"{source}_{variant.replace(' ', '_')}.png")
            cv2.imwrite(str(folder / names[-1]), np.ascontiguousarray(pixels))
    order = [n for i in range(len(VARIANTS)) for n in names[i::len(VARIANTS)]]  # sources mixed
    for name in order[count:]:
        (folder / name).unlink()
    return sorted(order[:count])


def run_batch(argv: list[str], env: dict) -> dict:
    """One timed command, with the counts and PSNRs it prints."""
    run = figures.run_timed(argv, ROOT, env)
    found = SUMMARY.search(run["stdout"])
    counts = dict(zip(("painted", "skipped", "failed"), map(int, found.groups()[:3]))) if found else {}
    psnrs = [float(p) for p in PSNR.findall(run["stdout"])]
    return {"seconds": round(run["seconds"], 3), "rss_mb": round(run["rss_mb"], 1), "status": run["status"],
            **counts, "psnr_mean": round(statistics.fmean(psnrs), 4) if psnrs else None,
            "stderr_tail": run["stderr"][-600:] if run["status"] else ""}


def tables(results: dict) -> dict[str, figures.Table]:
    """``batch``: per run kind and ``--jobs``, the median wall time of the whole command (min–max),
    seconds per photo, the speed-up over ``--jobs 1``, the largest peak RSS and the mean PSNR."""
    n = len(results["settings"]["photos"])
    groups: dict[tuple[str, int], list[dict]] = {}
    for run in results["runs"]:
        groups.setdefault((run["kind"], run["jobs"]), []).append(run)
    medians = {key: statistics.median(r["seconds"] for r in runs) for key, runs in groups.items()}
    rows = []
    for (kind, jobs), runs in sorted(groups.items(), key=lambda item: (item[0][0] != "fresh", item[0][1])):
        median = medians[(kind, jobs)]
        base = medians.get((kind, 1))
        psnr = [r["psnr_mean"] for r in runs if r.get("psnr_mean") is not None]
        rows.append([
            "paint the folder" if kind == "fresh" else "rerun: every photo skipped",
            str(jobs), str(len(runs)),
            f"{median:.1f} s ({min(r['seconds'] for r in runs):.1f}–{max(r['seconds'] for r in runs):.1f})",
            f"{median / n:.2f} s" if kind == "fresh" else "–",
            f"{base / median:.2f}×" if base else "–",
            f"{max(r['rss_mb'] for r in runs):.0f} MB",
            f"{statistics.fmean(psnr):.2f} dB" if psnr else "–",
        ])
    return {"batch": figures.Table(["run", "--jobs", "runs", "wall, median (min–max)", "per photo",
                                    "speed-up vs --jobs 1", "peak RSS, largest process", "mean PSNR"],
                                   rows, "lrrrrrrr")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="--jobs values to compare (default: 1 2)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds (default: 3)")
    ap.add_argument("--photos", type=int, default=12, help="photos in the folder, at most 12 (default: 12)")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--strokes", type=int, default=500)
    ap.add_argument("--paint-args", default="", help="more paint options, one string (default: none)")
    ap.add_argument("--json", default="bench_results/batch.json")
    args = ap.parse_args()
    if not 1 <= args.photos <= len(SOURCES) * len(VARIANTS):
        ap.error(f"--photos must be in 1..{len(SOURCES) * len(VARIANTS)}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    runs, failed = [], []
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        photos = make_photos(folder, args.photos)
        common = ["--img", str(folder), "--size", str(args.size), "--max-strokes", str(args.strokes), "-q",
                  *shlex.split(args.paint_args)]
        for round_ in range(args.repeat):
            order = args.jobs if round_ % 2 == 0 else args.jobs[::-1]
            for kind, jobs_list in (("fresh", order), ("resume", order[-1:])):
                for jobs in jobs_list:
                    out = Path(tmp) / f"out_{round_}_{jobs}"
                    argv = [sys.executable, "-m", "neuralpaint", "paint", *common, "--out", str(out),
                            "--jobs", str(jobs)]
                    run = {"kind": kind, "jobs": jobs, "round": round_, **run_batch(argv, env)}
                    expected = {"painted": len(photos), "skipped": 0} if kind == "fresh" else \
                        {"painted": 0, "skipped": len(photos)}
                    good = run["status"] == 0 and all(run.get(k) == v for k, v in expected.items())
                    (runs if good else failed).append(run)
                    print(f"round {round_} {kind} --jobs {jobs}: {run['seconds']:.1f} s, {run['rss_mb']:.0f} MB"
                          + ("" if good else f"  FAILED (status {run['status']}): {run['stderr_tail']}"),
                          file=sys.stderr, flush=True)
    results = {"settings": {"photos": photos, "size": args.size, "strokes": args.strokes,
                            "paint_args": args.paint_args, "jobs": args.jobs, "repeat": args.repeat,
                            "usable_cores": len(os.sched_getaffinity(0))},
               "runs": runs, "failed_runs": failed}
    figures.save(args.json, results, timing=figures.WHOLE)
    if runs:
        print(tables(results)["batch"].markdown())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
