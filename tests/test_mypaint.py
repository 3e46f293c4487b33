"""The ``mypaint`` stroke type: real libmypaint strokes through ctypes.

Skipped as a whole, with the reason, when libmypaint or the MyPaint brushes are not installed
(``bash scripts/setup.sh`` installs the Debian packages libmypaint-1.5-1 and mypaint-brushes).
"""
from __future__ import annotations

import ctypes
import math
import random
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from neuralpaint import NeuralPaintError
from neuralpaint.canvas.cells import cell_layout, stroke_cells
from neuralpaint.canvas.compositing import blank_canvas, composite_in_order
from neuralpaint.canvas.render import PATCH_MIN_AREA, render_painting
from neuralpaint.cli import main
from neuralpaint.imagefiles import read_image
from neuralpaint.strokes import get_stroke_type, libmypaint, mypaint
from neuralpaint.strokesfile import load_strokes
from helpers import assert_user_error  # noqa: E402

try:
    libmypaint.library()
    mypaint.find_brush(mypaint.DEFAULT_BRUSH)
except NeuralPaintError as err:  # pragma: no cover - depends on the machine
    pytest.skip(f"libmypaint or the MyPaint brushes are not installed: {err}", allow_module_level=True)

REPO = Path(__file__).resolve().parents[1]
# a clearly visible stroke: end pressure, size, through (x, y), end (x, y), RGB, start (x, y), start pressure
VISIBLE = [0.7, 0.5, 0.5, 0.35, 0.8, 0.7, 0.8, 0.3, 0.2, 0.2, 0.3, 0.8]


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return 10 * math.log10(1.0 / max(F.mse_loss(a, b).item(), 1e-12))


def on_white(colour: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    return colour * alpha + (1 - alpha)


def render_one(st, params, height=64, width=64):
    mypaint.clear_cache()
    return st.render(params, height, width)


@pytest.fixture(scope="module")
def st():
    return get_stroke_type("mypaint", brush="classic/dry_brush")  # what these tests were measured on


def test_layout_and_options(st):
    assert st.name == "mypaint" and st.n_params == 12
    assert st.colour == slice(6, 9) and st.alpha is None and st.shape == slice(0, 12)
    assert st.x_indices == (2, 4, 9) and st.y_indices == (3, 5, 10) and st.length_indices == ()
    assert st.differentiable is False
    assert get_stroke_type("rectangle").differentiable is True  # the base class default
    assert get_stroke_type("mypaint").options == {"brush": "deevad/brush", "sizes": "fine"}
    assert {"classic/dry_brush", "deevad/brush"} <= set(mypaint.available_brushes())


@pytest.mark.parametrize("batch,height,width", [(1, 16, 16), (3, 17, 29), (5, 40, 24)])
def test_shapes_ranges_and_no_gradient(st, batch, height, width):
    params = st.sample(batch, torch.Generator().manual_seed(batch)).double().requires_grad_()
    colour, alpha = st.render(params, height, width)
    assert colour.shape == (batch, 3, height, width) and alpha.shape == (batch, 1, height, width)
    assert colour.dtype == alpha.dtype == torch.float64
    assert not colour.requires_grad and not alpha.requires_grad
    for t in (colour, alpha):
        assert torch.isfinite(t).all() and t.min() >= 0 and t.max() <= 1


def test_colour_is_nominal_where_transparent_and_close_where_painted(st):
    params = st.sample(16, torch.Generator().manual_seed(7))
    colour, alpha = st.render(params, 64, 64)
    nominal = params[:, 6:9].view(-1, 3, 1, 1).expand_as(colour)
    empty = (alpha == 0).expand_as(colour)
    assert torch.equal(colour[empty], nominal[empty])
    # dry_brush has no colour dynamics: where paint is dense the colour is the nominal one, up to
    # libmypaint's 15-bit premultiplied storage (each dab truncates) and its HSV round trip
    dense = (alpha > 0.2).expand_as(colour)
    assert dense.any() and (colour[dense] - nominal[dense]).abs().max() < 5e-3  # 1.3 / 255
    assert alpha.amax(dim=(1, 2, 3)).min() > 0  # every uniform stroke paints something


def test_same_action_gives_identical_pixels(st):
    params = st.sample(12, torch.Generator().manual_seed(3))
    first = st.render(params, 64, 64)
    junk = []
    for i in range(12):  # disturb the C heap: libmypaint reads uninitialised memory on a new brush
        junk.append([ctypes.create_string_buffer(random.Random(i).randint(16, 20000)) for _ in range(i)])
        colour, alpha = render_one(st, params[i : i + 1])
        assert torch.equal(alpha[0], first[1][i]) and torch.equal(colour[0], first[0][i]), f"stroke {i} differs"


def test_same_pixels_in_a_fresh_process(st, tmp_path):
    params = st.sample(6, torch.Generator().manual_seed(11))
    colour, alpha = st.render(params, 48, 48)
    np.save(tmp_path / "params.npy", params.numpy())
    code = (
        "import sys, numpy as np, torch\n"
        "from neuralpaint.strokes import get_stroke_type\n"
        "p = torch.from_numpy(np.load(sys.argv[1]))\n"
        f"c, a = get_stroke_type('mypaint', brush='{st.brush}').render(p, 48, 48)\n"
        "np.save(sys.argv[2], torch.cat([c * a, a], 1).numpy())\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "params.npy"), str(tmp_path / "out.npy")],
                   check=True, cwd=REPO, timeout=120)
    other = torch.from_numpy(np.load(tmp_path / "out.npy"))
    assert torch.equal(other, torch.cat([colour * alpha, alpha], 1))


def test_scaling_matches_a_downsampled_render(st):
    """A 4x render box-downsampled matches the 64 x 64 render: measured 41.8 dB mean over 64 uniform
    strokes (the worst single stroke 32 dB: dabs scatter randomly and a render at another size can
    draw one dab more or less); the test asks 36 dB over 16 strokes."""
    params = st.sample(16, torch.Generator().manual_seed(0))
    small = on_white(*st.render(params, 64, 64))
    big = F.avg_pool2d(on_white(*st.render(params, 256, 256)), 4)
    assert psnr(small, big) >= 36.0
    # a non-square canvas: positions follow the sides, the radius the longer one
    wide = on_white(*st.render(params[:4], 32, 64))
    wide_big = F.avg_pool2d(on_white(*st.render(params[:4], 128, 256)), 4)
    assert psnr(wide, wide_big) >= 33.0


@pytest.mark.parametrize("brush", ["classic/dry_brush", "classic/charcoal", "classic/long_grass", "deevad/pen",
                                   "deevad/brush"])
def test_alpha_is_zero_outside_the_bounding_boxes(brush):
    st = get_stroke_type("mypaint", brush=brush)
    params = st.sample(24, torch.Generator().manual_seed(1))
    _, alpha = st.render(params, 48, 64)
    boxes = st.bounding_boxes(params, 48, 64)
    ys = torch.arange(48).view(1, 48, 1) + 0.5
    xs = torch.arange(64).view(1, 1, 64) + 0.5
    inside = ((ys >= boxes[:, 0, None, None]) & (ys <= boxes[:, 2, None, None])
              & (xs >= boxes[:, 1, None, None]) & (xs <= boxes[:, 3, None, None]))
    outside = alpha[:, 0][~inside]
    assert outside.numel() == 0 or outside.max() == 0


@pytest.mark.parametrize("brush", ["deevad/brush", "classic/knife", "deevad/liner"])
def test_cells_away_from_the_path_are_empty(brush):
    """For brushes whose dabs follow the path, ``cells_touched`` drops only cells where
    libmypaint paints nothing; brushes that lag behind the path keep their bounding boxes."""
    st = get_stroke_type("mypaint", brush=brush)
    g = torch.Generator().manual_seed(3)
    params = torch.cat([st.sample(20, g), st.sample_painting(20, g)])
    H, W = 48, 64
    full = cell_layout(st.bounding_boxes(params, H, W), H, W, 4)
    kept = stroke_cells(st, params, H, W, 4)
    assert len(kept) < 0.8 * len(full)
    _, alpha = st.render_cells(params, full.rows, H, W, 4, full.origins)
    painted = alpha.flatten(1).amax(1) > 0
    kept_keys = set(zip(kept.rows.tolist(), kept.cells.tolist()))
    missed = [key for key in zip(full.rows[painted].tolist(), full.cells[painted].tolist()) if key not in kept_keys]
    assert not missed
    lagging = get_stroke_type("mypaint", brush="classic/dry_brush")  # slow tracking
    assert lagging.cells_touched(params, full.rows, full.origins.double() + 1.5, 1.5, H, W) is None


def test_tube_kernel_matches_the_tensor_code(monkeypatch):
    """``cells_touched``'s compiled tube test gives the tensor code's answer (CUDA's path)."""
    pytest.importorskip("numba")
    st = get_stroke_type("mypaint", brush="deevad/brush")
    g = torch.Generator().manual_seed(5)
    params = torch.cat([st.sample(30, g), st.sample_painting(30, g)]).double()
    H, W = 48, 64
    full = cell_layout(st.bounding_boxes(params, H, W), H, W, 4)
    centres = full.origins.double() + 1.5
    answers = []
    for mode in ("", "torch"):
        monkeypatch.setenv("NEURALPAINT_KERNELS", mode)
        answers.append(st.cells_touched(params, full.rows, centres, 1.5, H, W))
    assert 0 < int(answers[1].sum()) < len(full)
    assert torch.equal(answers[0], answers[1])


def test_window_equals_crop_of_full_render(st):
    p = torch.tensor([VISIBLE, VISIBLE])
    colour, alpha = st.render(p, 40, 50)
    offset = torch.tensor([[5.0, 7.0], [20.0, 30.0]])
    wc, wa = st.render(p, 40, 50, window=(12, 15), offset=offset)
    for i, (y, x) in enumerate([(5, 7), (20, 30)]):
        assert torch.equal(wa[i], alpha[i, :, y : y + 12, x : x + 15])
        assert torch.equal(wc[i] * wa[i], (colour * alpha)[i, :, y : y + 12, x : x + 15])


def test_render_painting_matches_dense_compositing_and_culls_big_strokes(st):
    params = st.sample_painting(12, torch.Generator().manual_seed(5))
    params[0] = torch.tensor(VISIBLE[:1] + [1.0] + VISIBLE[2:])  # a big stroke: tiled path
    height, width = 300, 400
    box = st.bounding_boxes(params[:1], height, width)[0]
    assert (box[2] - box[0]) * (box[3] - box[1]) > PATCH_MIN_AREA
    fast = render_painting(st, params, height, width, (0.9, 0.95, 1.0))
    colour, alpha = st.render(params, height, width)
    dense = composite_in_order(colour, alpha, blank_canvas(height, width, (0.9, 0.95, 1.0)))
    assert (fast - dense).abs().max() < 1e-5
    tiles = st.covered_patches(params[:1], (0, 0, height, width), height, width, 64)
    painted = F.max_pool2d(F.pad(alpha[:1], (0, 48, 0, 20)), 64)[0, 0] > 0  # (5, 7) tiles
    assert {tuple(t) for t in (tiles // 64).tolist()} == {tuple(t) for t in painted.nonzero().tolist()}


def test_painting_sampler_init_strokes_and_to_canvas(st):
    p = st.sample_painting(64, torch.Generator().manual_seed(0))
    assert p.shape == (64, 12) and p.min() >= 0 and p.max() <= 1
    boxes = st.bounding_boxes(p, 100, 100)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    assert area[:16].mean() > 2 * area[-16:].mean()

    centres = torch.tensor([[0.5, 0.5], [0.2, 0.7]])
    colours = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.5, 1.0]])
    init = st.init_strokes(centres, colours, torch.tensor([0.3, 0.05]), torch.Generator().manual_seed(0))
    assert init.shape == (2, 12) and init.min() >= 0 and init.max() <= 1
    assert torch.equal(init[:, 6:9], colours)
    torch.testing.assert_close(init[:, [2, 3]], centres, atol=0.05, rtol=0)  # passes near the centre
    assert init[0, 1] > init[1, 1]  # a longer stroke is thicker
    _, alpha = st.render(init, 64, 64)
    assert alpha[:, :, 32, 32].max() > 0 or alpha[0].sum() > 0

    # a block at half the canvas size: positions map into the block, log-size drops by ln(2)/2
    block = torch.tensor([VISIBLE])
    out = st.to_canvas(block, (10, 20, 50, 40), 100, 80)
    assert out[0, 2] == pytest.approx((20 + VISIBLE[2] * 40) / 80)
    assert out[0, 3] == pytest.approx((10 + VISIBLE[3] * 50) / 100)
    assert out[0, 1] == pytest.approx(VISIBLE[1] + math.log(0.5) / st.size_span)
    tiny = block.clone()
    tiny[0, 1] = 0.1
    assert st.to_canvas(tiny, (0, 0, 10, 10), 100, 100)[0, 1] == 0  # clamped to the canvas's smallest


def test_radius_follows_size(st):
    thin, thick = torch.tensor([VISIBLE]), torch.tensor([VISIBLE])
    thin[0, 1], thick[0, 1] = 0.1, 0.9
    assert st.render(thick, 64, 64)[1].sum() > 3 * st.render(thin, 64, 64)[1].sum()


def test_other_brushes_by_name_and_path(tmp_path):
    path = mypaint.find_brush("classic/charcoal")
    by_name = get_stroke_type("mypaint", brush="classic/charcoal")
    by_path = get_stroke_type("mypaint", brush=str(path))
    p = torch.tensor([VISIBLE])
    a = render_one(by_name, p)[1]
    assert torch.equal(a, render_one(by_path, p)[1])
    assert not torch.equal(a, render_one(get_stroke_type("mypaint"), p)[1])


@pytest.mark.parametrize("brush, words", [
    ("no/such_brush", ["no MyPaint brush", "no/such_brush"]),
    ("", ["non-empty"]),
])
def test_wrong_brush_is_a_one_line_error(brush, words):
    with pytest.raises(NeuralPaintError) as info:
        get_stroke_type("mypaint", brush=brush)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_not_a_brush_file(tmp_path):
    bad = tmp_path / "bad.myb"
    bad.write_text("{ not json")
    with pytest.raises(NeuralPaintError, match="cannot read MyPaint brush"):
        get_stroke_type("mypaint", brush=str(bad))
    old = tmp_path / "old.myb"
    old.write_text('{"version": 2, "settings": {}}')
    with pytest.raises(NeuralPaintError, match="version 3"):
        get_stroke_type("mypaint", brush=str(old))


def test_cli_wrong_brush(tmp_path, capsys):
    status = main(["make-dataset", "--stroke", "mypaint", "--brush", "no/such", "--n", "4",
                   "--out", str(tmp_path / "d"), "-q"])
    assert_user_error(status, capsys.readouterr().err, "no MyPaint brush")


def test_missing_library_is_a_one_line_error(monkeypatch):
    monkeypatch.setattr(libmypaint, "LIBRARY_NAMES", ("libmypaint-does-not-exist.so",))
    monkeypatch.setenv("NEURALPAINT_LIBMYPAINT", "/nonexistent/libmypaint.so")
    monkeypatch.setattr(libmypaint.ctypes.util, "find_library", lambda name: None)
    libmypaint.library.cache_clear()
    try:
        with pytest.raises(NeuralPaintError) as info:
            libmypaint.library()
        assert "libmypaint-1.5-1" in str(info.value) and "setup.sh" in str(info.value)
        assert "\n" not in str(info.value)
    finally:
        libmypaint.library.cache_clear()
        monkeypatch.undo()
        libmypaint.library()


def test_render_hires_of_a_mypaint_strokes_file(tmp_path, capsys):
    path = tmp_path / "m.npz"
    assert main(["random-strokes", "--stroke", "mypaint", "--n", "8", "--width", "64", "--height", "48",
                 "--brush", "classic/dry_brush", "-o", str(path)]) == 0
    strokes = load_strokes(path)
    assert strokes.stroke_type == "mypaint" and strokes.stroke_options == {"brush": "classic/dry_brush", "sizes": "fine"}
    out = tmp_path / "m_x4.png"
    assert main(["render-hires", str(path), "--scale", "4", "-q", "--device", "cpu"]) == 0
    capsys.readouterr()
    big = read_image(out)
    assert big.shape == (192, 256, 3)
    assert big.min() < 0.9  # something painted on the white canvas
    small = render_painting(strokes.stroke(), strokes.params_tensor(), 48, 64)
    down = F.avg_pool2d(torch.from_numpy(big).permute(2, 0, 1)[None].float(), 4)[0]
    # measured 40.6 dB (8 strokes, seed 0, libmypaint 1.5); 4.5 dB margin, as in
    # test_scaling_matches_a_downsampled_render: a render at another size may place a dab differently
    assert psnr(small, down) >= 36.0


def test_painting_through_a_tiny_renderer_then_libmypaint(tmp_path, capsys):
    """``paint --stroke mypaint`` optimises through a (here untrained, tiny) renderer net and the
    final picture is libmypaint's render of the strokes; the engine cannot be differentiated."""
    from neuralpaint.nets import build_net, renderer_config
    from neuralpaint.checkpoints import save_checkpoint

    net = build_net(renderer_config("gan", 12, 12, size=16, gan={"width": 4, "fc": 32}))
    checkpoint = save_checkpoint(tmp_path / "tiny.pt", net, get_stroke_type("mypaint"), steps=0)
    photo = tmp_path / "photo.png"
    pixels = np.zeros((24, 40, 3), np.uint8)
    pixels[:, :20] = (200, 40, 30)
    cv2.imwrite(str(photo), pixels)
    out = tmp_path / "out"
    common = ["paint", "--img", str(photo), "--stroke", "mypaint", "--size", "40", "--max-strokes", "6",
              "--max-divide", "2", "--iters-per-stroke", "2", "--refine-steps", "2", "--no-animation", "-q",
              "--out", str(out), "--device", "cpu"]
    assert main([*common, "--checkpoint", str(checkpoint)]) == 0
    capsys.readouterr()
    strokes = load_strokes(out / "photo_strokes.npz")
    assert strokes.stroke_type == "mypaint" and strokes.n == 6
    assert strokes.metadata["config"]["renderer"] == "neural"
    final = torch.from_numpy(read_image(out / "photo_final.png")).permute(2, 0, 1)
    again = render_painting(strokes.stroke(), strokes.params_tensor(), 24, 40)
    assert final.shape == again.shape == (3, 24, 40)
    assert psnr(final, again) >= 40.0
    status = main([*common, "--renderer", "engine"])
    assert_user_error(status, capsys.readouterr().err, "not differentiable")
