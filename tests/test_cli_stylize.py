"""``neuralpaint stylize``: the command over ``neuralpaint.style.stylize`` (tiny sizes)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from helpers import assert_user_error, have_mypaint, run_cli
from neuralpaint.canvas.render import render_painting
from neuralpaint.imagefiles import read_image
from neuralpaint.strokesfile import load_strokes


def paint_tiny(out, noise: tuple[int, int], seed: int, *options: str):
    """``paint`` a 64x48 photo of upscaled random noise (``noise`` = its rows, columns) into
    ``out`` at 48 px; returns the strokes file (its metadata records the photo)."""
    from neuralpaint.cli import main

    photo = out / "photo.png"
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (*noise, 3), dtype=np.uint8)).resize((64, 48)).save(photo)
    assert main(["paint", "--img", str(photo), "--size", "48", "--max-divide", "2", *options,
                 "--no-animation", "-q", "--out", str(out)]) == 0
    return out / "photo_strokes.npz"


@pytest.fixture(scope="module")
def painting(tmp_path_factory):
    """A tiny painting written by ``paint`` (strokes file + the photo it recorded)."""
    return paint_tiny(tmp_path_factory.mktemp("painting"), (24, 32), 0, "--max-strokes", "12", "--refine-steps", "5")


def psnr(a, b):
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return 10 * np.log10(1.0 / mse) if mse > 0 else np.inf


def test_palette_mode_writes_a_strokes_file_that_rerenders(painting, tmp_path, capsys):
    status, out, err = run_cli(capsys, "stylize", painting, "--style", "starry_night", "--mode", "palette",
                               "--out", tmp_path, "-q")
    assert status == 0, err
    for name in ("photo_stylized.png", "photo_stylized_strokes.npz", "photo_stylized_animated.gif"):
        assert (tmp_path / name).is_file(), out
    styled = load_strokes(tmp_path / "photo_stylized_strokes.npz")
    assert styled.metadata["stylize"]["style"].endswith("starry_night.jpg")  # recorded by the library
    before = load_strokes(painting)
    assert styled.n == before.n and styled.stroke_type == before.stroke_type
    stroke = styled.stroke()
    shape = [i for i in range(styled.params.shape[1]) if i not in range(styled.params.shape[1])[stroke.colour]]
    np.testing.assert_array_equal(styled.params[:, shape], before.params[:, shape])
    picture = render_painting(stroke, styled.params_tensor(), styled.height, styled.width, styled.canvas_colour)
    png = read_image(tmp_path / "photo_stylized.png")
    assert psnr(picture.permute(1, 2, 0).numpy(), png) >= 40


def test_colour_mode_keeps_shapes(painting, tmp_path, capsys):
    status, _, err = run_cli(capsys, "stylize", painting, "--style", "brick", "--mode", "colour", "--steps", "1",
                             "--no-animation", "--out", tmp_path, "-q")
    assert status == 0, err
    styled, before = load_strokes(tmp_path / "photo_stylized_strokes.npz"), load_strokes(painting)
    stroke = styled.stroke()
    shape = [i for i in range(styled.params.shape[1]) if i not in range(styled.params.shape[1])[stroke.colour]]
    np.testing.assert_array_equal(styled.params[:, shape], before.params[:, shape])
    assert not np.array_equal(styled.params, before.params)


@pytest.mark.parametrize("problem, words", [("missing", ["no such file"]), ("corrupt", ["not an image"]),
                                            ("tiny", ["1x1"])])
def test_bad_style_image_is_one_line(painting, tmp_path, capsys, problem, words):
    style = tmp_path / "style.png"
    if problem == "corrupt":
        style.write_bytes(b"not an image at all")
    elif problem == "tiny":
        Image.new("RGB", (1, 1)).save(style)
    status, _, err = run_cli(capsys, "stylize", painting, "--style", style, "--mode", "palette", "--out", tmp_path)
    assert_user_error(status, err, "style.png", *words)


def test_missing_vgg_weights_say_how_to_get_them(painting, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_cache"))
    status, _, err = run_cli(capsys, "stylize", painting, "--style", "brick", "--backbone", "vgg19", "--out", tmp_path)
    assert_user_error(status, err, "vgg19")


HAVE_MYPAINT = have_mypaint()


@pytest.fixture(scope="module")
def mypaint_painting(tmp_path_factory):
    """A tiny MyPaint painting written by ``paint`` (painted through the shipped renderer net)."""
    return paint_tiny(tmp_path_factory.mktemp("mypaint_painting"), (12, 16), 1, "--stroke", "mypaint",
                      "--max-strokes", "6", "--iters-per-stroke", "3")


@pytest.mark.skipif(not HAVE_MYPAINT, reason="libmypaint or the MyPaint brushes are not installed")
@pytest.mark.parametrize("mode", ["palette", "colour", "texture"])
def test_stylize_mypaint_strokes(mypaint_painting, tmp_path, capsys, mode):
    """MyPaint strokes stylise through the renderer net; the picture is libmypaint's render of the
    new strokes (so it re-renders from the strokes file exactly), colour modes keep the shapes."""
    status, _, err = run_cli(capsys, "stylize", mypaint_painting, "--style", "starry_night", "--mode", mode,
                             "--steps", "2", "--no-animation", "--out", tmp_path, "-q")
    assert status == 0, err
    styled, before = load_strokes(tmp_path / "photo_stylized_strokes.npz"), load_strokes(mypaint_painting)
    assert styled.stroke_type == "mypaint" and styled.n == before.n
    assert styled.stroke_options == before.stroke_options
    stroke = styled.stroke()
    colour = list(range(styled.params.shape[1]))[stroke.colour]
    shape = [i for i in range(styled.params.shape[1]) if i not in colour]
    assert not np.array_equal(styled.params[:, colour], before.params[:, colour])
    if mode == "texture":
        assert not np.array_equal(styled.params[:, shape], before.params[:, shape])
    else:
        np.testing.assert_array_equal(styled.params[:, shape], before.params[:, shape])
    picture = render_painting(stroke, styled.params_tensor(), styled.height, styled.width, styled.canvas_colour)
    assert psnr(picture.permute(1, 2, 0).numpy(), read_image(tmp_path / "photo_stylized.png")) >= 40


def test_stylize_a_grid_mode_painting(tmp_path, capsys):
    """A painting of ``paint --m-grid`` (one MxM level) stylises like a progressive one."""
    photo = tmp_path / "grid.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (8, 8, 3), dtype=np.uint8)).resize((40, 40)).save(photo)
    status, _, err = run_cli(capsys, "paint", "--img", photo, "--stroke", "rectangle", "--size", "40", "--m-grid", "2",
                             "--max-strokes", "8", "--refine-steps", "2", "--no-animation", "-q", "--out", tmp_path)
    assert status == 0, err
    painted = load_strokes(tmp_path / "grid_strokes.npz")
    assert painted.metadata["config"]["m_grid"] == 2
    status, _, err = run_cli(capsys, "stylize", tmp_path / "grid_strokes.npz", "--style", "wheat_field",
                             "--mode", "colour", "--steps", "2", "--no-animation", "--out", tmp_path / "styled", "-q")
    assert status == 0, err
    styled = load_strokes(tmp_path / "styled" / "grid_stylized_strokes.npz")
    assert styled.n == painted.n and not np.array_equal(styled.params, painted.params)
