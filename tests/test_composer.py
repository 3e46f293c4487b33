"""``neuralpaint compose`` and ``neuralpaint.compose``: label maps painted region by region in the
manner of style paintings' regions (small sizes: the method is measured in scripts/bench_compose.py)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import assert_user_error, run_cli
from neuralpaint.composition import LABEL_COLOURS, ComposeConfig, compose, compose_run
from neuralpaint.composition.composer import match_regions, parse_style, style_map
from neuralpaint.composition.regions import RegionObjective, Source, feathered_masks, synthesise
from neuralpaint.errors import NeuralPaintError
from neuralpaint.painter import PaintConfig

RED, GREEN = (0.85, 0.15, 0.1), (0.1, 0.6, 0.2)


def rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], np.uint8)


def flat(height: int, width: int, colour) -> np.ndarray:
    return np.broadcast_to(np.asarray(colour, np.float32), (height, width, 3)).copy()


def save(path, picture: np.ndarray):
    picture = np.asarray(picture)
    if picture.dtype != np.uint8:
        picture = np.round(picture * 255).astype(np.uint8)
    Image.fromarray(picture).save(path)
    return path


def two_styles(tmp_path):
    """Two flat-colour "paintings", red and green, each one region: red's map in label colour 0,
    green's in label colour 1; and a new map with colour 0 on the left (the larger region, so region
    0) and 1 on the right."""
    c0, c1 = rgb(LABEL_COLOURS[0]), rgb(LABEL_COLOURS[1])
    red = save(tmp_path / "red.png", flat(40, 40, RED))
    green = save(tmp_path / "green.png", flat(40, 40, GREEN))
    red_map = save(tmp_path / "red_map.png", np.broadcast_to(c0, (40, 40, 3)).copy())
    green_map = save(tmp_path / "green_map.png", np.broadcast_to(c1, (40, 40, 3)).copy())
    new = np.zeros((48, 64, 3), np.uint8)
    new[:, :36], new[:, 36:] = c0, c1
    return f"{red}:{red_map}", f"{green}:{green_map}", save(tmp_path / "new.png", new)


SMALL = dict(steps=10, work_size=40, stroke="rectangle", max_strokes=24, max_divide=2, refine_steps=10,
             backbone="efficientnet_lite0", device="cpu")


def test_each_region_takes_its_own_paintings_colour(tmp_path):
    red, green, new = two_styles(tmp_path)
    result = compose_run(new, [red, green], ComposeConfig(steps=20, work_size=48, backbone="efficientnet_lite0"),
                         PaintConfig(stroke="rectangle", max_strokes=40, max_divide=2, refine_steps=20, device="cpu"))
    assert result.sources == [(0, 0), (1, 0)]
    final = result.final.numpy()  # (3, 48, 64)
    assert final.shape == (3, 48, 64)  # the label map's size and aspect
    left, right = final[:, 4:-4, 4:30].reshape(3, -1).mean(1), final[:, 4:-4, 42:-4].reshape(3, -1).mean(1)
    assert np.abs(left - RED).max() < 0.08, left
    assert np.abs(right - GREEN).max() < 0.08, right
    rows = result.report
    assert [r["region"] for r in rows] == [0, 1]
    for row in rows:  # each style is one region here: its source is the whole painting
        assert row["colour_to_source"] == row["colour_to_painting"] < 8.0


def test_compose_api_returns_strokes_that_rerender_to_the_final_picture(tmp_path):
    from neuralpaint.canvas.render import render_painting

    red, green, new = two_styles(tmp_path)
    strokes = compose(new, [red, green], **SMALL)
    assert strokes.n == 24 and (strokes.width, strokes.height) == (64, 48)
    assert strokes.metadata["generator"] == "neuralpaint compose"
    again = compose(new, [red, green], **SMALL)  # deterministic
    assert np.array_equal(strokes.params, again.params)
    with pytest.raises(NeuralPaintError, match="unknown settings: bogus"):
        compose(new, [red], bogus=1)
    picture = render_painting(strokes.stroke(), strokes.params, strokes.height, strokes.width, strokes.canvas_colour)
    assert picture.shape == (3, 48, 64)


def test_a_colour_in_no_style_map_is_named(tmp_path):
    red, green, new = two_styles(tmp_path)
    with pytest.raises(NeuralPaintError, match=LABEL_COLOURS[1]):
        compose_run(new, [red], ComposeConfig(backbone="efficientnet_lite0"))


def test_colours_match_the_first_style_map_holding_them_within_a_tolerance():
    class Map:
        def __init__(self, name, colours):
            self.name, self.colours = name, np.array(colours, np.uint8)

    maps = [Map("a", [[230, 25, 75], [60, 180, 75]]), Map("b", [[60, 180, 75], [255, 225, 25]])]
    assert match_regions(np.array([[255, 225, 25], [62, 178, 77], [230, 25, 75]]), maps) == [(1, 1), (0, 1), (0, 0)]
    with pytest.raises(NeuralPaintError, match="#000000"):
        match_regions(np.array([[0, 0, 0]]), maps)


def test_parse_style():
    assert parse_style("wheat_field") == ("wheat_field", None)
    assert parse_style("wheat_field:maps/w.png") == ("wheat_field", "maps/w.png")
    assert parse_style("art:2024/p.jpg:maps/p.png") == ("art:2024/p.jpg", "maps/p.png")
    assert parse_style("odd:name.jpg") == ("odd:name.jpg", None)


def test_style_maps_made_here_continue_the_label_colours(tmp_path):
    rng = np.random.default_rng(0)
    painting = np.zeros((32, 32, 3), np.float32)
    painting[:, 16:] = 1.0
    painting += rng.normal(0, 0.02, painting.shape).astype(np.float32)
    first = style_map(painting.clip(0, 1), None, 0, ComposeConfig(style_regions=2, style_map_size=32))
    second = style_map(painting.clip(0, 1), None, 2, ComposeConfig(style_regions=2, style_map_size=32))
    assert first.made and second.made
    assert [tuple(c) for c in first.colours] == [tuple(rgb(h)) for h in LABEL_COLOURS[:2]]
    assert [tuple(c) for c in second.colours] == [tuple(rgb(h)) for h in LABEL_COLOURS[2:4]]


def test_feathered_masks_blend_at_borders_and_sum_to_one():
    index = np.zeros((16, 16), np.int32)
    index[:, 8:] = 1
    hard = feathered_masks(index, 2, 0.0)
    assert set(hard.unique().tolist()) == {0.0, 1.0}
    soft = feathered_masks(index, 2, 2.0)
    assert torch.allclose(soft.sum(0), torch.ones(16, 16), atol=1e-5)
    assert 0.3 < float(soft[0, 5, 7]) < 0.9 and float(soft[0, 5, 0]) > 0.99  # blended near the border only


def test_synthesis_lowers_the_objective_and_stops_on_ctrl_c():
    from neuralpaint.backbones import load_backbone

    g = torch.Generator().manual_seed(0)
    stripes = torch.zeros(3, 32, 32)
    stripes[:, :, ::4] = 1.0
    index = np.zeros((32, 32), np.int32)
    index[16:] = 1
    sources = [Source(stripes, torch.ones(32, 32, dtype=torch.bool), "stripes"),
               Source(torch.full((3, 32, 32), 0.5), torch.ones(32, 32, dtype=torch.bool), "grey")]
    objective = RegionObjective(load_backbone("efficientnet_lite0"), sources, index, generator=g)
    start = torch.rand(3, 32, 32, generator=g)
    picture, log, stopped = synthesise(objective, start, 20, 0.03)
    assert not stopped and len(log) == 20
    assert log[-1]["total"] < 0.5 * log[0]["total"]

    def interrupt(step, terms):
        if step == 4:
            raise KeyboardInterrupt

    picture, log, stopped = synthesise(objective, start, 20, 0.03, watch=interrupt)
    assert stopped and len(log) == 5 and picture.shape == (3, 32, 32)


def test_compose_command_writes_the_outputs_and_the_strokes_rerender(tmp_path, capsys):
    from neuralpaint.canvas.render import render_painting
    from neuralpaint.imagefiles.io import read_image
    from neuralpaint.strokesfile import load_strokes

    red, green, new = two_styles(tmp_path)
    out = tmp_path / "out"
    status, text, err = run_cli(capsys, "compose", "--labels", new, "--style", red, "--style", green, "--steps", "10",
                                "--work-size", "48", "--stroke", "rectangle", "--max-strokes", "30", "--max-divide",
                                "2", "--backbone", "efficientnet_lite0", "--size", "80", "--out", out, "-q",
                                "--no-animation")
    assert status == 0, err
    assert "composed" in text and "red region 0" in text
    for suffix in ("_synth.png", "_final.png", "_strokes.npz"):
        assert (out / f"new{suffix}").is_file()
    strokes = load_strokes(out / "new_strokes.npz")
    assert (strokes.width, strokes.height) == (80, 60)  # --size scales the label map's longer side
    final = read_image(out / "new_final.png")
    again = render_painting(strokes.stroke(), strokes.params, strokes.height, strokes.width,
                            strokes.canvas_colour).transpose(1, 2, 0)
    mse = float(np.mean((final - again) ** 2))
    assert mse == 0 or 10 * np.log10(1 / mse) >= 40


def test_compose_command_writes_style_maps_it_makes(tmp_path, capsys):
    rng = np.random.default_rng(1)
    painting = np.zeros((40, 40, 3), np.float32)
    painting[20:] = (0.9, 0.8, 0.1)
    painting[:20] = (0.1, 0.2, 0.8)
    painting = save(tmp_path / "art.png", (painting + rng.normal(0, 0.03, painting.shape)).clip(0, 1))
    new = np.zeros((32, 32, 3), np.uint8)
    new[:, :16], new[:, 16:] = rgb(LABEL_COLOURS[0]), rgb(LABEL_COLOURS[1])
    new = save(tmp_path / "mine.png", new)
    out = tmp_path / "out"
    status, text, err = run_cli(capsys, "compose", "--labels", new, "--style", painting, "--style-regions", "2",
                                "--steps", "5", "--work-size", "32", "--stroke", "rectangle", "--max-strokes", "10",
                                "--max-divide", "1", "--refine-steps", "0", "--backbone", "efficientnet_lite0",
                                "--out", out, "-q", "--no-animation")
    assert status == 0, err
    assert (out / "art_labels.png").is_file() and (out / "art_labels.json").is_file()


@pytest.mark.parametrize("make, words", [
    ("many", ["flat colours", "at most 32"]),
    ("single", ["single colour"]),
    ("unknown", ["#4363d8", "in no style"]),
    ("garbage", ["new.png"]),
    ("missing", ["absent.png", "no such label map"]),
])
def test_compose_command_bad_label_maps_are_one_line(tmp_path, capsys, make, words):
    red, green, _ = two_styles(tmp_path)
    new = tmp_path / ("absent.png" if make == "missing" else "new.png")
    if make == "many":  # 36 flat colours after snapping
        rng = np.random.default_rng(0)
        save(new, np.repeat(np.repeat(rng.integers(0, 255, (6, 6, 3), dtype=np.uint8), 10, 0), 10, 1))
    elif make == "single":
        save(new, np.broadcast_to(rgb(LABEL_COLOURS[0]), (20, 20, 3)).copy())
    elif make == "unknown":
        picture = np.zeros((20, 20, 3), np.uint8)
        picture[:, :10], picture[:, 10:] = rgb(LABEL_COLOURS[0]), rgb(LABEL_COLOURS[3])
        save(new, picture)
    elif make == "garbage":
        new.write_bytes(b"not a png at all")
    status, _, err = run_cli(capsys, "compose", "--labels", new, "--style", red, "--style", green,
                             "--backbone", "efficientnet_lite0", "--out", tmp_path / "out", "-q")
    assert_user_error(status, err, *words)
