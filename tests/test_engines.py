"""Stroke engines: shapes, ranges, determinism, gradients, resolution independence, degenerate strokes."""
from __future__ import annotations

import hashlib
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from neuralpaint import NeuralPaintError
from neuralpaint.canvas.compositing import blank_canvas, composite_in_order
from neuralpaint.strokes import bezier, brushes, get_stroke_type, stroke_type_names

TYPES = [n for n in stroke_type_names() if n != "mypaint"]  # mypaint: not differentiable, see test_mypaint.py

# one clearly visible stroke per type, away from every clamp and kink
VISIBLE = {
    "rectangle": [0.5, 0.45, 0.5, 0.3, 0.15, 0.8, 0.3, 0.2, 0.9],
    "oilpaintbrush": [0.5, 0.5, 0.55, 0.3, 0.1, 0.8, 0.3, 0.2, 0.2, 0.4, 0.7, 0.9],
    "markerpen": [0.2, 0.3, 0.5, 0.75, 0.8, 0.35, 0.3, 0.5, 0.2, 0.6, 0.3, 0.85],
    "watercolor": [0.2, 0.3, 0.5, 0.75, 0.8, 0.35, 0.3, 0.5, 0.2, 0.6, 0.3, 0.7, 0.2, 0.5, 0.85],
}


def visible(name: str, dtype=torch.float32) -> torch.Tensor:
    return torch.tensor([VISIBLE[name]], dtype=dtype)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return 10 * math.log10(1.0 / max(F.mse_loss(a, b).item(), 1e-12))


def test_registry_lists_the_four_types():
    assert {"oilpaintbrush", "watercolor", "markerpen", "rectangle"} <= set(TYPES)
    assert get_stroke_type("oilpaintbrush").n_params == 12
    assert get_stroke_type("watercolor").n_params == 15
    assert get_stroke_type("markerpen").n_params == 12
    assert get_stroke_type("rectangle").n_params == 9
    with pytest.raises(NeuralPaintError, match="known types"):
        get_stroke_type("crayon")
    with pytest.raises(NeuralPaintError, match="brush"):
        get_stroke_type("oilpaintbrush", brush="crayon")


@pytest.mark.parametrize("name", TYPES)
def test_layout_is_shape_colour_alpha(name):
    st = get_stroke_type(name)
    assert st.shape.start == 0 and st.shape.stop == st.colour.start
    assert st.colour.stop == st.alpha == st.n_params - 1
    assert len(VISIBLE[name]) == st.n_params


@pytest.mark.parametrize("name", TYPES)
@pytest.mark.parametrize("batch,height,width", [(1, 16, 16), (3, 17, 29), (5, 40, 24)])
def test_shapes_and_ranges(name, batch, height, width):
    st = get_stroke_type(name)
    params = st.sample(batch, torch.Generator().manual_seed(batch))
    colour, alpha = st.render(params, height, width)
    assert colour.shape == (batch, 3, height, width)
    assert alpha.shape == (batch, 1, height, width)
    for t in (colour, alpha):
        assert torch.isfinite(t).all()
        assert t.min() >= 0.0 and t.max() <= 1.0


@pytest.mark.parametrize("name", TYPES)
def test_bad_params_are_rejected_with_shapes_in_the_message(name):
    st = get_stroke_type(name)
    with pytest.raises(ValueError, match=rf"\(B, {st.n_params}\), got \(4, 3\)"):
        st.render(torch.rand(4, 3), 8, 8)
    with pytest.raises(ValueError):
        st.render(torch.rand(st.n_params), 8, 8)
    with pytest.raises(ValueError, match="floating"):
        st.render(torch.ones(2, st.n_params, dtype=torch.long), 8, 8)
    with pytest.raises(ValueError, match="positive"):
        st.render(torch.rand(2, st.n_params), 0, 8)


@pytest.mark.parametrize("name", TYPES)
def test_deterministic_and_sampler_seeded(name):
    st = get_stroke_type(name)
    a = st.sample_painting(8, torch.Generator().manual_seed(3))
    b = st.sample_painting(8, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert not torch.equal(a, st.sample_painting(8, torch.Generator().manual_seed(4)))
    assert a.min() >= 0 and a.max() <= 1
    c1, a1 = st.render(a, 32, 32)
    c2, a2 = st.render(a, 32, 32)
    assert torch.equal(c1, c2) and torch.equal(a1, a2)


@pytest.mark.parametrize("name", TYPES)
def test_painting_sampler_orders_large_strokes_first(name):
    st = get_stroke_type(name)
    p = st.sample_painting(64, torch.Generator().manual_seed(0))
    boxes = st.bounding_boxes(p, 100, 100)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    first, last = area[:16].mean(), area[-16:].mean()
    assert first > 2 * last


@pytest.mark.parametrize("name", TYPES)
def test_window_equals_crop_of_full_render(name):
    st = get_stroke_type(name)
    p = visible(name).repeat(2, 1)
    colour, alpha = st.render(p, 40, 50)
    offset = torch.tensor([[5.0, 7.0], [20.0, 30.0]])
    wc, wa = st.render(p, 40, 50, window=(12, 15), offset=offset)
    for i, (y, x) in enumerate([(5, 7), (20, 30)]):
        torch.testing.assert_close(wa[i], alpha[i, :, y : y + 12, x : x + 15], atol=1e-5, rtol=0)
        torch.testing.assert_close(wc[i] * wa[i], (colour * alpha)[i, :, y : y + 12, x : x + 15], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", TYPES)
def test_bounding_box_contains_all_alpha(name):
    st = get_stroke_type(name)
    p = st.sample(32, torch.Generator().manual_seed(1))
    _, alpha = st.render(p, 48, 64)
    boxes = st.bounding_boxes(p, 48, 64)
    ys = torch.arange(48).view(1, 48, 1) + 0.5
    xs = torch.arange(64).view(1, 1, 64) + 0.5
    inside = ((ys >= boxes[:, 0, None, None]) & (ys <= boxes[:, 2, None, None])
              & (xs >= boxes[:, 1, None, None]) & (xs <= boxes[:, 3, None, None]))
    assert alpha[:, 0][~inside].max() == 0


@pytest.mark.parametrize("name", TYPES)
def test_every_parameter_gets_a_gradient(name):
    st = get_stroke_type(name)
    p = visible(name).requires_grad_()
    colour, alpha = st.render(p, 48, 48)
    target = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(0))
    loss = ((composite_in_order(colour, alpha, blank_canvas(48, 48, (1.0, 1.0, 1.0))) - target[0]) ** 2).mean()
    loss.backward()
    assert torch.isfinite(p.grad).all()
    missing = [st.param_names[i] for i in range(st.n_params) if p.grad[0, i].abs() < 1e-7]
    assert not missing, f"no gradient for {missing}"


@pytest.mark.parametrize("name", TYPES)
def test_every_parameter_changes_the_output(name):
    st = get_stroke_type(name)
    base = visible(name)
    c0, a0 = st.render(base, 48, 48)
    ref = c0 * a0
    for i, pname in enumerate(st.param_names):
        p = base.clone()
        p[0, i] = p[0, i] + 0.1 if p[0, i] < 0.85 else p[0, i] - 0.1
        c, a = st.render(p, 48, 48)
        assert (c * a - ref).abs().max() > 1e-2, f"{pname} does not change the render"


@pytest.mark.parametrize("name", TYPES)
def test_gradcheck_float64(name, monkeypatch):
    # curved strokes differentiate the exact closest point (implicit function theorem); converge
    # the search fully so finite differences see the same function
    monkeypatch.setattr(bezier, "NEWTON_STEPS", 12)
    st = get_stroke_type(name)
    p = visible(name, torch.float64).requires_grad_()

    def f(q):
        colour, alpha = st.render(q, 10, 12)
        return torch.cat([colour * alpha, alpha], dim=1)

    assert torch.autograd.gradcheck(f, (p,), eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("name", TYPES)
def test_resolution_independent(name):
    """A painting rendered at 4x and box-downsampled matches the 1x render (>= 30 dB)."""
    st = get_stroke_type(name)
    p = st.sample_painting(40, torch.Generator().manual_seed(2))
    size = (48, 64)

    def painting(scale):
        h, w = size[0] * scale, size[1] * scale
        colour, alpha = st.render(p, h, w)
        return composite_in_order(colour, alpha, blank_canvas(h, w, (1.0, 1.0, 1.0)))

    small = painting(1)
    big = F.avg_pool2d(painting(4)[None], 4)[0]
    assert psnr(small, big) >= 30.0


@pytest.mark.parametrize("name", TYPES)
def test_degenerate_strokes_are_finite_and_consistent(name):
    st = get_stroke_type(name)
    p = visible(name).repeat(3, 1)
    if name in ("rectangle", "oilpaintbrush"):
        p[0, 2] = 0.0  # zero length
        p[1, 3] = 0.0  # zero breadth
        p[2, 2:4] = 0.0  # both
        expect_nothing = [0, 1, 2]
    else:
        p[0, 0:6] = torch.tensor([0.5, 0.5] * 3)  # zero-length curve: a round dab
        p[1, 6:8] = 0.0  # zero width: nothing
        p[2, 0:6] = torch.tensor([0.5, 0.5] * 3)
        p[2, 6:8] = 0.0  # both: nothing
        expect_nothing = [1, 2]
    p.requires_grad_()
    colour, alpha = st.render(p, 32, 32)
    (colour * alpha).sum().backward()
    assert torch.isfinite(colour).all() and torch.isfinite(alpha).all()
    assert torch.isfinite(p.grad).all()
    for i in expect_nothing:
        assert alpha[i].max() == 0, f"degenerate stroke {i} should draw nothing"
    if name in ("markerpen", "watercolor"):
        dab = alpha[0, 0]
        assert dab.max() > 0.5
        torch.testing.assert_close(dab, dab.flip(0), atol=1e-4, rtol=0)  # round: symmetric
        torch.testing.assert_close(dab, dab.t(), atol=1e-4, rtol=0)


def box_filtered(profile: np.ndarray, k: int, at: np.ndarray) -> np.ndarray:
    """Mean of ``profile`` over the ``2**k`` texels ``i - 2**k // 2 .. i - 2**k // 2 + 2**k - 1``
    around each ``i`` in ``at``, edges replicated: summed texel by texel, no running sums."""
    width = 2**k
    window = at[:, None] - width // 2 + np.arange(width)[None, :]
    return profile.astype(np.float64)[np.clip(window, 0, len(profile) - 1)].mean(axis=1)


@pytest.mark.parametrize("name", sorted(brushes.BRUSHES))
def test_brush_texture_profiles_and_mip_levels(name):
    recipe = brushes.BRUSHES[name]
    texture = brushes.brush_texture(name)
    assert texture.shape == (2, 13, 4096) and texture.dtype == np.float32 and not texture.flags.writeable
    assert np.isfinite(texture).all()
    density, end = texture[:, 0].astype(np.float64)
    v = np.linspace(-1.0, 1.0, 4096)
    # density: in [0, 1], nothing at the very edges (they taper), a solid middle at least ``body``
    # thick, full paint somewhere, and visible bristles (texel-to-texel variation)
    assert density.min() >= 0.0 and density.max() <= 1.0 + 1e-6 and density.max() > 0.95
    assert density[0] == 0.0 and density[-1] == 0.0
    middle = np.abs(v) <= 1.0 - recipe.edge_taper
    assert density[middle].min() >= recipe.body - 1e-6
    assert np.abs(np.diff(density[middle])).max() > 1e-3 and density[middle].std() > 0.01
    # end: the rounded tip (``end_round`` times 1 - sqrt(1 - v^2)) plus a ragged offset in
    # [0, end_ragged]; the edges run dry at least ``end_round`` early
    rounded = recipe.end_round * (1.0 - np.sqrt(np.clip(1.0 - v * v, 0.0, 1.0)))
    assert (end - rounded).min() >= -1e-6 and (end - rounded).max() <= recipe.end_ragged + 1e-6
    assert (end - rounded).max() > 0.5 * recipe.end_ragged  # some bristles do end early
    assert end[0] >= recipe.end_round - 1e-6 and end[-1] >= recipe.end_round - 1e-6
    # mip level k is level 0 box-filtered over 2**k texels: every texel of levels 1..7, and 64
    # texels (edges included) of the wider levels
    some = np.unique(np.r_[0, 1, 2047, 2048, 4094, 4095, np.random.default_rng(0).integers(0, 4096, 58)])
    for k in range(1, 13):
        at = np.arange(4096) if k <= 7 else some
        for channel in (0, 1):
            np.testing.assert_allclose(texture[channel, k, at], box_filtered(texture[channel, 0], k, at),
                                       rtol=0, atol=2e-6, err_msg=f"{name}: channel {channel}, level {k}")
    # the coarsest level at the centre is the mean of the whole profile
    np.testing.assert_allclose(texture[:, 12, 2048], texture[:, 0].astype(np.float64).mean(axis=1), atol=2e-6)


def test_brush_textures_deterministic_and_distinct():
    # the same bytes in a fresh process (seeded by the recipe, not by process state)
    code = ("import hashlib; from neuralpaint.strokes import brushes; "
            "print(hashlib.sha256(brushes.brush_texture('oil').tobytes()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout.strip()
    assert out == hashlib.sha256(brushes.brush_texture("oil").tobytes()).hexdigest()
    names = sorted(brushes.BRUSHES)
    assert len(names) >= 3
    textures = [brushes.brush_texture(n) for n in names]
    for i in range(len(textures)):
        for j in range(i + 1, len(textures)):
            assert np.abs(textures[i] - textures[j]).mean() > 1e-2


@pytest.mark.parametrize("brush", sorted(brushes.BRUSHES))
def test_bristles_stay_sharp_at_16x(brush):
    """At 16x the bristles still vary from pixel to pixel across the stroke, unlike an upscaled
    bitmap: adjacent-pixel variation is several times that of the 1x render upscaled 16x."""
    st = get_stroke_type("oilpaintbrush", brush=brush)
    p = torch.tensor([[0.5, 0.5, 0.8, 0.4, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0]])  # vertical stroke
    _, small = st.render(p, 64, 64)
    _, big = st.render(p, 1024, 1024)
    upscaled = F.interpolate(small, scale_factor=16, mode="bilinear", align_corners=False)

    def across(alpha):  # horizontal line through the middle of the (vertical) stroke, interior only
        row = alpha[0, 0, 512, 512 - 150 : 512 + 150]
        return (row[1:] - row[:-1]).abs().mean().item()

    assert across(big) > 0.01
    assert across(big) > 4 * across(upscaled)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", TYPES)
def test_cpu_cuda_parity(name):
    st = get_stroke_type(name)
    p = st.sample(8, torch.Generator().manual_seed(0))
    c_cpu, a_cpu = st.render(p, 64, 48)
    c_gpu, a_gpu = st.render(p.cuda(), 64, 48)
    torch.testing.assert_close(a_gpu.cpu(), a_cpu, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close((c_gpu * a_gpu).cpu(), c_cpu * a_cpu, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ["markerpen", "watercolor"])
def test_culled_bezier_render_equals_every_pixel_render(name, monkeypatch):
    """Without gradient, big windows render only the cells the stroke's edge may cross (fully
    covered marker-pen cells are filled): on painting-like strokes the result equals rendering
    every pixel."""
    from neuralpaint.strokes import bezier

    stroke = get_stroke_type(name)
    params = stroke.sample_painting(16, torch.Generator().manual_seed(5))
    params[:4, 6] = 0.0  # a point at one end
    params[4:8, 7] = 1.0  # very thick at the other
    with torch.no_grad():
        colour, alpha = stroke.render(params, 300, 260)
        monkeypatch.setattr(bezier, "CULL_MIN_PIXELS", 10**12)
        colour_all, alpha_all = stroke.render(params, 300, 260)
    assert alpha_all.sum() > 1000  # the strokes do show
    assert torch.allclose(alpha, alpha_all, atol=1e-4)
    assert torch.allclose(colour * alpha_all, colour_all * alpha_all, atol=1e-4)


def _curve_samples(params: torch.Tensor, height: int, width: int, n: int = 2001) -> tuple[torch.Tensor, ...]:
    """``n`` evenly spaced ``t`` of a tapered curve stroke's parameters (``x0 .. y2, r0, r2``) and
    its points ``x, y`` and half-width there, in pixels, float64: ``t, x, y, radius``."""
    p = params.double()
    scale = bezier.MAX_RADIUS * max(height, width)
    t = torch.linspace(0, 1, n, dtype=torch.float64)
    x = (1 - t) ** 2 * p[0] * width + 2 * (1 - t) * t * p[2] * width + t**2 * p[4] * width
    y = (1 - t) ** 2 * p[1] * height + 2 * (1 - t) * t * p[3] * height + t**2 * p[5] * height
    return t, x, y, p[6] * scale + (p[7] - p[6]) * scale * t


def _exact_marker_coverage(params: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Coverage ``(height, width)`` of one marker stroke with the deepest point found by brute
    force (2001 samples of ``t``): the engine's definition, without its search."""
    from neuralpaint.strokes.base import box_coverage

    _, x, y, radius = _curve_samples(params, height, width)
    xs = torch.arange(width, dtype=torch.float64) + 0.5
    rows = []
    for row in range(height):
        dist = ((xs[:, None] - x) ** 2 + (row + 0.5 - y) ** 2).sqrt()  # (width, samples)
        best = (dist - radius).argmin(1)
        rows.append(box_coverage(dist.gather(1, best[:, None])[:, 0], radius[best]))
    return torch.stack(rows)


def test_culled_render_closes_the_gaps_of_extreme_tapers():
    """Strongly bent strokes thin at one end and thick at the other: the plain search (a few
    seeds, then Newton) misses the deepest point on many pixels and leaves gaps; the render
    without gradient seeds each cell's pixels with a densely searched answer at its centre.
    Measured here: 292 pixels off by more than 0.25 with the plain search, 81 with the seeded
    one (the rest sit where two branches of the curve are about equally deep, so either answer
    is nearly right and the coverage jumps between them)."""
    stroke = get_stroke_type("markerpen")
    gen = torch.Generator().manual_seed(11)
    params = stroke.sample_painting(12, gen)
    params[:, 2:4] = torch.rand(12, 2, generator=gen)  # control point anywhere: strong bends
    params[:, 6] = 0.0
    params[:, 7] = 0.2 + 0.6 * torch.rand(12, generator=gen)
    params[:, 11] = 1.0
    H = W = 160
    wrong_plain = wrong_culled = area = 0
    for i in range(12):
        exact = _exact_marker_coverage(params[i], H, W)
        one = params[i : i + 1].clone().requires_grad_(True)  # with gradient: every pixel, plain search
        plain = stroke.render(one, H, W)[1][0, 0].detach().double()
        with torch.no_grad():
            culled = stroke.render(params[i : i + 1], H, W)[1][0, 0].double()
        wrong_plain += int(((plain - exact).abs() > 0.25).sum())
        wrong_culled += int(((culled - exact).abs() > 0.25).sum())
        area += float(exact.sum())
    assert wrong_plain > 0.01 * area  # the gaps are real
    assert wrong_culled < wrong_plain / 3
    assert wrong_culled < 0.005 * area


def test_culling_is_off_when_gradients_are_wanted():
    from neuralpaint.strokes import bezier

    stroke = get_stroke_type("markerpen")
    params = stroke.sample_painting(2, torch.Generator().manual_seed(6)).requires_grad_(True)
    grid = bezier.PixelGrid(xs=torch.zeros(2, 1, 100), ys=torch.zeros(2, 100, 1), height=100, width=100)
    assert not bezier.cullable(params, grid)
    with torch.no_grad():
        assert bezier.cullable(params, grid)
    _, alpha = stroke.render(params, 100, 100)
    alpha.sum().backward()
    assert params.grad.abs().sum() > 0


def test_box_coverage_is_the_overlap_of_a_pixel_with_a_band():
    """Against the overlap of [d - 1/2, d + 1/2] with [-hw, hw] counted on a fine grid, for bands
    wider and thinner than a pixel and for negative widths (nothing)."""
    from neuralpaint.strokes.base import box_coverage

    dist = torch.linspace(-3, 3, 121, dtype=torch.float64)[:, None]
    half = torch.tensor([-0.5, 0.0, 0.1, 0.3, 0.5, 0.8, 2.0], dtype=torch.float64)[None]
    samples = torch.linspace(-0.5, 0.5, 20001, dtype=torch.float64)  # points of the pixel
    inside = ((dist[..., None] + samples).abs() <= half[..., None]).double().mean(-1)
    assert torch.allclose(box_coverage(dist, half), inside, atol=1e-3)
    # the slope on an edge is -1 in the distance and +1 in the width
    d = torch.tensor([1.7], dtype=torch.float64, requires_grad=True)
    hw = torch.tensor([1.5], dtype=torch.float64, requires_grad=True)
    box_coverage(d, hw).backward()
    assert d.grad.item() == -1.0 and hw.grad.item() == 1.0
