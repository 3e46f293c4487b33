"""``neuralpaint paint-video``: paint a clip, strokes carried from frame to frame along the flow."""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from ..errors import NeuralPaintError
from .common import PROG, Command, check_output_dir
from .paint import add_painterly_arguments, add_painting_arguments, paint_config_from_args

VIDEO_SIZE = 256  # --size default: a clip has many frames


def add_paint_video_arguments(p: argparse.ArgumentParser) -> None:
    from ..video import VideoConfig

    v = VideoConfig
    p.add_argument("--video", required=True, type=Path, metavar="PATH",
                   help="clip to paint: a video file (MP4, MOV, WebM...), an animated GIF or a folder "
                   "of frames (PNG, JPEG..., in name order) (required)")
    p.add_argument("--start", default=None, metavar="POS",
                   help="first frame: a frame number (12) or a time (1.5s) (default: the first)")
    p.add_argument("--end", default=None, metavar="POS",
                   help="stop before this frame number or time (default: the last frame)")
    p.add_argument("--fps", type=float, default=None,
                   help="keep about this many frames a second (default: every frame)")
    p.add_argument("--cluster", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="paint on the workers of the Dask cluster whose scheduler is at ADDRESS "
                   "(tcp://host:8786), one task per scene (the clip split at its scene cuts); --cluster "
                   "alone reads $DASK_SCHEDULER_ADDRESS. Needs 'neuralpaint[cluster]'; see docs/video.md")
    add_painting_arguments(p, size=VIDEO_SIZE)
    g = p.add_argument_group("video")
    g.add_argument("--frame-steps", type=int, default=v.frame_steps, metavar="N",
                   help="refinement steps of each frame after the first, starting from the strokes of "
                   "the frame before moved along the optical flow (default: %(default)s)")
    g.add_argument("--cut-threshold", type=float, default=v.cut_threshold, metavar="D",
                   help="colour-histogram distance (0..1) between two frames above which a new "
                   "painting starts (a scene cut) (default: %(default)s)")
    g.add_argument("--out", type=Path, default=Path("output"), metavar="DIR",
                   help="directory for the outputs, created if needed (default: %(default)s)")
    g.add_argument("--side-by-side", action="store_true",
                   help="the MP4 shows the input frame beside the painted one")
    g.add_argument("--save-frames", action="store_true",
                   help="also write every painted frame as <name>_frames/000000.png, ...")
    g.add_argument("--resume", action="store_true",
                   help="continue a stopped run: frames whose strokes files are in --out are kept")
    add_painterly_arguments(p)
    from .stylize import add_style_arguments

    add_style_arguments(p, steps_flag="--style-steps")


def _finished_frames(folder: Path, config: dict) -> int:
    """How many frames ``folder`` holds from frame 0 on, painted with ``config`` (``--resume``)."""
    from ..strokesfile import load_strokes

    done = 0
    while (folder / f"{done:06d}.npz").is_file():
        strokes = load_strokes(folder / f"{done:06d}.npz")
        if strokes.metadata.get("config") != config:
            raise NeuralPaintError(f"{folder / f'{done:06d}.npz'} was painted with other settings; "
                                   "run again without --resume to start over")
        done += 1
    return done


def run_paint_video(args: argparse.Namespace) -> int:
    from ..video import VideoConfig, open_frames

    start = time.perf_counter()
    cfg = paint_config_from_args(args)
    video = VideoConfig(frame_steps=args.frame_steps, cut_threshold=args.cut_threshold)
    video.validate()
    clip = open_frames(args.video, args.start, args.end, args.fps)
    check_output_dir(args.out)
    style_cfg = None
    if args.style is not None:  # checked before painting
        from ..style.stylize import read_style_image
        from .stylize import stylize_config_from_args

        read_style_image(args.style)
        style_cfg = stylize_config_from_args(args, cfg.device)
    client = None
    if args.cluster is not None:  # before anything in --out is touched
        from ..cluster import cluster_address, connect

        client = connect(cluster_address(args.cluster))
    try:
        return _paint(args, cfg, video, clip, style_cfg, client, start)
    finally:
        if client is not None:
            client.close()


def _paint(args, cfg, video, clip, style_cfg, client, start: float) -> int:
    import dataclasses
    import json

    import numpy as np
    from tqdm import tqdm

    from ..canvas.render import render_painting
    from ..fileutil import atomic_path
    from ..imagefiles.io import write_image
    from ..painter import make_renderer
    from ..device import resolve_device
    from ..strokesfile import load_strokes, save_strokes
    from ..video import paint_video

    if style_cfg is not None:
        from ..style import stylize_run
    name = args.video.stem if args.video.is_file() else args.video.name
    styled_dir = args.out / f"{name}_stylized_strokes"
    strokes_dir, frames_dir = args.out / f"{name}_strokes", args.out / f"{name}_frames"
    mp4 = args.out / f"{name}_painted.mp4"
    done = 0
    if args.resume:  # the settings the frames were painted with must be these (resolved as the painter does)
        resolved = dataclasses.asdict(cfg.resolved(make_renderer(cfg, resolve_device(cfg.device))))
        done = _finished_frames(strokes_dir, json.loads(json.dumps(resolved)))  # as metadata reads back
    if not args.resume:  # a new run: no frame of an older one may pass for ours
        for old in [*strokes_dir.glob("[0-9]" * 6 + ".npz"), *styled_dir.glob("[0-9]" * 6 + ".npz")]:
            old.unlink()
    done = min(done, len(clip))
    command = shlex.join([PROG, *getattr(args, "_argv", sys.argv[1:])])
    previous = None
    frames = clip.frames()
    if done:
        before = None
        for before in clip.frames(done - 1):
            break
        previous = (before, load_strokes(strokes_dir / f"{done - 1:06d}.npz"))
        frames = clip.frames(done)

    import cv2
    import imageio.v2 as imageio

    interrupted = False
    painted = fresh = 0
    bar = tqdm(total=len(clip), initial=done, unit="frame", desc="painting video", disable=args.quiet)
    with atomic_path(mp4) as tmp:
        writer = imageio.get_writer(tmp, format="FFMPEG", mode="I", fps=clip.fps, codec="libx264", quality=7,
                                    macro_block_size=1, pixelformat="yuv420p", ffmpeg_log_level="error")

        def show(picture: np.ndarray, frame: np.ndarray | None) -> np.ndarray:
            out = np.clip(np.rint(picture * 255.0), 0, 255).astype(np.uint8)
            if args.side_by_side and frame is not None:
                h, w = out.shape[:2]
                small = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
                out = np.concatenate([np.clip(np.rint(small * 255.0), 0, 255).astype(np.uint8), out], 1)
            return out[: out.shape[0] // 2 * 2, : out.shape[1] // 2 * 2]  # yuv420p: even sides

        try:
            def styled(strokes, frame, k: int):
                """The frame's strokes after ``--style`` (kept in ``styled_dir``), or as they are."""
                if style_cfg is None:
                    return strokes
                path = styled_dir / f"{k:06d}.npz"
                if path.is_file():
                    return load_strokes(path)
                result = stylize_run(strokes, args.style, frame, style_cfg).strokes
                save_strokes(result, path)
                return result

            def picture_of(strokes) -> np.ndarray:
                return render_painting(strokes.stroke(), strokes.params, strokes.height, strokes.width,
                                       strokes.canvas_colour).transpose(1, 2, 0)

            for k, frame in zip(range(done), clip.frames()):  # the frames painted before (--resume)
                s = styled(load_strokes(strokes_dir / f"{k:06d}.npz"), frame, k)
                writer.append_data(show(picture_of(s), frame))
            inputs = []

            def remember(frames):
                for f in frames:
                    inputs.append(f)
                    yield f

            def painted_frames():
                """``(input frame, VideoFrame)`` in frame order, painted here or on the cluster."""
                if client is None:
                    for result in paint_video(remember(frames), cfg, video, first_index=done, previous=previous):
                        yield inputs.pop(0), result
                    return
                from ..video.chunks import collect, submit_chunks

                chunks = submit_chunks(client, frames, cfg, video, first_index=done, previous=previous)
                counts.append(len(chunks))
                yield from zip(clip.frames(done), collect(client, chunks))

            counts = []  # chunks sent to the cluster
            try:
                for frame, result in painted_frames():
                    strokes = dataclasses.replace(result.strokes, metadata={
                        **result.strokes.metadata, "source": str(args.video), "source_frame": clip.indices[result.index],
                        "command": command})
                    save_strokes(strokes, strokes_dir / f"{result.index:06d}.npz")
                    picture = result.picture
                    if style_cfg is not None:
                        picture = picture_of(styled(strokes, frame, result.index))
                    if args.save_frames:
                        write_image(frames_dir / f"{result.index:06d}.png", picture)
                    writer.append_data(show(picture, frame))
                    painted += 1
                    fresh += result.fresh
                    bar.set_postfix(frame_s=f"{result.seconds:.2f}", refresh=False)
                    bar.update(1)
            except KeyboardInterrupt:
                interrupted = True
        finally:
            bar.close()
            writer.close()
    total = done + painted
    seconds = time.perf_counter() - start
    print(f"painted {total} of {len(clip)} frames of {args.video} ({painted} now, {fresh} fresh paintings) "
          f"in {seconds:.1f} s ({seconds / max(painted, 1):.2f} s per frame)")
    print(f"  wrote {mp4}\n  wrote {strokes_dir}/ ({total} strokes files)")
    if counts:
        print(f"  on the Dask cluster: {counts[0]} chunk{'s' * (counts[0] != 1)} (the clip split at its scene cuts)")
    if style_cfg is not None:
        print(f"  wrote {styled_dir}/ (the frames' strokes after --style)")
    if args.save_frames:
        print(f"  wrote {frames_dir}/")
    if interrupted:
        print(f"{PROG}: interrupted: {total} frames kept; --resume continues", file=sys.stderr)
        return 130
    return 0


COMMAND = Command(
    name="paint-video",
    summary="paint a video clip, strokes moving with the picture",
    description="Paint a clip frame by frame: the first frame as paint does, each next one from "
    "the strokes of\nthe frame before, moved along the optical flow and refined (a scene cut starts "
    "anew). Writes to --out:\n  <name>_painted.mp4       the painted clip (same frame rate)\n"
    "  <name>_strokes/000000.npz ...  each frame's strokes (render-hires, export-svg work on them)\n"
    "  <name>_frames/000000.png  ...  each painted frame (with --save-frames)\n"
    "  <name>_stylized_strokes/  ...  each frame's strokes restyled (with --style: the clip shows them)\n"
    "Ctrl-C keeps every finished frame and writes the clip so far (exit status 130); --resume "
    "continues.",
    add_arguments=add_paint_video_arguments,
    run=run_paint_video,
    epilog="examples:\n  neuralpaint paint-video --video test_images/bigbuckbunny_320x180.mp4 --end 2s\n"
    "  neuralpaint paint-video --video clip.mp4 --stroke watercolor --max-strokes 400 --side-by-side\n"
    "  neuralpaint paint-video --video frames/ --fps 12 --save-frames --resume",
)
