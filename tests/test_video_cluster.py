"""``paint-video --cluster``: a clip with two hard cuts, split into three scenes painted by the two
worker processes of an in-test ``LocalCluster``, must give the very strokes (and pictures) of a
local ``paint-video`` run, frame for frame; an unreachable scheduler is one error line."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from helpers import assert_user_error, run_cli
from neuralpaint import cluster as cluster_module
from neuralpaint.imagefiles import read_image
from neuralpaint.strokesfile import load_strokes
from neuralpaint.video import VideoConfig
from neuralpaint.video.chunks import decode_frame, encode_frame
from neuralpaint.video.flow import cut_distance
from test_video import clip_file, video_args

distributed = pytest.importorskip("distributed", reason="the cluster extra: pip install 'neuralpaint[cluster]'")

FRAMES = 8
CUTS = (3, 6)  # cat, cat, cat | coffee, coffee, coffee | cat, cat


def scenes() -> list[np.ndarray]:
    """Eight 64x40 frames of two photos, each scene panning 2 pixels a frame."""
    cat = read_image("test_images/chelsea.png")[40:240:5, 40:440:5]
    coffee = read_image("test_images/coffee.png")[60:260:5, 40:440:5]

    def pan(photo, n, first=0):
        return [np.ascontiguousarray(photo[:, 2 * k: 2 * k + 64]) for k in range(first, first + n)]

    return pan(cat, 3) + pan(coffee, 3) + pan(cat, 2, 3)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    frames = scenes()
    assert min(cut_distance(frames[k - 1], frames[k]) for k in CUTS) > VideoConfig.cut_threshold
    assert max(cut_distance(frames[k - 1], frames[k]) for k in range(1, FRAMES) if k not in CUTS) < 0.1
    return clip_file(tmp_path_factory.mktemp("clip"), frames)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.CRITICAL) as local_cluster:
        yield local_cluster


def test_frames_travel_exactly():
    eight_bit = np.random.default_rng(0).integers(0, 256, (5, 7, 3)).astype(np.float32) / 255.0
    other = np.random.default_rng(1).random((5, 7, 3), dtype=np.float32)
    assert isinstance(encode_frame(eight_bit), bytes) and isinstance(encode_frame(other), np.ndarray)
    for frame in (eight_bit, other):
        back = decode_frame(encode_frame(frame))
        assert back.dtype == np.float32 and np.array_equal(back, frame)


def test_a_clip_painted_on_the_cluster_is_the_local_painting_frame_for_frame(clip, cluster, tmp_path, capsys):
    import imageio.v3 as iio

    local, remote = tmp_path / "local", tmp_path / "remote"
    extra = ("--save-frames", "--side-by-side")
    status, _, err = run_cli(capsys, *video_args(clip, local, *extra))
    assert status == 0, err
    status, stdout, err = run_cli(capsys, *video_args(clip, remote, *extra, "--cluster", cluster.scheduler_address))
    assert status == 0, err
    for k in range(FRAMES):
        a = load_strokes(local / "clip_strokes" / f"{k:06d}.npz")
        b = load_strokes(remote / "clip_strokes" / f"{k:06d}.npz")
        assert a.params.dtype == b.params.dtype and np.array_equal(a.params, b.params), k  # bit for bit
        assert (a.stroke_type, a.stroke_options, a.width, a.height) == (b.stroke_type, b.stroke_options, b.width,
                                                                        b.height)
        assert np.array_equal(a.canvas_colour, b.canvas_colour)
        assert a.metadata["fresh"] == (k in (0, *CUTS)) == b.metadata["fresh"], k
        assert "--cluster" in b.metadata["command"]  # the one difference: how it was run
        assert {**a.metadata, "command": None} == {**b.metadata, "command": None}, k
        assert (local / "clip_frames" / f"{k:06d}.png").read_bytes() == \
            (remote / "clip_frames" / f"{k:06d}.png").read_bytes(), k
    assert f"painted {FRAMES} of {FRAMES} frames" in stdout and "3 fresh paintings" in stdout
    assert "on the Dask cluster: 3 chunks" in stdout
    assert sorted(p.name for p in (remote / "clip_strokes").iterdir()) == [f"{k:06d}.npz" for k in range(FRAMES)]
    painted = iio.imread(remote / "clip_painted.mp4", index=None)
    assert painted.shape == (FRAMES, 30, 96, 3)  # every frame, input beside painting (48x30 each)
    assert np.array_equal(painted, iio.imread(local / "clip_painted.mp4", index=None))
    # --resume on the cluster: frames 0-4 kept, frame 5 carries on from frame 4 (mid-scene)
    resumed = tmp_path / "resumed"
    for k in range(5):
        target = resumed / "clip_strokes" / f"{k:06d}.npz"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((local / "clip_strokes" / f"{k:06d}.npz").read_bytes())
    status, stdout, err = run_cli(capsys, *video_args(clip, resumed, "--resume", "--cluster",
                                                      cluster.scheduler_address))
    assert status == 0, err
    assert "(3 now, 1 fresh paintings)" in stdout and "2 chunks" in stdout
    for k in range(5, FRAMES):
        assert np.array_equal(load_strokes(local / "clip_strokes" / f"{k:06d}.npz").params,
                              load_strokes(resumed / "clip_strokes" / f"{k:06d}.npz").params), k
    assert iio.imread(resumed / "clip_painted.mp4", index=None).shape[0] == FRAMES
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        assert not any(client.processing().values())  # nothing left running


def test_an_unreachable_scheduler_is_one_error_line(clip, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT", 1.0)
    out = tmp_path / "out"
    status, _, err = run_cli(capsys, *video_args(clip, out, "--cluster", "tcp://127.0.0.1:9"))
    assert_user_error(status, err, "cannot connect to the Dask scheduler at tcp://127.0.0.1:9")
    assert not out.exists() or not any(out.iterdir())  # stopped before anything was written
    monkeypatch.delenv(cluster_module.ENVIRONMENT, raising=False)
    status, _, err = run_cli(capsys, *video_args(clip, out, "--cluster"))
    assert_user_error(status, err, "DASK_SCHEDULER_ADDRESS")
