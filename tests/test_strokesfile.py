import json
import os

import numpy as np
import pytest
import torch

from helpers import TEMPORARY, DiskFullAfter
from neuralpaint import fileutil
from neuralpaint.errors import NeuralPaintError
from neuralpaint.strokes import get_stroke_type
from neuralpaint.strokesfile import (
    FORMAT_VERSION,
    KEYS,
    Strokes,
    load_strokes,
    parse_colour,
    save_strokes,
    validate,
)


def make_strokes(n=5, stroke_type="oilpaintbrush", **kw):
    d = get_stroke_type(stroke_type).n_params
    rng = np.random.default_rng(0)
    fields = dict(
        stroke_type=stroke_type,
        params=rng.random((n, d)).astype(np.float32),
        width=640,
        height=480,
        canvas_colour=(0.2, 0.3, 0.4),
        stroke_options={"brush": "flat"} if stroke_type == "oilpaintbrush" else {},
        metadata={"source": "photo.jpg", "seed": 7, "steps": [1, 2.5], "nested": {"a": None}},
    )
    fields.update(kw)
    return Strokes(**fields)


def file_arrays(strokes):
    """The arrays a valid file holds, for tests that write broken variants by hand."""
    return {
        "format_version": np.array(FORMAT_VERSION),
        "stroke_type": np.array(strokes.stroke_type),
        "params": strokes.params,
        "canvas_size": np.array([strokes.height, strokes.width], dtype=np.int64),
        "canvas_colour": np.array(strokes.canvas_colour, dtype=np.float32),
        "stroke_options": np.array(json.dumps(strokes.stroke_options)),
        "metadata": np.array(json.dumps(strokes.metadata)),
    }


def write_raw(path, **changes):
    arrays = file_arrays(make_strokes())
    arrays.update(changes)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)
    return path


def assert_same(a: Strokes, b: Strokes):
    assert a.stroke_type == b.stroke_type
    assert a.params.dtype == b.params.dtype == np.float32
    np.testing.assert_array_equal(a.params, b.params)
    assert (a.width, a.height) == (b.width, b.height)
    assert a.canvas_colour == b.canvas_colour
    assert a.stroke_options == b.stroke_options
    assert a.metadata == b.metadata


# ---- round trip ------------------------------------------------------------------------------
@pytest.mark.parametrize("stroke_type", ["rectangle", "oilpaintbrush"])
def test_round_trip(tmp_path, stroke_type):
    s = make_strokes(stroke_type=stroke_type)
    out = save_strokes(s, tmp_path / "p.npz")
    assert out == tmp_path / "p.npz"
    t = load_strokes(out)
    assert_same(s, t)
    assert t.n == 5
    assert t.stroke().name == stroke_type
    assert t.stroke().options == s.stroke().options


def test_file_is_plain_npz_without_pickle(tmp_path):
    s = make_strokes()
    save_strokes(s, tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz", allow_pickle=False) as z:
        assert set(z.files) == set(KEYS)
        assert int(z["format_version"]) == FORMAT_VERSION
        assert str(z["stroke_type"]) == "oilpaintbrush"
        assert z["params"].dtype == np.float32 and z["params"].shape == (5, 12)
        assert z["canvas_size"].dtype == np.int64 and z["canvas_size"].tolist() == [480, 640]
        assert z["canvas_colour"].dtype == np.float32 and z["canvas_colour"].shape == (3,)
        assert json.loads(str(z["stroke_options"])) == {"brush": "flat"}
        assert json.loads(str(z["metadata"]))["seed"] == 7


def test_name_kept_without_npz_suffix(tmp_path):
    out = save_strokes(make_strokes(), tmp_path / "painting.strokes")
    assert out.exists() and sorted(os.listdir(tmp_path)) == ["painting.strokes"]
    assert load_strokes(out).n == 5


def test_zero_strokes_allowed(tmp_path):
    s = make_strokes(n=0)
    assert s.params.shape == (0, 12)
    t = load_strokes(save_strokes(s, tmp_path / "empty.npz"))
    assert t.n == 0 and t.params.shape == (0, 12)


def test_zero_strokes_need_right_width(tmp_path):
    with pytest.raises(NeuralPaintError, match=r"\(N, 12\)"):
        save_strokes(make_strokes(params=np.zeros((0, 9), np.float32)), tmp_path / "x.npz")


def test_atomic_write_leaves_no_temp_files(tmp_path):
    path = tmp_path / "p.npz"
    save_strokes(make_strokes(n=3), path)
    save_strokes(make_strokes(n=4), path)  # overwrite
    assert os.listdir(tmp_path) == ["p.npz"]
    assert load_strokes(path).n == 4


def test_failed_save_keeps_old_file(tmp_path):
    path = tmp_path / "p.npz"
    save_strokes(make_strokes(n=3), path)
    bad = make_strokes(params=np.full((2, 12), 2.0, np.float32))
    with pytest.raises(NeuralPaintError):
        save_strokes(bad, path)
    assert os.listdir(tmp_path) == ["p.npz"]
    assert load_strokes(path).n == 3


@pytest.mark.parametrize("limit", [0, 100, 1000])  # fails on the first write, early on, later on
def test_save_failing_mid_write_keeps_old_file_and_no_temporary(tmp_path, monkeypatch, limit):
    path = save_strokes(make_strokes(n=200), tmp_path / "p.npz")
    old = path.read_bytes()
    assert len(old) > 2000  # the new file is cut off well before its end
    disk = DiskFullAfter(limit)
    monkeypatch.setattr(fileutil, "open", disk, raising=False)
    with pytest.raises(NeuralPaintError, match="cannot write") as info:
        save_strokes(make_strokes(n=300), path)
    monkeypatch.undo()
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    # it wrote to a temporary file beside the destination, and got as far as the limit
    (tmp,) = disk.paths
    match = TEMPORARY.match(tmp.name)
    assert tmp.parent == tmp_path and match and match["name"] == "p.npz" and match["suffix"] == ".npz"
    assert int(match["pid"]) == os.getpid() and disk.written == limit
    assert path.read_bytes() == old and os.listdir(tmp_path) == ["p.npz"]
    assert load_strokes(path).n == 200


def test_save_creates_parent_dirs(tmp_path):
    out = save_strokes(make_strokes(), tmp_path / "a" / "b" / "p.npz")
    assert load_strokes(out).n == 5


def test_construction_normalises_fields():
    s = make_strokes(params=torch.rand(3, 12, dtype=torch.float64, requires_grad=True), canvas_colour=[0.1, 0.2, 0.3])
    assert s.params.dtype == np.float32 and s.params.shape == (3, 12)
    assert isinstance(s.canvas_colour, tuple)
    assert s.canvas_colour == tuple(float(c) for c in np.float32([0.1, 0.2, 0.3]))
    t = s.params_tensor()
    assert t.dtype == torch.float32 and t.shape == (3, 12)
    t.zero_()  # a copy: the painting is not changed
    assert s.params.any()


def test_from_stroke():
    stroke = get_stroke_type("oilpaintbrush", brush="dry")
    s = Strokes.from_stroke(stroke, torch.rand(4, 12), 100, 50, (1, 1, 1), {"seed": 1})
    assert s.stroke_type == "oilpaintbrush" and s.stroke_options == {"brush": "dry"}
    assert validate(s).options == {"brush": "dry"}


# ---- rejections ------------------------------------------------------------------------------
def load_error(path) -> str:
    with pytest.raises(NeuralPaintError) as info:
        load_strokes(path)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_missing_file(tmp_path):
    assert "no such file" in load_error(tmp_path / "nope.npz")


def test_directory(tmp_path):
    assert "no such file" in load_error(tmp_path)


def test_text_file(tmp_path):
    path = tmp_path / "p.npz"
    path.write_text("hello, I am not a strokes file\n")
    assert "not a strokes file" in load_error(path)


def test_png_file(tmp_path):
    path = tmp_path / "p.npz"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert "not a strokes file" in load_error(path)


def test_empty_file(tmp_path):
    path = tmp_path / "p.npz"
    path.write_bytes(b"")
    assert "not a strokes file" in load_error(path)


def test_single_npy_array(tmp_path):
    path = tmp_path / "p.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros((3, 12), np.float32))
    assert "not a strokes file" in load_error(path)


@pytest.mark.parametrize("keep", [0.3, 0.8, 0.97])
def test_truncated_file(tmp_path, keep):
    path = save_strokes(make_strokes(n=200), tmp_path / "p.npz")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    assert "corrupt or truncated" in load_error(path)


def test_corrupted_member(tmp_path):
    path = tmp_path / "p.npz"
    np.savez(path, **file_arrays(make_strokes(n=200)))  # uncompressed: flip bytes inside params
    data = bytearray(path.read_bytes())
    start = data.index(b"params.npy") + 400
    data[start : start + 50] = bytes(50)
    path.write_bytes(bytes(data))
    assert "corrupt" in load_error(path)


@pytest.mark.parametrize("key", KEYS)
def test_missing_key(tmp_path, key):
    path = write_raw(tmp_path / "p.npz", **{key: None})
    msg = load_error(path)
    assert key in msg and "missing" in msg


@pytest.mark.parametrize("version", [np.array(2), np.array(0), np.array(1.0), np.array([1, 1]), np.array("1")])
def test_unknown_format_version(tmp_path, version):
    msg = load_error(write_raw(tmp_path / "p.npz", format_version=version))
    assert "format_version" in msg and "version(s) 1" in msg


def test_future_version_checked_before_keys(tmp_path):
    path = tmp_path / "p.npz"
    np.savez(path, format_version=np.array(3), something_new=np.zeros(2))
    assert "unsupported format_version 3" in load_error(path)


def test_unknown_stroke_type(tmp_path):
    msg = load_error(write_raw(tmp_path / "p.npz", stroke_type=np.array("watercolour")))
    assert "watercolour" in msg and "oilpaintbrush" in msg


def test_stroke_type_not_a_string(tmp_path):
    assert "stroke_type" in load_error(write_raw(tmp_path / "p.npz", stroke_type=np.array(3)))


@pytest.mark.parametrize(
    "params, words",
    [
        (np.zeros((4, 9), np.float32), ["(N, 12)", "(4, 9)"]),
        (np.zeros(12, np.float32), ["(N, 12)", "(12,)"]),
        (np.zeros((2, 3, 12), np.float32), ["(N, 12)"]),
        (np.zeros((2, 12), np.int64), ["floating"]),
    ],
)
def test_bad_params_shape(tmp_path, params, words):
    msg = load_error(write_raw(tmp_path / "p.npz", params=params))
    for word in words:
        assert word in msg


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_params(tmp_path, value):
    params = np.full((3, 12), 0.5, np.float32)
    params[1, 4] = value
    assert "NaN or infinite" in load_error(write_raw(tmp_path / "p.npz", params=params))


def test_params_out_of_range(tmp_path):
    params = np.full((3, 12), 0.5, np.float32)
    params[0, 0], params[2, 3] = -0.25, 1.5
    msg = load_error(write_raw(tmp_path / "p.npz", params=params))
    assert "[0, 1]" in msg and "-0.25" in msg and "1.5" in msg


@pytest.mark.parametrize(
    "size, word",
    [
        (np.array([0, 100]), "height"),
        (np.array([100, -3]), "width"),
        (np.array([100, 70000]), "65536"),
        (np.array([100]), "canvas_size"),
        (np.array([100, 100, 3]), "canvas_size"),
        (np.array([100.0, 100.0]), "canvas_size"),
    ],
)
def test_bad_canvas_size(tmp_path, size, word):
    assert word in load_error(write_raw(tmp_path / "p.npz", canvas_size=size))


@pytest.mark.parametrize(
    "colour",
    [np.array([0.5, 0.5], np.float32), np.array([0.5, 0.5, 1.5], np.float32), np.array([0.5, np.nan, 0.5]),
     np.array(["a", "b", "c"])],
)
def test_bad_canvas_colour(tmp_path, colour):
    assert "canvas_colour" in load_error(write_raw(tmp_path / "p.npz", canvas_colour=colour))


@pytest.mark.parametrize("key", ["stroke_options", "metadata"])
@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '"brush"', "null"])
def test_bad_json(tmp_path, key, text):
    msg = load_error(write_raw(tmp_path / "p.npz", **{key: np.array(text)}))
    assert key in msg and "JSON" in msg


@pytest.mark.parametrize("options, word", [({"brush": "crayon"}, "crayon"), ({"size": 3}, "size")])
def test_options_rejected_by_stroke_type(tmp_path, options, word):
    msg = load_error(write_raw(tmp_path / "p.npz", stroke_options=np.array(json.dumps(options))))
    assert word in msg and "oilpaintbrush" in msg


def test_rectangle_takes_no_options(tmp_path):
    s = make_strokes(stroke_type="rectangle", stroke_options={"brush": "oil"})
    with pytest.raises(NeuralPaintError, match="rectangle"):
        save_strokes(s, tmp_path / "p.npz")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "changes, word",
    [
        ({"width": 0}, "width"),
        ({"height": 65537}, "65536"),
        ({"width": 10.5}, "integer"),
        ({"canvas_colour": (1.0, 1.0)}, "canvas_colour"),
        ({"metadata": {"when": object()}}, "metadata"),
        ({"metadata": {"x": float("nan")}}, "metadata"),
        ({"stroke_options": {"brush": {1, 2}}}, "stroke_options"),
        ({"params": np.full((1, 12), np.nan, np.float32)}, "NaN"),
    ],
)
def test_save_validates(tmp_path, changes, word):
    with pytest.raises(NeuralPaintError, match=word) as info:
        save_strokes(make_strokes(**changes), tmp_path / "p.npz")
    assert str(tmp_path / "p.npz") in str(info.value)
    assert os.listdir(tmp_path) == []


# ---- colours ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, rgb",
    [
        ("white", (1.0, 1.0, 1.0)),
        ("Black", (0.0, 0.0, 0.0)),
        ("#ff8000", (1.0, 128 / 255, 0.0)),
        ("#FFF", (1.0, 1.0, 1.0)),
        ("#1a2", (0x11 / 255, 0xAA / 255, 0x22 / 255)),
        (" #000000 ", (0.0, 0.0, 0.0)),
    ],
)
def test_parse_colour(text, rgb):
    assert parse_colour(text) == pytest.approx(rgb)


@pytest.mark.parametrize("text", ["red", "#12", "#12345", "#gggggg", "ffffff", "", "#1234567"])
def test_parse_colour_rejects(text):
    with pytest.raises(NeuralPaintError, match="colour"):
        parse_colour(text)


def test_save_into_a_file_as_directory(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(NeuralPaintError, match="cannot write"):
        save_strokes(make_strokes(), tmp_path / "f" / "p.npz")
