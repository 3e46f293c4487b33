"""Benchmark: painting a folder: separate commands, one batch command, ``--jobs``, a Dask cluster.

    python scripts/bench_batch.py                      # 12 photos, 256 px, 300 strokes, 2 rounds
    python scripts/bench_batch.py --jobs 1 2 3 --repeat 4 --cluster-workers 0
    python scripts/bench_batch.py --photos 3 --size 48 --strokes 8 --repeat 1 \\
        --paint-args="--no-animation --stroke rectangle --max-divide 2 --refine-steps 2" --json /tmp/batch.json

The folder: astronaut, chelsea and coffee from ``test_images/``, each as it is, flipped left to
right, a centre crop (70 % of each side) and that crop flipped upside down: 12 photos (``--photos
N`` takes the first N). Each round paints the folder in every way, the order rotating from round
to round so that every way sees the same machine load: ``paint --img PHOTO`` once per photo (the
sum of the commands), one ``paint --img DIR --jobs J`` per ``--jobs`` value, and one ``paint --img
DIR --cluster ADDR`` on a Dask LocalCluster of ``--cluster-workers`` processes with one thread
each, started (and its workers' imports paid) before the timing, as a running cluster would be;
the last round also reruns the last batch on its finished ``--out`` (every photo skipped). Every
run is a whole command in a fresh process (interpreter start-up, ``import torch``, the worker
processes, every photo and its outputs), reaped with ``os.wait4``: wall time and the peak RSS of
the largest single process among the command and the workers it started (the cluster's workers
are not its children and are not counted). A run that exits non-zero, or paints or skips another
number of photos than expected, is reported and left out of the tables (``failed_runs``), and the
script exits 1. Results: ``--json`` (default ``bench_results/batch.json``) through
``figures.save``. Run it on an otherwise idle machine.
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
SINGLE = re.compile(r"PSNR ([\d.]+|inf) dB against the input")  # the line of a one-photo paint


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
    single = SINGLE.search(run["stdout"])
    return {"seconds": round(run["seconds"], 3), "rss_mb": round(run["rss_mb"], 1), "status": run["status"],
            **counts, "psnr_mean": round(statistics.fmean(psnrs), 4) if psnrs else None,
            "psnr_single": float(single[1]) if single else None,
            "stderr_tail": run["stderr"][-600:] if run["status"] else ""}


LABELS = {"commands": "{n} separate `paint --img PHOTO` commands", "batch": "one batch command, `--jobs {jobs}`",
          "cluster": "one batch command, `--cluster` (LocalCluster, {jobs} workers)",
          "resume": "rerun of the last batch: every photo skipped"}


def tables(results: dict) -> dict[str, figures.Table]:
    """``batch``: per way of painting the folder, the median wall time of the whole command(s)
    (min–max), seconds per photo, the speed-up over separate commands, the largest peak RSS and
    the mean PSNR; ``overhead``: the cluster path's extra seconds per photo over ``--jobs`` with
    as many local workers."""
    n = len(results["settings"]["photos"])
    groups: dict[tuple[str, int], list[dict]] = {}
    for run in results["runs"]:
        groups.setdefault((run["kind"], run["jobs"]), []).append(run)
    medians = {key: statistics.median(r["seconds"] for r in runs) for key, runs in groups.items()}
    base = medians.get(("commands", 1))
    order = {"commands": 0, "batch": 1, "cluster": 2, "resume": 3}
    rows = []
    for (kind, jobs), runs in sorted(groups.items(), key=lambda item: (order[item[0][0]], item[0][1])):
        median = medians[(kind, jobs)]
        psnr = [r["psnr_mean"] for r in runs if r.get("psnr_mean") is not None]
        rows.append([
            LABELS[kind].format(n=n, jobs=jobs), str(len(runs)),
            f"{median:.1f} s ({min(r['seconds'] for r in runs):.1f}–{max(r['seconds'] for r in runs):.1f})",
            f"{median / n:.2f} s", f"{base / median:.2f}×" if base and kind != "resume" else "–",
            f"{max(r['rss_mb'] for r in runs):.0f} MB", f"{statistics.fmean(psnr):.2f} dB" if psnr else "–",
        ])
    found = {"batch": figures.Table(["how", "runs", "wall, median (min–max)", "per photo",
                                     "speed-up vs separate commands", "peak RSS, largest process", "mean PSNR"],
                                    rows, "lrrrrrr")}
    overhead = [[str(jobs), f"{medians[('cluster', jobs)]:.1f} s", f"{medians[('batch', jobs)]:.1f} s",
                 f"{(medians[('cluster', jobs)] - medians[('batch', jobs)]) / n:+.2f} s"]
                for (kind, jobs) in medians if kind == "cluster" and ("batch", jobs) in medians]
    if overhead:
        found["overhead"] = figures.Table(["workers", "cluster batch", "local batch, same --jobs",
                                           "cluster overhead per photo"], overhead)
    return found


def local_cluster(workers: int):
    """A Dask LocalCluster of ``workers`` processes with one thread each, warmed by one tiny
    painting on every worker (imports and kernel loading paid before the timing, as on a cluster
    that has painted before)."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    client.run(_warm_up)
    return cluster, client


def _warm_up() -> None:
    import numpy as np

    import neuralpaint

    neuralpaint.paint(np.full((16, 16, 3), 0.5, np.float32), stroke="oilpaintbrush", max_strokes=2, size=16)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="--jobs values to compare (default: 1 2)")
    ap.add_argument("--cluster-workers", type=int, default=2,
                    help="also paint on a LocalCluster of this many workers; 0: not (default: 2)")
    ap.add_argument("--no-commands", action="store_true", help="leave out the separate paint commands")
    ap.add_argument("--repeat", type=int, default=2, help="rounds (default: 2)")
    ap.add_argument("--photos", type=int, default=12, help="photos in the folder, at most 12 (default: 12)")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--strokes", type=int, default=300)
    ap.add_argument("--paint-args", default="", help="more paint options, one string (default: none)")
    ap.add_argument("--json", default="bench_results/batch.json")
    args = ap.parse_args()
    if not 1 <= args.photos <= len(SOURCES) * len(VARIANTS):
        ap.error(f"--photos must be in 1..{len(SOURCES) * len(VARIANTS)}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    ways = ([] if args.no_commands else [("commands", 1)]) + [("batch", j) for j in args.jobs] \
        + ([("cluster", args.cluster_workers)] if args.cluster_workers else [])
    cluster = client = None
    runs, failed = [], []
    try:
        if args.cluster_workers:
            cluster, client = local_cluster(args.cluster_workers)
        with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
            folder = Path(tmp) / "photos"
            folder.mkdir()
            photos = make_photos(folder, args.photos)
            options = ["--size", str(args.size), "--max-strokes", str(args.strokes), "-q", *shlex.split(args.paint_args)]
            paint = [sys.executable, "-m", "neuralpaint", "paint"]
            for round_ in range(args.repeat):
                shift = round_ % len(ways)  # every way in every position over the rounds: the same machine load
                for kind, jobs in ways[shift:] + ways[:shift]:
                    out = Path(tmp) / f"out_{round_}_{kind}_{jobs}"
                    if kind == "commands":
                        parts = [run_batch([*paint, "--img", str(folder / p), *options, "--out", str(out)], env)
                                 for p in photos]
                        run = {"seconds": round(sum(r["seconds"] for r in parts), 3),
                               "rss_mb": max(r["rss_mb"] for r in parts),
                               "status": max((r["status"] for r in parts), key=abs),
                               "painted": sum(r["status"] == 0 for r in parts), "skipped": 0,
                               "psnr_mean": round(statistics.fmean(r["psnr_single"] for r in parts), 4)
                               if all(r.get("psnr_single") for r in parts) else None,
                               "stderr_tail": next((r["stderr_tail"] for r in parts if r["status"]), "")}
                    else:
                        where = ["--cluster", cluster.scheduler_address] if kind == "cluster" else ["--jobs", str(jobs)]
                        run = run_batch([*paint, "--img", str(folder), *options, "--out", str(out), *where], env)
                    runs_here = [({"kind": kind, "jobs": jobs, "round": round_, **run}, len(photos), 0)]
                    if kind != "commands" and (kind, jobs) == ways[-1] and round_ == args.repeat - 1:
                        again = run_batch([*paint, "--img", str(folder), *options, "--out", str(out), *where], env)
                        runs_here.append(({"kind": "resume", "jobs": jobs, "round": round_, **again}, 0, len(photos)))
                    for run, painted, skipped in runs_here:
                        good = run["status"] == 0 and run.get("painted") == painted and run.get("skipped") == skipped
                        (runs if good else failed).append(run)
                        print(f"round {round_} {run['kind']} {jobs}: {run['seconds']:.1f} s, {run['rss_mb']:.0f} MB"
                              + ("" if good else f"  FAILED (status {run['status']}): {run['stderr_tail']}"),
                              file=sys.stderr, flush=True)
    finally:
        if client is not None:
            client.close()
            cluster.close()
    results = {"settings": {"photos": photos, "size": args.size, "strokes": args.strokes,
                            "paint_args": args.paint_args, "jobs": args.jobs, "cluster_workers": args.cluster_workers,
                            "repeat": args.repeat, "usable_cores": len(os.sched_getaffinity(0))},
               "runs": runs, "failed_runs": failed}
    figures.save(args.json, results, timing=figures.WHOLE)
    for table in tables(results).values():
        print(table.markdown())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
