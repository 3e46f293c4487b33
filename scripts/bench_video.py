"""Benchmark: ``neuralpaint paint-video`` against painting every frame with ``paint`` (issue 22).

    python scripts/bench_video.py [--clips bunny pan] [--frames N] [--independent-frames N]
        [--quick] [--work DIR] [--json bench_results/video.json]

Clips: ``bunny`` -- the bundled Big Buck Bunny cut (test_images/bigbuckbunny_320x180.mp4, 132
frames, slow motion; (c) Blender Foundation, CC-BY 3.0); ``pan`` -- a synthetic fast pan and zoom
over test_images/coffee.png made here (320x180 frames, tens of pixels per frame).

Whole commands run as fresh processes reaped by ``os.wait4`` (wall s, peak RSS):
``neuralpaint paint-video --video CLIP --size 256 --max-strokes 300 --out DIR --save-frames -q``
once, and ``neuralpaint paint --img FRAME.png --size 256 --max-strokes 300 --no-animation -q
--out DIR`` for each of the first ``--independent-frames`` frames (PNG files extracted first).
The figures come from the PNGs the commands wrote, against the input frames resized as the
painter resizes them (``neuralpaint.photo.prepare_photo``):

* warping error (``neuralpaint.video.flow.warping_error``, Lai et al.): painted frame t against
  painted frame t-1 warped by the input's flow, occluded pixels masked; the input's own is the floor.
  Compared over the frames both paintings cover (1 .. independent-frames - 1);
* PSNR of each painted frame against its input frame; drift: mean PSNR of the last 20 frames
  minus the first 20;
* time per frame: paint-video's wall time / its frames, against one ``paint`` command's wall time.

Prints a markdown table and writes the JSON (command line, date, settings, every figure);
``tables`` makes docs/video.md's tables from it (``clips``, ``targets``; ``tuning`` from the
file ``--variants`` writes). ``--figures`` makes docs/video_strip.jpg and docs/video.gif from a run kept with ``--work``;
``--variants`` measures the quality of ``VideoConfig`` variants in-process (docs/video.md, tuning).
"""
from __future__ import annotations

import argparse
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

import figures

REPO = pathlib.Path(__file__).resolve().parents[1]
BUNNY = REPO / "test_images" / "bigbuckbunny_320x180.mp4"
COFFEE = REPO / "test_images" / "coffee.png"
SIZE, STROKES = 256, 300
DRIFT_WINDOW = 20


def neuralpaint() -> tuple[list[str], dict]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return [sys.executable, "-m", "neuralpaint"], env


def timed(cmd: list[str], cwd: pathlib.Path) -> dict:
    """Run ``cmd`` (a neuralpaint subcommand) in a fresh process: wall s, peak RSS MB."""
    base, env = neuralpaint()
    run = figures.run_timed([*base, *cmd], cwd, env)
    if run["status"] != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed:\n{run['stderr'][-2000:]}")
    return {"wall_s": round(run["seconds"], 2), "peak_rss_mb": round(run["rss_mb"])}


# ---- clips ---------------------------------------------------------------------------------------

def bunny_frames(folder: pathlib.Path, count: int | None) -> int:
    """The bundled clip's first ``count`` frames (all: None) as 000000.png ...; returns how many."""
    import imageio.v3 as iio

    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for i, frame in enumerate(iio.imiter(BUNNY)):
        if count is not None and i >= count:
            break
        iio.imwrite(folder / f"{i:06d}.png", frame[..., :3])
        n += 1
    return n


def pan_window(k: int, count: int) -> tuple[float, float, float]:
    """Centre x, centre y and width (source pixels of the 600x400 photo) of frame ``k``: a sideways
    sweep (120 px each way, a period of 24 frames: up to 31 source px a frame) while the view
    zooms from 380 to 260 px wide and back."""
    t = k / max(count - 1, 1)
    cx = 300.0 + 120.0 * np.sin(2 * np.pi * k / 24.0)
    cy = 200.0 + 30.0 * np.sin(2 * np.pi * k / 40.0)
    width = 380.0 - 120.0 * np.sin(np.pi * t)
    return cx, cy, width


def pan_frames(folder: pathlib.Path, count: int, out_w: int = 320, out_h: int = 180) -> int:
    """A fast pan and zoom over test_images/coffee.png: ``count`` frames of ``out_w x out_h``."""
    import cv2
    import imageio.v3 as iio

    folder.mkdir(parents=True, exist_ok=True)
    photo = iio.imread(COFFEE)[..., :3].astype(np.float32)
    for k in range(count):
        cx, cy, width = pan_window(k, count)
        s = out_w / width  # output pixels per source pixel
        m = np.array([[s, 0, out_w / 2 - s * cx], [0, s, out_h / 2 - s * cy]], np.float32)
        frame = cv2.warpAffine(photo, m, (out_w, out_h), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
        iio.imwrite(folder / f"{k:06d}.png", np.clip(np.rint(frame), 0, 255).astype(np.uint8))
    return count


# ---- figures -------------------------------------------------------------------------------------

def read_rgb(path: pathlib.Path) -> np.ndarray:
    from neuralpaint.imagefiles.io import read_image

    return np.asarray(read_image(path), np.float32)


def prepared(frame: np.ndarray) -> np.ndarray:
    """An input frame resized as the painter resizes it: ``(h, w, 3)`` float32."""
    import torch

    from neuralpaint.photo import prepare_photo

    return prepare_photo(frame, SIZE, torch.device("cpu")).permute(1, 2, 0).numpy().astype(np.float32)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / max(float(np.mean((a - b) ** 2)), 1e-12)))


def warping_errors(painted: list[np.ndarray], inputs: list[np.ndarray]) -> list[float]:
    """Warping error at t = 1 .. len-1 of ``painted`` against the flow of ``inputs``."""
    from neuralpaint.video.flow import warping_error

    return [warping_error(painted[t], painted[t - 1], inputs[t], inputs[t - 1]) for t in range(1, len(painted))]


def mean_motion(inputs: list[np.ndarray]) -> float:
    """Mean optical-flow length between consecutive input frames, pixels of the painting."""
    from neuralpaint.video.flow import optical_flow

    return float(np.mean([np.linalg.norm(optical_flow(inputs[t - 1], inputs[t]), axis=-1).mean()
                          for t in range(1, len(inputs))]))


def clip_figures(inputs: list[np.ndarray], coherent: list[np.ndarray], independent: list[np.ndarray]) -> dict:
    """Every figure of one clip from its frames (all ``(h, w, 3)`` float32 at the painting size)."""
    k = len(independent)
    we_in = warping_errors(inputs, inputs)
    we_co = warping_errors(coherent, inputs)
    we_ind = warping_errors(independent, inputs[:k])
    ps_co = [psnr(p, f) for p, f in zip(coherent, inputs)]
    ps_ind = [psnr(p, f) for p, f in zip(independent, inputs)]
    n = len(coherent)
    w = min(DRIFT_WINDOW, n // 2)
    out = {
        "frames": n, "independent_frames": k, "mean_motion_px": mean_motion(inputs),
        # over the frames both paintings cover
        "warp_input": float(np.mean(we_in[:k - 1])), "warp_coherent": float(np.mean(we_co[:k - 1])),
        "warp_independent": float(np.mean(we_ind)),
        "psnr_coherent": float(np.mean(ps_co[:k])), "psnr_independent": float(np.mean(ps_ind)),
        # over the whole clip
        "warp_input_all": float(np.mean(we_in)), "warp_coherent_all": float(np.mean(we_co)),
        "psnr_coherent_all": float(np.mean(ps_co)),
        "psnr_first": float(np.mean(ps_co[:w])), "psnr_last": float(np.mean(ps_co[-w:])), "drift_window": w,
        "per_frame": {"warp_input": we_in, "warp_coherent": we_co, "warp_independent": we_ind,
                      "psnr_coherent": ps_co, "psnr_independent": ps_ind},
    }
    out["warp_ratio_independent"] = out["warp_coherent"] / out["warp_independent"]
    out["warp_ratio_input"] = out["warp_coherent"] / out["warp_input"]
    out["warp_ratio_input_all"] = out["warp_coherent_all"] / out["warp_input_all"]
    out["drift_db"] = out["psnr_last"] - out["psnr_first"]
    return out


# ---- runs ----------------------------------------------------------------------------------------

def run_clip(name: str, work: pathlib.Path, frames: int | None, independent: int, extra: list[str]) -> dict:
    folder = work / name / "frames"
    if name == "bunny":
        n = bunny_frames(folder, frames)
        video = [str(BUNNY)] + (["--end", str(n)] if frames is not None else [])
    else:
        n = pan_frames(folder, frames or 48)
        video = [str(folder)]
    files = sorted(folder.glob("*.png"))
    independent = min(independent, n)
    out = work / name / "video"
    vcmd = ["paint-video", "--video", *video, "--size", str(SIZE), "--max-strokes", str(STROKES), "--out", str(out),
            "--save-frames", "-q", *extra]
    print(f"  {name}: neuralpaint {shlex.join(vcmd)}", file=sys.stderr, flush=True)
    vtime = timed(vcmd, work)
    painted_dir = out / f"{pathlib.Path(video[0]).stem if name == 'bunny' else folder.name}_frames"
    coherent = [read_rgb(p) for p in sorted(painted_dir.glob("*.png"))]
    ind_runs, ind_frames = [], []
    for f in files[:independent]:
        icmd = ["paint", "--img", str(f), "--size", str(SIZE), "--max-strokes", str(STROKES), "--no-animation", "-q",
                "--out", str(work / name / "independent")]
        ind_runs.append(timed(icmd, work))
        ind_frames.append(read_rgb(work / name / "independent" / f"{f.stem}_final.png"))
    print(f"  {name}: {independent} x neuralpaint {shlex.join(icmd)}", file=sys.stderr, flush=True)
    inputs = [prepared(read_rgb(f)) for f in files]
    if len(coherent) != n or coherent[0].shape != inputs[0].shape:
        raise RuntimeError(f"{name}: {len(coherent)} painted frames of {coherent[0].shape}, "
                           f"expected {n} of {inputs[0].shape}")
    figs = clip_figures(inputs, coherent, ind_frames)
    ind_wall = float(np.mean([r["wall_s"] for r in ind_runs]))
    figs.update({
        "video_command": "neuralpaint " + shlex.join(vcmd), "independent_command": "neuralpaint " + shlex.join(icmd),
        "video_wall_s": vtime["wall_s"], "video_peak_rss_mb": vtime["peak_rss_mb"],
        "video_s_per_frame": vtime["wall_s"] / n, "independent_wall_s": ind_wall,
        "independent_peak_rss_mb": max(r["peak_rss_mb"] for r in ind_runs), "independent_runs": ind_runs,
    })
    figs["time_ratio"] = figs["video_s_per_frame"] / ind_wall
    return figs


def make_figures(work: pathlib.Path, strip_frames: list[int], gif_frames: int, strip: pathlib.Path,
            gif: pathlib.Path) -> None:
    """From a bunny run kept in ``work``: ``strip`` (JPEG; rows input, independent, coherent;
    a column per frame of ``strip_frames``) and ``gif`` (the first ``gif_frames`` frames, the three
    side by side at half size)."""
    import cv2
    import imageio.v2 as imageio

    files = sorted((work / "bunny" / "frames").glob("*.png"))
    coherent = sorted((work / "bunny" / "video" / f"{BUNNY.stem}_frames").glob("*.png"))

    def row_of(i: int) -> list[np.ndarray]:
        return [prepared(read_rgb(files[i])), read_rgb(work / "bunny" / "independent" / f"{files[i].stem}_final.png"),
                read_rgb(coherent[i])]

    gap = 4
    columns = []
    for i in strip_frames:
        tiles = row_of(i)
        h, w = tiles[0].shape[:2]
        columns.append(np.concatenate([tiles[0], np.ones((gap, w, 3), np.float32), tiles[1],
                                       np.ones((gap, w, 3), np.float32), tiles[2]], 0))
    sep = np.ones((columns[0].shape[0], gap, 3), np.float32)
    picture = np.concatenate(sum(([c, sep] for c in columns), [])[:-1], 1)
    imageio.imwrite(strip, np.clip(np.rint(picture * 255), 0, 255).astype(np.uint8), quality=85)
    pictures = []
    for i in range(gif_frames):
        tiles = [cv2.resize(t, (t.shape[1] // 2, t.shape[0] // 2), interpolation=cv2.INTER_AREA) for t in row_of(i)]
        h = tiles[0].shape[0]
        line = np.ones((h, 2, 3), np.float32)
        pictures.append(np.clip(np.rint(np.concatenate([tiles[0], line, tiles[1], line, tiles[2]], 1) * 255), 0,
                                255).astype(np.uint8))
    imageio.mimsave(gif, pictures, duration=0.08, loop=0)
    print(f"wrote {strip} ({strip.stat().st_size // 1024} KB), {gif} ({gif.stat().st_size // 1024} KB)")


def tune(names: list[str], frames: int, independent_frames: int, variants: list[str], out: pathlib.Path) -> None:
    """Quality of ``VideoConfig`` variants (``"frame_steps=40,moments='none'"``), painted in this
    process (``paint_video``, one torch thread) on each clip's first ``frames`` frames, against
    ``paint_photo`` on the first ``independent_frames`` (what ``paint`` does). Time is not measured."""
    import dataclasses

    import torch

    from neuralpaint.canvas.render import render_painting
    from neuralpaint.painter import PaintConfig, make_renderer, prepare_photo
    from neuralpaint.painter.progressive import paint_photo
    from neuralpaint.video import VideoConfig, paint_video

    torch.set_num_threads(1)
    cfg = PaintConfig(size=SIZE, max_strokes=STROKES, device="cpu")
    renderer = make_renderer(cfg, torch.device("cpu"))
    rows, failed = [], []
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            folder = pathlib.Path(tmp)
            bunny_frames(folder, frames) if name == "bunny" else pan_frames(folder, frames)
            clip = [read_rgb(f) for f in sorted(folder.glob("*.png"))]
        inputs = [prepared(f) for f in clip]
        independent = []
        for f in clip[:independent_frames]:
            photo = prepare_photo(f, SIZE, torch.device("cpu"))
            state = paint_photo(photo, renderer, cfg.resolved(renderer), progress=False)
            independent.append(render_painting(renderer.stroke, state.params.detach().numpy(), *photo.shape[1:],
                                               cfg.canvas_colour).transpose(1, 2, 0))
        for spec in variants:
            try:
                video = VideoConfig(**eval(f"dict({spec})"))  # a benchmark's own command line
                painted = [r.picture for r in paint_video(clip, dataclasses.replace(cfg), video)]
            except Exception as e:  # a failed run is reported and left out of the results
                failed.append({"clip": name, "variant": spec, "error": f"{type(e).__name__}: {e}"})
                print(f"| {name} | {spec or 'defaults'} | FAILED: {type(e).__name__}: {e} |", flush=True)
                continue
            fig = clip_figures(inputs, painted, independent)
            fig.pop("per_frame")
            rows.append({"clip": name, "variant": spec or "defaults", "video_config": dataclasses.asdict(video), **fig})
            print(f"| {name} | {spec or 'defaults'} | {fig['warp_ratio_independent']:.2f} | {fig['warp_ratio_input']:.2f} "
                  f"| {fig['warp_ratio_input_all']:.2f} | {fig['psnr_independent']:.2f} / {fig['psnr_coherent']:.2f} "
                  f"| {fig['psnr_coherent_all']:.2f} | {fig['drift_db']:+.2f} |", flush=True)
    figures.save(out, {"frames": frames, "independent_frames": independent_frames, "rows": rows, "failed": failed},
                 timing="quality only: nothing is timed (paint_video and paint_photo in this process, one thread)")
    return 1 if failed else 0


def tables(results: dict) -> dict[str, figures.Table]:
    """From video.json: ``clips`` (per clip, over the frames both paintings cover and over the whole
    clip) and ``targets`` (issue 22's, on the bunny clip); from video_tuning.json: ``tuning``."""
    if "rows" in results:
        return {"tuning": _tuning_table(results)}
    clips = results["results"]
    rows = []
    for name, r in clips.items():
        k = r["independent_frames"]
        rows.append([f"{name}, frames 0–{k - 1}", f"{r['frames']} ({k})",
                     f"{1e3 * r['warp_input']:.2f} / {1e3 * r['warp_independent']:.2f} / {1e3 * r['warp_coherent']:.2f}",
                     f"{r['warp_ratio_independent']:.2f}", f"{r['warp_ratio_input']:.2f}",
                     f"{r['psnr_independent']:.2f} / {r['psnr_coherent']:.2f}", "", "", "", ""])
        rows.append([f"{name}, whole clip", f"{r['frames']}",
                     f"{1e3 * r['warp_input_all']:.2f} / – / {1e3 * r['warp_coherent_all']:.2f}", "",
                     f"{r['warp_ratio_input_all']:.2f}", f"– / {r['psnr_coherent_all']:.2f}", f"{r['drift_db']:+.2f}",
                     f"{r['independent_wall_s']:.2f} / {r['video_s_per_frame']:.2f}", f"{r['time_ratio']:.2f}",
                     f"{r['independent_peak_rss_mb']} / {r['video_peak_rss_mb']}"])
    table = figures.Table(["clip", "frames (independent)", "warping error ×10⁻³: input / independent / paint-video",
                           "paint-video ÷ independent", "paint-video ÷ input", "PSNR dB: independent / paint-video",
                           "drift dB", "s per frame: `paint` / paint-video", "ratio",
                           "peak RSS MB: `paint` / paint-video"], rows, "lllrrlrlrl")
    out = {"clips": table}
    if "bunny" in clips:
        out["targets"] = _targets_table(clips, results["settings"])
    return out


def _targets_table(clips: dict, settings: dict) -> figures.Table:
    """Issue 22's targets (constants of the issue, not measurements) against the bunny clip."""
    r = clips["bunny"]
    k, n, w = r["independent_frames"], r["frames"], r["drift_window"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "missed"

    gain = r["psnr_coherent"] - r["psnr_independent"]
    rows = [
        ["warping error ≤ 0.35× the independent painting's", f"{r['warp_ratio_independent']:.2f}× (frames 0–{k - 1})",
         verdict(r["warp_ratio_independent"] <= 0.35)],
        ["… and within 1.3× the input video's own",
         f"{r['warp_ratio_input']:.2f}× over frames 0–{k - 1}, {r['warp_ratio_input_all']:.2f}× over all {n} frames",
         verdict(max(r["warp_ratio_input"], r["warp_ratio_input_all"]) <= 1.3)],
        ["mean PSNR at least the independent painting's",
         f"{r['psnr_coherent']:.2f} dB vs {r['psnr_independent']:.2f} dB (frames 0–{k - 1})",
         f"{verdict(gain >= 0)} ({gain:+.2f} dB)"],
        ["time per frame ≤ 0.3× one `paint` (whole commands)",
         f"{r['video_s_per_frame']:.2f} s vs {r['independent_wall_s']:.2f} s: {r['time_ratio']:.2f}×",
         verdict(r["time_ratio"] <= 0.3)],
        [f"no drift over {n} frames: last {w} within 0.5 dB of the first {w}",
         f"{r['drift_db']:+.2f} dB ({r['psnr_last']:.2f} vs {r['psnr_first']:.2f})", verdict(abs(r["drift_db"]) <= 0.5)],
    ]
    if "pan" in clips:
        rows.append(["fast motion measured", "pan: the table above", "reported"])
    return figures.Table([f"target (issue 22, bunny at {settings['size']} px, {settings['max_strokes']} "
                          f"{settings['stroke']} strokes)", "measured", ""], rows, "lll")


def _tuning_table(results: dict) -> figures.Table:
    k, n = results["independent_frames"], results["frames"]
    rows = [[r["clip"], "**defaults**" if r["variant"] == "defaults" else f"`{r['variant']}`",
             f"{r['warp_ratio_independent']:.2f}", f"{r['warp_ratio_input']:.2f}", f"{r['warp_ratio_input_all']:.2f}",
             f"{r['psnr_independent']:.2f} / {r['psnr_coherent']:.2f}", f"{r['psnr_coherent_all']:.2f}"]
            for r in results["rows"]]
    return figures.Table(["clip", "VideoConfig (changed from the defaults)", f"warp ÷ independent (1–{k - 1})",
                          f"warp ÷ input (1–{k - 1})", f"warp ÷ input (1–{n - 1})",
                          f"PSNR dB (0–{k - 1}): independent / paint-video", f"PSNR (0–{n - 1})"], rows, "ll")


def table(results: dict) -> str:
    rows = ["| clip | frames (independent) | motion px/frame | warping error: input / independent / coherent "
            "| coherent ÷ independent | coherent ÷ input | PSNR dB: independent / coherent | drift dB (last 20 − first 20) "
            "| s per frame: paint / paint-video | ratio | peak RSS MB |",
            "|---|---|---:|---|---:|---:|---|---:|---|---:|---:|"]
    for name, r in results.items():
        rows.append(
            f"| {name} | {r['frames']} ({r['independent_frames']}) | {r['mean_motion_px']:.1f} | "
            f"{r['warp_input']:.5f} / {r['warp_independent']:.5f} / {r['warp_coherent']:.5f} | "
            f"{r['warp_ratio_independent']:.2f} | {r['warp_ratio_input']:.2f} | "
            f"{r['psnr_independent']:.2f} / {r['psnr_coherent']:.2f} | {r['drift_db']:+.2f} | "
            f"{r['independent_wall_s']:.2f} / {r['video_s_per_frame']:.2f} | {r['time_ratio']:.2f} | "
            f"{r['independent_peak_rss_mb']} / {r['video_peak_rss_mb']} |")
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", nargs="+", default=["bunny", "pan"], choices=["bunny", "pan"])
    ap.add_argument("--frames", type=int, default=None,
                    help="frames of each clip (default: bunny all 132, pan 48)")
    ap.add_argument("--independent-frames", type=int, default=24,
                    help="frames painted independently with paint, from the first (default: %(default)s)")
    ap.add_argument("--quick", action="store_true", help="24 frames, 6 of them independently")
    ap.add_argument("--video-args", default="", help="extra paint-video arguments (quoted)")
    ap.add_argument("--work", default=None, help="directory for frames and outputs (default: a temporary one)")
    ap.add_argument("--json", default="bench_results/video.json")
    ap.add_argument("--figures", action="store_true",
                    help="only make docs/video_strip.jpg and docs/video.gif from a finished run in --work")
    ap.add_argument("--variants", nargs="+", default=None, metavar="SPEC",
                    help="instead: quality of VideoConfig variants in this process, e.g. \"frame_steps=40,"
                    "moments='none'\" ('' = the defaults); --frames (default 30) and --independent-frames "
                    "(default 8) of each clip; writes bench_results/video_tuning.json")
    args = ap.parse_args()
    if args.variants is not None:
        print("| clip | VideoConfig | warp ÷ independent | warp ÷ input | warp ÷ input (whole) | PSNR dB: independent / "
              "coherent | PSNR (whole) | drift dB |\n|---|---|---:|---:|---:|---|---:|---:|")
        return tune(args.clips, args.frames or 30, 8 if args.independent_frames == 24 else args.independent_frames,
                    args.variants, pathlib.Path("bench_results/video_tuning.json" if args.json == "bench_results/video.json"
                                                else args.json))
    if args.figures:
        docs = REPO / "docs"
        make_figures(pathlib.Path(args.work), [0, 8, 16, 23], min(24, args.independent_frames),
                     docs / "video_strip.jpg", docs / "video.gif")
        return 0
    if args.quick:
        args.frames, args.independent_frames = args.frames or 24, min(args.independent_frames, 6)

    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="bench_video_"))
    work.mkdir(parents=True, exist_ok=True)
    base, env = neuralpaint()
    subprocess.run([base[0], "-m", "neuralpaint.kernels"], env=env, cwd=work, check=True, capture_output=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    load_start = os.getloadavg()
    results, failed = {}, {}
    for name in args.clips:
        try:
            results[name] = run_clip(name, work, args.frames, args.independent_frames, shlex.split(args.video_args))
        except Exception as e:  # a failed clip is reported and left out of the results
            failed[name] = f"{type(e).__name__}: {e}"
            print(f"{name}: FAILED: {failed[name]}", file=sys.stderr, flush=True)
    print(table(results))
    if args.json:
        figures.save(args.json, {
            "started": started, "load_average_at_start": load_start,
            "settings": {"size": SIZE, "max_strokes": STROKES, "stroke": "oilpaintbrush", "work": str(work)},
            "results": results, "failed": failed}, timing=figures.WHOLE)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
