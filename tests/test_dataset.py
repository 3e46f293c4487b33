"""Stroke data sets: ``make_dataset`` / ``neuralpaint make-dataset`` and the shard format round trip."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralpaint import NeuralPaintError
from neuralpaint.cli import main
from neuralpaint.training.dataset import (INDEX_FILE, StrokeArrays, load_dataset, make_dataset, read_index, read_shard,
                                 shard_name, shard_paths, shard_seed, write_shard)
from neuralpaint.strokes import get_stroke_type, libmypaint
from helpers import assert_user_error  # noqa: E402


def _has_mypaint() -> bool:
    try:
        get_stroke_type("mypaint")
        libmypaint.library()
    except NeuralPaintError:
        return False
    return True


needs_mypaint = pytest.mark.skipif(not _has_mypaint(), reason="libmypaint or the MyPaint brushes are not "
                                   "installed (bash scripts/setup.sh installs them)")
# the GAN renderer's data: mypaint where it can run, else a differentiable type
STROKES = [pytest.param("mypaint", marks=needs_mypaint), "rectangle"]


def on_white_uint8(stroke, actions: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    colour, alpha = stroke.render(torch.from_numpy(actions), size, size)
    rgb = (colour * alpha + (1 - alpha)).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    return np.round(rgb * 255).astype(np.int16), np.round(alpha[:, 0].numpy() * 255).astype(np.int16)


@pytest.mark.parametrize("name", STROKES)
def test_round_trip_shapes_dtypes_and_contents(tmp_path, name):
    out = tmp_path / "ds"
    summary = make_dataset(name, 30, out, size=32, shard_size=12, seed=4, progress=False)
    assert summary["shards"] == 3 and summary["written"] == 3 and summary["kept"] == 0
    assert [p.name for p in shard_paths(out)] == [shard_name(k) for k in range(3)]
    assert [len(read_shard(p)) for p in shard_paths(out)] == [12, 12, 6]
    arrays, info = load_dataset(out)
    stroke = get_stroke_type(name)
    assert info == {"stroke_type": name, "stroke_options": stroke.options, "size": 32, "n": 30,
                    "shard_size": 12, "seed": 4, "format_version": 1}
    assert arrays.actions.shape == (30, stroke.n_params) and arrays.actions.dtype == np.float32
    assert arrays.strokes.shape == (30, 32, 32, 3) and arrays.strokes.dtype == np.uint8
    assert arrays.alphas.shape == (30, 32, 32) and arrays.alphas.dtype == np.uint8
    assert arrays.actions.min() >= 0 and arrays.actions.max() <= 1
    # the strokes are the engine's render of the stored actions, composited on white
    rgb, alpha = on_white_uint8(stroke, arrays.actions, 32)
    assert np.abs(arrays.strokes.astype(np.int16) - rgb).max() <= 1
    assert np.abs(arrays.alphas.astype(np.int16) - alpha).max() <= 1
    assert (arrays.strokes < 255).any() and arrays.alphas.max() > 0
    # shard k's actions come from a generator seeded by shard_seed(seed, k) (pinned in test_shard_seed)
    generator = torch.Generator().manual_seed(1510535322069280158)  # shard_seed(4, 1)
    np.testing.assert_array_equal(arrays.actions[12:24], stroke.sample(12, generator).numpy())
    assert load_dataset(out, limit=5)[0].actions.shape == (5, stroke.n_params)


# shard_seed(seed, index), written down when the data-set format was fixed: a data set made with
# these numbers must be resumable (its kept shards matching new ones) by any later version
SHARD_SEEDS = {(0, 0): 7896617691693857887, (0, 1): 2918264622725855778, (4, 1): 1510535322069280158,
               (1, 0): 3717377837946358015, (2**40, 7): 9205147714447482943, (-1, 3): 5957258398962347266}


def test_shard_seed():
    assert {key: shard_seed(*key) for key in SHARD_SEEDS} == SHARD_SEEDS
    # the same in a fresh process (no per-process hashing or state)
    code = ("from neuralpaint.training.dataset import shard_seed; "
            f"print([shard_seed(s, i) for s, i in {list(SHARD_SEEDS)}])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout
    assert json.loads(out) == list(SHARD_SEEDS.values())
    # a valid torch seed, distinct for every (seed, index), and no collisions of the naive
    # seed + index kind (shard 1 of seed 4 is not shard 0 of seed 5, nor shard 4 of seed 1)
    keys = [(s, i) for s in (-2, -1, 0, 1, 2, 3, 4, 5, 2**63, 2**64 - 3) for i in range(40)]
    seeds = [shard_seed(s, i) for s, i in keys]
    assert all(isinstance(x, int) and 0 <= x < 2**63 for x in seeds)
    assert len(set(seeds)) == len(keys)
    assert shard_seed(-1, 5) == shard_seed(2**64 - 1, 5)  # seeds are taken modulo 2**64
    assert shard_seed(4, 1) not in (shard_seed(5, 0), shard_seed(1, 4), 4 + 1, 4 * 1000 + 1)
    torch.Generator().manual_seed(max(seeds))  # accepted


def test_resume_rewrites_only_the_missing_shard(tmp_path):
    out = tmp_path / "ds"
    make_dataset("rectangle", 30, out, size=16, shard_size=10, progress=False)
    paths = shard_paths(out)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}
    paths[1].unlink()
    summary = make_dataset("rectangle", 30, out, size=16, shard_size=10, progress=False)
    assert summary["written"] == 1 and summary["kept"] == 2
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in shard_paths(out)}
    assert after.keys() == before.keys()
    assert after[shard_name(1)][0] == before[shard_name(1)][0]  # identical content
    for k in (0, 2):
        assert after[shard_name(k)] == before[shard_name(k)]  # untouched
    summary = make_dataset("rectangle", 30, out, size=16, shard_size=10, progress=False)
    assert summary["written"] == 0 and summary["kept"] == 3


def test_changing_n_grows_or_shrinks_the_set(tmp_path):
    out = tmp_path / "ds"
    make_dataset("rectangle", 25, out, size=16, shard_size=10, progress=False)
    full = load_dataset(out)[0]
    summary = make_dataset("rectangle", 35, out, size=16, shard_size=10, progress=False)
    assert summary["written"] == 2 and summary["kept"] == 2  # the short last shard is redone
    grown, info = load_dataset(out)
    assert len(grown) == 35 and info["n"] == 35
    np.testing.assert_array_equal(grown.strokes[:20], full.strokes[:20])
    make_dataset("rectangle", 15, out, size=16, shard_size=10, progress=False)
    assert [p.name for p in shard_paths(out)] == [shard_name(0), shard_name(1)]
    assert len(load_dataset(out)[0]) == 15


@pytest.mark.parametrize("name", STROKES)
def test_worker_count_does_not_change_the_data(tmp_path, name):
    one = make_dataset(name, 24, tmp_path / "one", size=16, shard_size=8, workers=1, seed=2, progress=False)
    two = make_dataset(name, 24, tmp_path / "two", size=16, shard_size=8, workers=2, seed=2, progress=False)
    assert one["written"] == two["written"] == 3
    for a, b in zip(shard_paths(tmp_path / "one"), shard_paths(tmp_path / "two")):
        x, y = read_shard(a), read_shard(b)
        for key in ("actions", "strokes", "alphas"):
            np.testing.assert_array_equal(getattr(x, key), getattr(y, key))


@pytest.mark.parametrize("change, word", [
    (dict(size=32), "size"),
    (dict(shard_size=5), "shard_size"),
    (dict(seed=1), "seed"),
    (dict(stroke="markerpen"), "stroke_type"),
])
def test_resume_with_other_settings_is_a_one_line_error(tmp_path, change, word):
    out = tmp_path / "ds"
    make_dataset("rectangle", 10, out, size=16, shard_size=10, progress=False)
    kwargs = dict(size=16, shard_size=10, seed=0, progress=False)
    stroke = change.pop("stroke", "rectangle")
    kwargs.update(change)
    with pytest.raises(NeuralPaintError, match=word) as info:
        make_dataset(stroke, 10, out, **kwargs)
    assert "\n" not in str(info.value)


def test_resume_with_other_stroke_options(tmp_path):
    make_dataset(get_stroke_type("oilpaintbrush", brush="flat"), 4, tmp_path / "ds", size=16, progress=False)
    with pytest.raises(NeuralPaintError, match="stroke_options"):
        make_dataset(get_stroke_type("oilpaintbrush", brush="dry"), 4, tmp_path / "ds", size=16, progress=False)


def test_refuses_foreign_directories_and_bad_arguments(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(NeuralPaintError, match="not a directory"):
        make_dataset("rectangle", 4, tmp_path / "file", progress=False)
    orphan = tmp_path / "orphan"
    orphan.mkdir()
    write_shard(orphan / shard_name(0), StrokeArrays(np.zeros((1, 9), np.float32),
                                                     np.zeros((1, 8, 8, 3), np.uint8), np.zeros((1, 8, 8), np.uint8)))
    with pytest.raises(NeuralPaintError, match="no dataset.json"):
        make_dataset("rectangle", 4, orphan, progress=False)
    for kwargs in (dict(size=0), dict(shard_size=0), dict(workers=0)):
        with pytest.raises(NeuralPaintError):
            make_dataset("rectangle", 4, tmp_path / "x", progress=False, **kwargs)
    with pytest.raises(NeuralPaintError):
        make_dataset("rectangle", -1, tmp_path / "x", progress=False)


def test_cli_make_dataset(tmp_path, capsys):
    out = tmp_path / "ds"
    args = ["make-dataset", "--stroke", "rectangle", "--n", "12", "--out", str(out), "--size", "16",
            "--shard-size", "5", "--seed", "3", "-q"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "12 rectangle strokes" in text and "3 shards" in text and "3 written" in text
    info = json.loads((out / INDEX_FILE).read_text())
    assert info["seed"] == 3 and info["shard_size"] == 5 and read_index(out)["n"] == 12
    assert main(args) == 0
    assert "0 written" in capsys.readouterr().out
    status = main(args[:-1] + ["--seed", "4"])
    assert_user_error(status, capsys.readouterr().err, "seed")
    status = main(["make-dataset", "--stroke", "rectangle", "--brush", "oil", "--n", "2", "--out", str(out)])
    assert_user_error(status, capsys.readouterr().err, "--brush")
