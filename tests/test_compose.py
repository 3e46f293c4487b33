"""Composing from label maps (issue 26, in progress): ``neuralpaint labels``, ``make_labels``,
``read_label_map`` (tiny sizes)."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from helpers import assert_user_error, run_cli
from neuralpaint.composition import LABEL_COLOURS, label_picture, make_labels, read_label_map
from neuralpaint.errors import NeuralPaintError


def blobs(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """A small "painting": sky-blue top, green bottom-left, ochre bottom-right, a dark disc, plus noise."""
    rng = np.random.default_rng(seed)
    image = np.empty((height, width, 3), np.float32)
    image[: height // 2] = (0.5, 0.7, 0.9)
    image[height // 2:, : width // 2] = (0.2, 0.5, 0.2)
    image[height // 2:, width // 2:] = (0.8, 0.6, 0.2)
    ys, xs = np.mgrid[0:height, 0:width]
    image[(ys - height // 4) ** 2 + (xs - 3 * width // 4) ** 2 < (height // 6) ** 2] = (0.1, 0.1, 0.15)
    return np.clip(image + rng.normal(0, 0.03, image.shape), 0, 1).astype(np.float32)


def test_labels_are_deterministic_with_k_regions_and_a_legend():
    image = blobs()
    index, palette, legend = make_labels(image, 4, seed=3)
    again, palette2, legend2 = make_labels(image, 4, seed=3)
    np.testing.assert_array_equal(index, again)
    assert legend == legend2 and (palette == palette2).all()
    assert index.shape == (48, 64) and index.dtype == np.int32
    assert sorted(np.unique(index)) == [0, 1, 2, 3]
    assert [row["region"] for row in legend] == [0, 1, 2, 3]
    assert [row["colour"] for row in legend] == list(LABEL_COLOURS[:4])
    assert sum(row["area"] for row in legend) == pytest.approx(1.0, abs=1e-9)
    areas = [row["area"] for row in legend]
    assert areas == sorted(areas, reverse=True)  # region 0 is the largest
    # the four blobs are the four regions; the sky is the largest, and its mean colour is sky blue
    for row in legend:  # the mean colour is the image's mean over the region
        mean = np.round(image[index == row["region"]].astype(np.float64).mean(axis=0) * 255).astype(int)
        assert row["mean_colour"] == "#%02x%02x%02x" % tuple(mean)
    sky_blue = np.array([0.5, 0.7, 0.9]) * 255
    assert np.abs(np.array([int(legend[0]["mean_colour"][i:i + 2], 16) for i in (1, 3, 5)]) - sky_blue).max() <= 3
    sky = index[: 24, : 24]
    assert (sky == 0).mean() > 0.95
    np.testing.assert_array_equal(label_picture(index, palette)[0, 0], palette[0])


def test_labels_of_noise_depend_on_the_seed_alone():
    """On noise k-means has many answers: the seed picks one, every time."""
    noise = np.random.default_rng(5).random((40, 40, 3)).astype(np.float32)
    runs = [make_labels(noise, 8, seed=s)[0] for s in (0, 0, 1)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert (runs[0] != runs[2]).any()


def test_labels_are_smoothed():
    """Salt noise of single pixels does not make specks in the map."""
    image = blobs()
    rng = np.random.default_rng(1)
    specks = rng.random(image.shape[:2]) < 0.02
    image[specks] = rng.random((int(specks.sum()), 3))
    index, _, _ = make_labels(image, 4, seed=0)
    n_pieces = sum(cv2.connectedComponents((index == i).astype(np.uint8), connectivity=8)[0] - 1 for i in range(4))
    assert n_pieces <= 6


def test_labels_refuse_bad_region_counts():
    for k in (1, 33):
        with pytest.raises(NeuralPaintError, match="2..32 regions"):
            make_labels(blobs(), k)
    with pytest.raises(NeuralPaintError, match="single colour"):
        make_labels(np.full((16, 16, 3), 0.5, np.float32), 3, position_weight=0)


def test_read_label_map_snaps_antialiased_edges(tmp_path):
    """Two flat regions with a blurred (anti-aliased) edge and a few stray specks come back as two
    colours, every pixel one of them, each edge pixel the colour it holds more of."""
    a, b = np.array([230, 25, 75]), np.array([60, 180, 75])
    H, W = 40, 60
    ys, xs = np.mgrid[0:H, 0:W]
    inside = xs + 0.5 * ys < 35  # a slanted edge
    picture = np.where(inside[..., None], a, b).astype(np.float32)
    blurred = cv2.GaussianBlur(picture, (7, 7), 1.5)
    blurred[5, 50] = (250, 250, 250)  # a speck of another colour, one pixel
    path = tmp_path / "edited.png"
    Image.fromarray(np.round(blurred).astype(np.uint8)).save(path)
    assert len(np.unique(np.round(blurred).reshape(-1, 3), axis=0)) > 10  # really anti-aliased

    index, colours = read_label_map(path)
    assert colours.shape == (2, 3) and colours.dtype == np.uint8
    assert {tuple(c) for c in colours} == {tuple(a), tuple(b)}
    snapped = colours[index]
    assert np.isin(index, [0, 1]).all()
    edge = (blurred != picture).any(axis=2)
    assert edge.sum() > 40
    far = ~cv2.dilate(edge.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    np.testing.assert_array_equal(snapped[far & inside], np.broadcast_to(a, snapped[far & inside].shape))
    np.testing.assert_array_equal(snapped[far & ~inside], np.broadcast_to(b, snapped[far & ~inside].shape))
    # on the blurred edge: a pixel far nearer one colour takes that one
    d = np.linalg.norm(np.round(blurred)[..., None, :] - np.stack([a, b]), axis=-1)  # (H, W, 2)
    clear = edge & (np.abs(d[..., 0] - d[..., 1]) > 20)
    assert clear.sum() > 20
    a_index = 0 if (colours[0] == a).all() else 1
    expected = np.where(d[..., 0] < d[..., 1], a_index, 1 - a_index)
    np.testing.assert_array_equal(index[clear], expected[clear])


def test_read_label_map_refuses_too_many_colours(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "noise.png"
    Image.fromarray(np.repeat(np.repeat(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8), 8, 0), 8, 1)).save(path)
    with pytest.raises(NeuralPaintError, match="at most 32"):
        read_label_map(path)


def test_labels_command_writes_the_map_and_its_legend(tmp_path, capsys):
    photo = tmp_path / "painting.png"
    Image.fromarray(np.round(blobs() * 255).astype(np.uint8)).save(photo)
    out = tmp_path / "maps" / "mine.png"
    status, text, err = run_cli(capsys, "labels", "--style", photo, "--regions", "4", "--size", "32", "-o", out)
    assert status == 0, err
    assert "4 regions" in text and "#e6194b" in text
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["size"] == [24, 32] and len(record["regions"]) == 4
    assert sum(r["area"] for r in record["regions"]) == pytest.approx(1.0)
    index, colours = read_label_map(out)  # flat colours: read back exactly
    assert [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in colours] == [r["colour"] for r in record["regions"]]
    first = out.read_bytes()
    assert run_cli(capsys, "labels", "--style", photo, "--regions", "4", "--size", "32", "-o", out)[0] == 0
    assert out.read_bytes() == first  # deterministic


def test_labels_command_takes_a_shipped_style_by_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, text, err = run_cli(capsys, "labels", "--style", "wheat_field", "--regions", "3", "--size", "48")
    assert status == 0, err
    assert (tmp_path / "wheat_field_labels.png").is_file() and (tmp_path / "wheat_field_labels.json").is_file()


@pytest.mark.parametrize("argv, words", [
    (["--style", "no_such_painting"], ["no_such_painting", "starry_night"]),
    (["--style", "missing.png"], ["missing.png", "no such file"]),
    (["--style", "wheat_field", "--regions", "1"], ["2..32 regions"]),
    (["--style", "wheat_field", "--regions", "40"], ["2..32 regions"]),
    (["--style", "wheat_field", "-o", "labels.jpg"], ["must be a .png"]),
    (["--style", "wheat_field", "--size", "0"], ["--size"]),
    (["--style", "wheat_field", "--regions", "4", "--first-colour", "30"], ["label colours"]),
])
def test_labels_command_bad_input_is_one_line(tmp_path, capsys, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    status, _, err = run_cli(capsys, "labels", *argv)
    assert_user_error(status, err, *words)


# ---- per-region Gram matrices --------------------------------------------------------------------
def test_region_gram_of_an_all_ones_mask_is_the_plain_gram():
    import torch

    from neuralpaint.composition.grams import region_grams
    from neuralpaint.style.losses import gram

    feats = torch.randn(1, 5, 6, 8, generator=torch.Generator().manual_seed(0))
    for masks in (torch.ones(1, 6, 8), torch.ones(2, 24, 32)):  # at the layer's size, or the image's
        out = region_grams(feats, masks)
        assert out.shape == (masks.shape[0], 5, 5)
        for g in out:
            torch.testing.assert_close(g, gram(feats)[0])


def test_region_grams_of_a_binary_mask_are_the_grams_of_the_region_alone():
    import torch

    from neuralpaint.composition.grams import region_grams, region_masks
    from neuralpaint.style.losses import gram

    feats = torch.randn(4, 6, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64, requires_grad=True)
    index = np.zeros((12, 16), np.int64)
    index[:, 6:] = 1  # at the image's resolution: columns 0..2 of the layer are region 0, 3..7 region 1
    masks = region_masks(index).double()
    assert masks.shape == (2, 12, 16)
    out = region_grams(feats, masks)
    torch.testing.assert_close(out[0], gram(feats[None, :, :, :3])[0])
    torch.testing.assert_close(out[1], gram(feats[None, :, :, 3:])[0])
    assert torch.autograd.gradcheck(lambda f: region_grams(f, masks), (feats,))


def test_region_grams_refuse_empty_regions_and_bad_shapes():
    import torch

    from neuralpaint.composition.grams import region_grams

    feats = torch.randn(3, 4, 4)
    masks = torch.zeros(2, 8, 8)
    masks[0] = 1
    with pytest.raises(NeuralPaintError, match="region 1 covers 0.00 of the 4x4"):
        region_grams(feats, masks)
    with pytest.raises(NeuralPaintError, match=r"masks of shape \(R, H, W\), got \(8, 8\)"):
        region_grams(feats, masks[0])
    with pytest.raises(NeuralPaintError, match=r"features of shape .* got \(2, 3, 4, 4\)"):
        region_grams(torch.randn(2, 3, 4, 4), masks[:1])
    with pytest.raises(NeuralPaintError, match=r"\[0, 1\]"):
        region_grams(feats, masks[:1] * 2)
