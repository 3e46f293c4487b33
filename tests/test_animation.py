"""``neuralpaint.export.write_animation``: the painting stroke by stroke as MP4 and GIF."""
import numpy as np
import pytest

from neuralpaint.canvas.render import render_painting
from neuralpaint.errors import NeuralPaintError
from neuralpaint.export import frame_counts, write_animation
from neuralpaint.random_strokes import random_painting

W, H = 40, 30


def ffmpeg_available() -> bool:
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return False
    return True


def final_render(strokes, height, width) -> np.ndarray:
    canvas = render_painting(strokes.stroke(), strokes.params_tensor(), height, width, strokes.canvas_colour)
    return canvas.permute(1, 2, 0).numpy()


def test_frame_schedule():
    assert frame_counts(10, 100) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert frame_counts(10, 4) == [0, 3, 5, 8, 10]  # ceil(i * 10 / 4)
    assert frame_counts(1000, 100)[-1] == 1000 and len(frame_counts(1000, 100)) == 101
    assert frame_counts(0, 100) == [0]


def test_animation_of_a_random_painting(tmp_path):
    import imageio.v3 as iio

    strokes = random_painting("oilpaintbrush", 10, W, H, seed=3)
    mp4, gif = tmp_path / "anim" / "a.mp4", tmp_path / "anim" / "a.gif"
    write_animation(strokes, H, W, mp4, gif, max_frames=100, fps=20)
    assert mp4.is_file() and gif.is_file()
    assert sorted(p.name for p in mp4.parent.iterdir()) == ["a.gif", "a.mp4"]  # no temporary files

    frames = iio.imread(gif, index=None)  # (n, h, w, 3|4)
    assert frames.shape[1:3] == (H, W)
    assert 2 <= frames.shape[0] <= 11 + 3  # blank + one per stroke (identical frames may merge)
    first, last = frames[0][..., :3] / 255.0, frames[-1][..., :3] / 255.0
    assert np.abs(first - 1.0).max() < 0.02  # the bare white canvas
    assert np.abs(last - final_render(strokes, H, W)).mean() < 0.03  # the finished painting

    assert ffmpeg_available(), "imageio-ffmpeg (a dependency) bundles ffmpeg: the MP4 must be written"
    video = iio.imread(mp4, plugin="pyav") if _has_pyav() else _read_mp4(mp4)
    assert video.shape[1:3] == (H, W)
    assert video.shape[0] == 11 + 20  # 11 frames, then the final one held 1 s at 20 fps
    assert np.abs(video[-1] / 255.0 - final_render(strokes, H, W)).mean() < 0.05


def _has_pyav() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def _read_mp4(path) -> np.ndarray:
    import imageio.v2 as imageio

    with imageio.get_reader(path, format="FFMPEG") as reader:
        return np.stack([frame for frame in reader.iter_data()])


def test_odd_sizes_few_frames_and_a_small_gif(tmp_path):
    import imageio.v3 as iio

    strokes = random_painting("rectangle", 30, 41, 31, seed=0)
    mp4, gif = tmp_path / "odd.mp4", tmp_path / "odd.gif"
    write_animation(strokes, 31, 41, mp4, gif, max_frames=5, fps=10, gif_max_side=20)
    frames = iio.imread(gif, index=None)
    assert frames.shape[1:3] == (15, 20)  # longer side 20, aspect kept
    assert 2 <= frames.shape[0] <= 6
    assert ffmpeg_available()
    video = _read_mp4(mp4)
    assert video.shape[1:3] == (32, 42)  # padded to even sides for yuv420p
    assert video.shape[0] == 6 + 10


def test_no_strokes_is_the_blank_canvas(tmp_path):
    import imageio.v3 as iio

    strokes = random_painting("watercolor", 0, W, H, seed=0, canvas_colour=(0.0, 0.0, 0.0))
    write_animation(strokes, H, W, tmp_path / "e.mp4", tmp_path / "e.gif")
    frames = iio.imread(tmp_path / "e.gif", index=None)
    assert frames.shape[0] == 1 and frames[..., :3].max() == 0
    assert (tmp_path / "e.mp4").stat().st_size > 0


def test_bad_settings(tmp_path):
    strokes = random_painting("rectangle", 3, W, H, seed=0)
    with pytest.raises(NeuralPaintError, match="max_frames"):
        write_animation(strokes, H, W, tmp_path / "x.mp4", tmp_path / "x.gif", max_frames=0)
    assert not list(tmp_path.iterdir())
