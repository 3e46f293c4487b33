"""Regenerate the results files behind every figure in README.md and docs/, then the tables.

    python scripts/bench_all.py --full               # real sizes into bench_results/, then the docs' tables
    python scripts/bench_all.py --quick              # tiny sizes into a scratch folder: checks that all run
    python scripts/bench_all.py --full --only paint hires
    python scripts/bench_all.py --list

Each benchmark is its own script, run as a fresh process from the repository root, one after the
other (never two at once: they time things). With ``--full`` each writes its file in
``bench_results/`` and records the exact command line in it; afterwards ``scripts/figures.py
--write`` regenerates every table between ``<!-- figures: ... -->`` markers in the docs from those
files. ``--quick`` writes to ``--results`` (a scratch folder by default) and leaves the docs alone.
A benchmark that fails is reported, the others go on, and the script exits 1 naming it. Run it
on an otherwise idle machine: timings follow the machine's load.
"""
from __future__ import annotations

import argparse
import pathlib
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

ROOT = pathlib.Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Bench:
    """One results file: ``name`` (for ``--only``), the script's arguments for ``--full`` and for
    ``--quick`` (``{out}`` is the results file), and roughly how long ``--full`` takes."""

    name: str
    script: str
    full: tuple[str, ...]
    quick: tuple[str, ...]
    minutes: float
    file: str = ""

    @property
    def results(self) -> str:
        return self.file or f"{self.name}.json"


ENGINE_TYPES = ("rectangle", "oilpaintbrush", "markerpen", "watercolor")
TINY = ("--images", "astronaut", "--size", "48", "--strokes", "8", "--paint-args=--no-animation --refine-steps 5")
BENCHES = (
    Bench("paint_256", "bench_paint.py", (), ("--types", "rectangle", *TINY), 5),
    Bench("paint_512", "bench_paint.py", ("--types", "oilpaintbrush", "mypaint", "--images", "astronaut", "--size", "512"),
          ("--types", "oilpaintbrush", *TINY), 1),
    Bench("paint_neural", "bench_paint.py", ("--types", *ENGINE_TYPES, "--renderers", "neural", "--images", "astronaut"),
          ("--types", "rectangle", "--renderers", "neural", *TINY), 1),
    Bench("paint_ot", "bench_paint.py", ("--types", "rectangle", "oilpaintbrush", "--variant", "default=",
                                         "--variant", "OT=--ot-weight 1"),
          ("--types", "rectangle", *TINY, "--variant", "OT=--ot-weight 1 --max-divide 2"), 3),
    Bench("painterly", "bench_paint.py", ("--types", "oilpaintbrush", "--images", "astronaut", "--variant", "default=",
                                          "--variant", "opaque=--opaque",
                                          "--variant", "opaque, min size 12=--opaque --min-stroke-size 12",
                                          "--variant", "palette 6=--palette 6"),
          ("--types", "oilpaintbrush", *TINY, "--variant", "palette 3=--palette 3"), 1),
    Bench("intrinsic", "bench_paint.py", ("--types", "markerpen", "mypaint", "--images", "astronaut",
                                          "--variant", "pixel=--loss pixel", "--variant", "feature=--loss feature",
                                          "--variant", "pixel+feature=--loss pixel+feature"),
          ("--types", "markerpen", *TINY, "--variant", "feature=--loss feature"), 3),
    Bench("batch", "bench_batch.py", (),
          ("--photos", "3", "--size", "48", "--strokes", "8", "--repeat", "1",
           "--paint-args=--no-animation --stroke rectangle --max-divide 2 --refine-steps 2"), 6),
    Bench("engines", "bench_engines.py", ("--sizes", "128", "512", "--seconds", "1", "--repeats", "1"),
          ("--sizes", "128", "512", "--batch", "16", "--seconds", "0.2", "--repeats", "1"), 3),
    Bench("kernels", "bench_kernels.py", (), ("--scale", "4", "--repeat", "1", "--accuracy-scales", "1",
                                              "--accuracy-n", "100"), 7),
    Bench("renderers", "bench_renderers.py", ("--n", "1000"), ("--n", "100"), 1.5),
    Bench("svg", "bench_svg.py", (), ("--n", "40", "--size", "256"), 0.5),
    Bench("mypaint", "bench_mypaint.py", (), ("--n64", "100", "--n512", "10", "--n-dataset", "400", "--repeats", "1"),
          0.5),
    Bench("dabmodel", "bench_dabmodel.py", (), ("--n", "20"), 1),
    Bench("mypaint_variants", "bench_paint.py", ("--types", "mypaint", "--variant", "default=",
                                                 "--variant", "no refinement=--refine-steps 0",
                                                 "--variant", "all levels refined=--refine-frozen-levels 0",
                                                 "--variant", "40 steps per stroke=--iters-per-stroke 40",
                                                 "--variant", "engine every 8th=--engine-every 8",
                                                 "--variant", "engine every step=--engine-every 1",
                                                 "--variant", "dry brush=--brush classic/dry_brush"),
          ("--types", "mypaint", *TINY, "--variant", "no refinement=--refine-steps 0"), 10),
    Bench("mypaint_vs_oil", "bench_paint.py", ("--types", "oilpaintbrush", "mypaint", "--rounds", "3"),
          ("--types", "oilpaintbrush", "mypaint", *TINY, "--rounds", "2"), 4),
    Bench("mypaint_refine_steps", "bench_paint.py", ("--types", "mypaint", "--variant", "refine 12=--refine-steps 12",
                                                     "--variant", "refine 20=--refine-steps 20",
                                                     "--variant", "refine 30=--refine-steps 30"),
          ("--types", "mypaint", *TINY, "--variant", "refine 2=--refine-steps 2"), 4),
    Bench("stylize", "bench_stylize.py", (), ("--photos", "astronaut", "--styles", "starry_night", "--modes",
                                              "palette"), 10),
    Bench("compose", "bench_compose.py", ("--figure", "docs/compose_cases.jpg", "--methods-figure",
                                          "docs/compose_methods.jpg"),
          ("--size", "96", "--strokes", "30", "--steps", "5", "--methods", "pixels"), 6),
    Bench("video", "bench_video.py", (), ("--clips", "bunny", "pan", "--frames", "8", "--independent-frames", "2"),
          8),
    Bench("video_tuning", "bench_video.py",
          ("--frames", "24", "--variants", "frame_steps=40,frame_lr=0.003,frame_size=128,respawn_gone=False,"
           "moments='none'", "", "moments='none'", "moments='both'", "respawn_gone=False", "frame_steps=40",
           "frame_size=128", "frame_lr=0.003", "frame_lr=0.0015"),
          ("--clips", "bunny", "--frames", "6", "--independent-frames", "3", "--variants", "", "moments='none'"), 25),
    Bench("web", "bench_web.py", (), ("--size", "48", "--strokes", "12", "--paint-args=--stroke rectangle --max-divide 2",
                                      "--repeat", "1", "--paintings", "3", "--burst", "3"), 5),
    Bench("commands", "bench_commands.py", ("--long",), ("--only", "help"), 3),
    Bench("render_hires", "bench_render_hires.py", ("--types", *ENGINE_TYPES, "--scales", "16", "32", "--formats",
                                                    "png", "--repeat", "3"),
          ("--types", "rectangle", "--scales", "1", "--formats", "png", "--n", "20"), 3),
)


def run(bench: Bench, mode: str, results: pathlib.Path) -> tuple[int, float]:
    out = results / bench.results
    out_arg = str(out.relative_to(ROOT)) if out.is_relative_to(ROOT) else str(out)
    argv = [sys.executable, f"scripts/{bench.script}", *getattr(bench, mode), "--json", out_arg]
    print(f"== {bench.name}: {' '.join(argv[1:])}", flush=True)
    start = time.perf_counter()
    status = subprocess.run(argv, cwd=ROOT).returncode
    return status, time.perf_counter() - start


def main() -> None:
    names = [b.name for b in BENCHES]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--full", action="store_true", help="the docs' figures, real sizes, into bench_results/")
    mode.add_argument("--quick", action="store_true", help="tiny sizes into --results: checks that every benchmark runs")
    mode.add_argument("--list", action="store_true", help="list the benchmarks and their commands")
    ap.add_argument("--only", nargs="+", choices=names, metavar="NAME", help=f"only these: {', '.join(names)}")
    ap.add_argument("--skip", nargs="+", choices=names, default=[], metavar="NAME", help="all but these")
    ap.add_argument("--results", type=pathlib.Path, default=None,
                    help="folder for the results files (default: bench_results/ with --full, a scratch folder with --quick)")
    args = ap.parse_args()
    if args.list:
        for b in BENCHES:
            print(f"{b.name:<14} ~{b.minutes:g} min  python " + shlex.join([f"scripts/{b.script}", *b.full, "--json",
                                                                            f"bench_results/{b.results}"]))
        print(f"total about {sum(b.minutes for b in BENCHES):g} minutes on 2 cores")
        return
    chosen = [b for b in BENCHES if (not args.only or b.name in args.only) and b.name not in args.skip]
    which = "full" if args.full else "quick"
    results = (args.results or (ROOT / "bench_results" if args.full else
                                pathlib.Path(tempfile.mkdtemp(prefix="neuralpaint-bench-quick-")))).resolve()
    results.mkdir(parents=True, exist_ok=True)
    failed = []
    for bench in chosen:
        status, seconds = run(bench, which, results)
        print(f"== {bench.name}: {'done' if status == 0 else f'FAILED (exit {status})'} in {seconds / 60:.1f} min", flush=True)
        if status:
            failed.append(bench.name)
    if args.full and results == (ROOT / "bench_results").resolve():
        if subprocess.run([sys.executable, "scripts/figures.py", "--write"], cwd=ROOT).returncode:
            failed.append("figures.py --write (a block whose results file is missing or lacks a key)")
    print(f"results in {results}")
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
