"""Painting video (``neuralpaint.video``, ``neuralpaint paint-video``) at tiny sizes: strokes follow
the motion, a still clip stays still, a scene cut starts anew, Ctrl-C and --resume, every kind of
input, and bad input as one error line."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import assert_user_error, run_cli
from neuralpaint import NeuralPaintError
from neuralpaint.imagefiles import read_image, write_image
from neuralpaint.painter import PaintConfig
from neuralpaint.strokes import get_stroke_type
from neuralpaint.strokesfile import load_strokes
from neuralpaint.video import VideoConfig, open_frames, paint_video
from neuralpaint.video.flow import carry_strokes, cut_distance, optical_flow

SMALL = dict(size=48, max_strokes=20, max_divide=2, iters_per_stroke=10, refine_steps=10)
FAST = VideoConfig(frame_steps=5)


def pan(n: int, step: int, size=(40, 64)) -> list[np.ndarray]:
    """``n`` frames of a window ``size`` moving right by ``step`` pixels per frame over a photo."""
    photo = read_image("test_images/coffee.png")[100:100 + size[0]]
    return [np.ascontiguousarray(photo[:, 40 + k * step: 40 + k * step + size[1]]) for k in range(n)]


def test_strokes_carried_along_a_pan_move_with_it():
    a, b = pan(2, 3, (96, 128))  # the picture moves 3 pixels to the left
    flow = optical_flow(a, b)
    assert abs(float(np.median(flow[16:-16, 16:-16, 0])) + 3) < 0.25
    stroke = get_stroke_type("markerpen")
    params = stroke.sample_painting(30, torch.Generator().manual_seed(0))
    params[:, [0, 2, 4]] = params[:, [0, 2, 4]] * 0.6 + 0.2  # inside, away from the edges
    params[:, [1, 3, 5]] = params[:, [1, 3, 5]] * 0.6 + 0.2
    moved = carry_strokes(stroke, params, flow)
    dx = (moved[:, [0, 2, 4]] - params[:, [0, 2, 4]]) * 128
    dy = (moved[:, [1, 3, 5]] - params[:, [1, 3, 5]]) * 96
    assert (dx + 3).abs().max() < 1.0 and dy.abs().max() < 1.0  # every point, within a pixel
    assert torch.equal(moved[:, 6:], params[:, 6:])  # radii, colours, alpha untouched
    as_array = carry_strokes(stroke, params.numpy(), flow)
    np.testing.assert_allclose(as_array, moved.numpy(), atol=1e-6)


def test_painted_strokes_follow_a_pan():
    frames = pan(3, 4, (48, 64))
    results = list(paint_video(frames, PaintConfig(stroke="rectangle", **SMALL), VideoConfig(frame_steps=0)))
    assert [r.fresh for r in results] == [True, False, False]
    x0 = results[0].strokes.params[:, 0] * 64
    x2 = results[2].strokes.params[:, 0] * 64
    inside = (x0 > 12) & (x0 < 52)  # strokes whose centre stays in view
    assert np.abs(np.median(x2[inside] - x0[inside]) + 8) < 1.0  # 2 frames x 4 pixels to the left


def test_a_still_clip_gives_nearly_the_same_strokes_on_every_frame():
    frame = pan(1, 0)[0]
    results = list(paint_video([frame] * 4, PaintConfig(stroke="rectangle", **SMALL), FAST))
    assert [r.fresh for r in results] == [True, False, False, False]
    first = results[0].strokes.params
    for r in results[1:]:
        assert r.strokes.n == 20
        # each frame's few steps refine a little further: no stroke jumps, the picture holds still
        assert np.abs(r.strokes.params - first).mean() < 0.02
        assert np.abs(r.strokes.params - first).max() < 0.1
        assert np.abs(r.picture - results[0].picture).mean() < 0.01


def test_a_scene_cut_starts_a_new_painting():
    cat = read_image("test_images/chelsea.png")[:200, :300]
    coffee = read_image("test_images/coffee.png")[:200, :300]
    assert cut_distance(cat, coffee) > VideoConfig.cut_threshold > cut_distance(cat, cat[:, ::-1].copy())
    results = list(paint_video([cat, cat, coffee, coffee], PaintConfig(stroke="rectangle", **SMALL), FAST))
    assert [r.fresh for r in results] == [True, False, True, False]
    assert all(r.strokes.n == 20 for r in results)


def test_paint_video_is_deterministic_and_continues_where_it_stopped():
    frames = pan(4, 2)
    cfg = PaintConfig(stroke="rectangle", seed=3, **SMALL)
    whole = list(paint_video(frames, cfg, FAST))
    again = list(paint_video(frames, cfg, FAST))
    for a, b in zip(whole, again):
        np.testing.assert_array_equal(a.strokes.params, b.strokes.params)
    rest = list(paint_video(frames[2:], cfg, FAST, first_index=2, previous=(frames[1], whole[1].strokes)))
    assert [r.index for r in rest] == [2, 3]
    for a, b in zip(whole[2:], rest):
        np.testing.assert_array_equal(a.strokes.params, b.strokes.params)


def clip_file(tmp_path, frames, name="clip.mp4", fps=10):
    import imageio.v3 as iio

    path = tmp_path / name
    pixels = np.stack([np.clip(np.rint(f * 255), 0, 255).astype(np.uint8) for f in frames])
    if path.suffix == ".gif":
        iio.imwrite(path, pixels, duration=1000 / fps, loop=0)
    else:
        iio.imwrite(path, pixels, fps=fps, codec="libx264", macro_block_size=1)
    return path


def video_args(video, out, *extra):
    return ("paint-video", "--video", video, "--out", out, "--stroke", "rectangle", "--size", "48",
            "--max-strokes", "20", "--max-divide", "2", "--iters-per-stroke", "10", "--refine-steps", "10",
            "--frame-steps", "5", "-q", *extra)


@pytest.mark.parametrize("kind", ["mp4", "gif", "folder"])
def test_paint_video_reads_a_video_a_gif_and_a_folder(kind, tmp_path, capsys):
    import imageio.v3 as iio

    frames = pan(5, 2)
    if kind == "folder":
        video = tmp_path / "frames"
        for k, f in enumerate(frames):
            write_image(video / f"f{k:03d}.png", f)
    else:
        video = clip_file(tmp_path, frames, f"clip.{kind}")
    out = tmp_path / "out"
    status, stdout, err = run_cli(capsys, *video_args(video, out, "--save-frames", "--start", "1", "--side-by-side"))
    assert status == 0, err
    name = video.stem if kind != "folder" else "frames"
    painted = iio.imread(out / f"{name}_painted.mp4", index=None)
    assert painted.shape == (4, 30, 96, 3)  # frames 1..4, input beside painting, 48x30 each
    strokes = sorted((out / f"{name}_strokes").glob("*.npz"))
    assert [p.stem for p in strokes] == ["000000", "000001", "000002", "000003"]
    s = load_strokes(strokes[-1])
    assert s.n == 20 and (s.width, s.height) == (48, 30) and s.metadata["source_frame"] == 4
    assert sorted(p.name for p in (out / f"{name}_frames").iterdir()) == [p.stem + ".png" for p in strokes]


def test_ctrl_c_keeps_the_finished_frames_and_resume_finishes_the_same_clip(tmp_path, capsys, monkeypatch):
    import imageio.v3 as iio

    import neuralpaint.video.painting as painting

    video = clip_file(tmp_path, pan(5, 2))
    whole_out, out = tmp_path / "whole", tmp_path / "out"
    assert run_cli(capsys, *video_args(video, whole_out))[0] == 0
    real = painting.paint_video

    def interrupted(*args, **kwargs):
        for k, frame in enumerate(real(*args, **kwargs)):
            if k == 3:
                raise KeyboardInterrupt
            yield frame

    monkeypatch.setattr("neuralpaint.video.paint_video", interrupted)
    status, _, err = run_cli(capsys, *video_args(video, out))
    assert status == 130 and "interrupted: 3 frames kept" in err
    assert len(list((out / "clip_strokes").glob("*.npz"))) == 3
    assert iio.imread(out / "clip_painted.mp4", index=None).shape[0] == 3  # the clip so far
    monkeypatch.setattr("neuralpaint.video.paint_video", real)
    status, stdout, err = run_cli(capsys, *video_args(video, out, "--resume"))
    assert status == 0, err
    assert "5 of 5 frames" in stdout and "(2 now" in stdout
    assert iio.imread(out / "clip_painted.mp4", index=None).shape[0] == 5
    for k in range(5):
        a = load_strokes(whole_out / "clip_strokes" / f"{k:06d}.npz")
        b = load_strokes(out / "clip_strokes" / f"{k:06d}.npz")
        np.testing.assert_array_equal(a.params, b.params)
    status, _, err = run_cli(capsys, *video_args(video, out, "--resume", "--max-strokes", "21"))
    assert_user_error(status, err, "other settings")


def test_bad_input_is_one_error_line(tmp_path, capsys):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    empty = tmp_path / "empty"
    empty.mkdir()
    mixed = tmp_path / "mixed"
    write_image(mixed / "a.png", np.zeros((20, 30, 3)))
    write_image(mixed / "b.png", np.zeros((22, 30, 3)))
    good = clip_file(tmp_path, pan(3, 1))
    broken = tmp_path / "broken.mp4"  # the start of a real file: its codec data cut off
    broken.write_bytes(good.read_bytes()[:300])
    cases = [
        (broken, (), ["broken.mp4"]),
        (tmp_path / "missing.mp4", (), ["missing.mp4", "no such file"]),
        (text, (), ["notes.mp4", "not a video"]),
        (empty, (), ["no image files"]),
        (mixed, (), ["b.png", "same size"]),
        (good, ("--start", "7"), ["no frames"]),
        (good, ("--end", "soon"), ["--end", "soon"]),
        (good, ("--fps", "0"), ["--fps"]),
        (good, ("--cut-threshold", "2"), ["cut threshold"]),
    ]
    for video, extra, words in cases:
        status, _, err = run_cli(capsys, *video_args(video, tmp_path / "o", *extra))
        assert_user_error(status, err, *words)


def test_open_frames_chooses_frames_by_number_time_and_rate(tmp_path):
    video = clip_file(tmp_path, pan(10, 1), fps=10)
    assert open_frames(video).indices == list(range(10))
    assert open_frames(video, start="0.3s", end="6").indices == [3, 4, 5]
    clip = open_frames(video, fps=5)
    assert clip.indices == [0, 2, 4, 6, 8] and clip.fps == pytest.approx(5)
    frames = list(clip.frames(skip=3))
    assert len(frames) == 2 and frames[0].shape == (40, 64, 3) and frames[0].dtype == np.float32
    with pytest.raises(NeuralPaintError, match="negative"):
        open_frames(video, start="-1")


def test_style_restyles_every_frame_and_the_clip_shows_it(tmp_path, capsys):
    import imageio.v3 as iio

    video = clip_file(tmp_path, pan(3, 2))
    out = tmp_path / "out"
    status, stdout, err = run_cli(capsys, *video_args(video, out, "--style", "starry_night", "--mode", "palette",
                                                     "--save-frames"))
    assert status == 0, err
    for k in range(3):
        plain = load_strokes(out / "clip_strokes" / f"{k:06d}.npz")
        styled = load_strokes(out / "clip_stylized_strokes" / f"{k:06d}.npz")
        assert styled.n == plain.n and styled.metadata["stylize"]["style"].endswith("starry_night.jpg")
        assert not np.array_equal(styled.params, plain.params)
        shown = read_image(out / "clip_frames" / f"{k:06d}.png")
        from neuralpaint.canvas.render import render_painting

        expected = render_painting(styled.stroke(), styled.params, styled.height, styled.width,
                                   styled.canvas_colour).transpose(1, 2, 0)
        assert np.abs(shown - expected).max() <= 1 / 255 + 1e-6  # the frame is the restyled painting
    assert iio.imread(out / "clip_painted.mp4", index=None).shape[0] == 3
    status, _, err = run_cli(capsys, *video_args(video, out, "--style", "no_such_style"))
    assert_user_error(status, err, "no_such_style")
