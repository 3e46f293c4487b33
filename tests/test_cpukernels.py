"""The compiled CPU kernels (neuralpaint.kernels) against the tensor code they stand in for."""
import numpy as np
import pytest
import torch

from neuralpaint import kernels
from neuralpaint.kernels.pixels import to_rgb8
from neuralpaint.canvas.compositing import composite_in_order
from neuralpaint.canvas.render import render_bands, render_painting
from neuralpaint.strokes import get_stroke_type
from neuralpaint.canvas.cells import composite_cells, stroke_cells

pytestmark = pytest.mark.skipif(kernels.numba is None, reason="numba is not installed")

KERNEL_TYPES = ("rectangle", "oilpaintbrush")


def small_strokes(name: str, n: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    params = get_stroke_type(name).sample_painting(n, torch.Generator().manual_seed(seed)).to(dtype)
    params[:, 2:4] *= 0.4  # several strokes per cell, some thinner than a pixel
    return params


def test_available_follows_the_switch_and_the_tensors(monkeypatch):
    x = torch.zeros(2)
    assert kernels.serves(x, x.double(), x.numpy(), x.double().numpy())
    assert not kernels.serves(x.half())
    assert not kernels.serves(x.numpy().astype(np.float16))
    monkeypatch.setenv("NEURALPAINT_KERNELS", "torch")
    assert not kernels.serves(x)
    assert not kernels.serves(x.numpy())


@pytest.mark.parametrize("name", KERNEL_TYPES)
def test_tile_kernels_match_the_engine_values_and_gradients(name, monkeypatch):
    stroke = get_stroke_type(name)
    params = small_strokes(name, 40, 1)
    params[0, 3] = 0.0  # a stroke of zero breadth draws nothing
    layout = stroke_cells(stroke, params, 37, 53, 4)

    def run():
        p = params.clone().requires_grad_(True)
        colour, alpha = stroke.render_cells(p, layout.rows, 37, 53, 4, layout.origins)
        g = torch.Generator().manual_seed(3)
        weights = torch.rand(colour.shape, generator=g, dtype=p.dtype), torch.rand(alpha.shape, generator=g, dtype=p.dtype)
        ((colour * weights[0]).sum() + (alpha * weights[1]).sum()).backward()
        return colour.detach(), alpha.detach(), p.grad

    fast = run()
    monkeypatch.setenv("NEURALPAINT_KERNELS", "torch")
    slow = run()
    assert fast[1].abs().sum() > 10  # the strokes are there
    for a, b in zip(fast, slow):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", KERNEL_TYPES)
def test_tile_kernels_in_float32_are_close_to_float64(name):
    stroke = get_stroke_type(name)
    params = small_strokes(name, 30, 2)
    layout = stroke_cells(stroke, params, 40, 40, 4)
    grads = []
    for dtype in (torch.float64, torch.float32):
        p = params.to(dtype).clone().requires_grad_(True)
        colour, alpha = stroke.render_cells(p, layout.rows, 40, 40, 4, layout.origins)
        (colour.sum() + 2 * alpha.sum()).backward()
        grads.append(p.grad.double())
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-3)


def test_composite_kernel_matches_in_order_compositing_with_gradients():
    stroke = get_stroke_type("rectangle")
    params = small_strokes("rectangle", 30, 4)
    params[::3, 8] = 1.0  # opaque strokes hide what is below exactly
    H, W = 23, 18
    background = torch.rand(3, H, W, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    layout = stroke_cells(stroke, params, H, W, 4)

    p1, bg1 = params.clone().requires_grad_(True), background.clone().requires_grad_(True)
    colour, alpha = stroke.render_cells(p1, layout.rows, H, W, 4, layout.origins)
    out1 = composite_cells(colour, alpha, layout, bg1)
    p2, bg2 = params.clone().requires_grad_(True), background.clone().requires_grad_(True)
    colour, alpha = stroke.render(p2, H, W)
    out2 = composite_in_order(colour, alpha, bg2)
    torch.testing.assert_close(out1, out2, rtol=1e-12, atol=1e-12)
    weight = torch.rand(3, H, W, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    (out1 * weight).sum().backward()
    (out2 * weight).sum().backward()
    torch.testing.assert_close(p1.grad, p2.grad, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(bg1.grad, bg2.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", KERNEL_TYPES)
def test_layout_is_the_same_with_and_without_kernels(name, monkeypatch):
    stroke = get_stroke_type(name)
    params = small_strokes(name, 60, 7, torch.float32)
    canvas = torch.arange(60) % 3
    include = torch.arange(60) % 5 != 0
    fast = stroke_cells(stroke, params, 45, 61, 4, canvas=canvas, canvases=3, include=include)
    monkeypatch.setenv("NEURALPAINT_KERNELS", "torch")
    slow = stroke_cells(stroke, params, 45, 61, 4, canvas=canvas, canvases=3, include=include)
    assert len(fast) == len(slow) > 100
    for field in ("rows", "cells", "origins", "first", "run", "start", "last"):
        assert torch.equal(getattr(fast, field), getattr(slow, field)), field


@pytest.mark.parametrize("name", KERNEL_TYPES)
@pytest.mark.parametrize("size", [(61, 47), (128, 128)])
def test_paint_onto_matches_the_engine(name, size, monkeypatch):
    stroke = get_stroke_type(name)
    H, W = size
    params = get_stroke_type(name).sample_painting(80, torch.Generator().manual_seed(8))
    fast = render_painting(stroke, params, H, W, (0.9, 0.8, 0.7))
    half = render_painting(stroke, params[:40], H, W, (0.9, 0.8, 0.7))  # continued on the same canvas
    continued = render_painting(stroke, params[40:], H, W, canvas=half)
    monkeypatch.setenv("NEURALPAINT_KERNELS", "torch")
    slow = render_painting(stroke, params, H, W, (0.9, 0.8, 0.7))
    assert (slow - 0.8).abs().mean() > 0.05  # strokes were painted
    torch.testing.assert_close(fast, slow, rtol=0, atol=2e-5)
    torch.testing.assert_close(continued, slow, rtol=0, atol=2e-5)


@pytest.mark.parametrize("name", KERNEL_TYPES + ("markerpen", "watercolor"))
def test_bands_with_kernels_match_bands_without(name, monkeypatch):
    stroke = get_stroke_type(name)
    params = get_stroke_type(name).sample_painting(50, torch.Generator().manual_seed(9))
    H, W = 203, 150  # bands of 64 rows: the last one is short
    fast = torch.from_numpy(np.concatenate([p for _, p in render_bands(stroke, params, H, W, band=64, patch=16)], 1))
    monkeypatch.setenv("NEURALPAINT_KERNELS", "torch")
    slow = torch.from_numpy(np.concatenate([p for _, p in render_bands(stroke, params, H, W, band=64, patch=16)], 1))
    assert fast.shape == (3, H, W)
    psnr = 10 * torch.log10(1 / (fast - slow).pow(2).mean())
    assert psnr > (80 if name in KERNEL_TYPES else 50)  # the curves' searches differ on a few pixels


def test_to_rgb8_rounds_like_torch():
    pixels = torch.rand(3, 17, 9, generator=torch.Generator().manual_seed(0)) * 1.4 - 0.2
    pixels[:, 0, :5] = torch.tensor([-0.5, 0.5 / 255, 1.5 / 255, 1.0, 2.0])
    expected = pixels.clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    got = to_rgb8(pixels.numpy())
    assert got.dtype == np.uint8 and got.shape == (17, 9, 3)
    np.testing.assert_array_equal(got, expected)
    pixels = pixels.double()
    expected = pixels.clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(to_rgb8(pixels.numpy()), expected)


@pytest.mark.parametrize("name", ["markerpen", "watercolor"])
def test_curve_kernel_matches_the_engine(name, monkeypatch):
    """The compiled curve kernel searches differently from the engine (more seeds every
    ``CURVE_BLOCK`` pixels, interpolation and Newton steps between), so a few pixels differ where
    one of the searches misses; the rest agree."""
    stroke = get_stroke_type(name)
    params = stroke.sample_painting(120, torch.Generator().manual_seed(10))
    H, W = 150, 131
    fast = render_painting(stroke, params, H, W)
    monkeypatch.setenv("NEURALPAINT_KERNELS", "torch")
    slow = render_painting(stroke, params, H, W)
    assert (slow - 1).abs().mean() > 0.05
    assert 10 * torch.log10(1 / (fast - slow).pow(2).mean()) > 55
    assert ((fast - slow).abs() > 1e-3).float().mean() < 0.005


def _dense_watercolor(params: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``watercolor`` strokes painted in order on white, each pixel's deepest point found by brute
    force (2001 samples of ``t``): the engine's definition, without its search."""
    from test_engines import _curve_samples

    from neuralpaint.strokes.base import box_coverage
    from neuralpaint.strokes.watercolor import CENTRE_DENSITY

    xs = torch.arange(width, dtype=torch.float64) + 0.5
    ys = torch.arange(height, dtype=torch.float64) + 0.5
    canvas = torch.ones(3, height, width, dtype=torch.float64)
    boxes = get_stroke_type("watercolor").bounding_boxes(params.double(), height, width)
    for p, box in zip(params.double(), boxes.tolist()):
        top, left = max(0, int(box[0])), max(0, int(box[1]))
        bottom, right = min(height, int(box[2]) + 1), min(width, int(box[3]) + 1)
        if bottom <= top or right <= left:
            continue
        t, x, y, radius = _curve_samples(p, height, width)
        dist = ((xs[None, left:right, None] - x) ** 2 + (ys[top:bottom, None, None] - y) ** 2).sqrt()  # (h, w, t)
        best = (dist - radius).argmin(-1, keepdim=True)
        d, r, tt = dist.gather(-1, best)[..., 0], radius[best[..., 0]], t[best[..., 0]]
        rim = (d / (r + 1e-3)).clamp(max=1.0)
        alpha = box_coverage(d, r) * (CENTRE_DENSITY + (1 - CENTRE_DENSITY) * rim * rim) * p[14]
        colour = p[8:11, None, None] + (p[11:14, None, None] - p[8:11, None, None]) * tt
        window = canvas[:, top:bottom, left:right]
        window += alpha * (colour - window)
    return canvas


def test_curve_kernel_matches_a_dense_search():
    """The curve kernel searches fully only every ``CURVE_BLOCK`` pixels of a row and interpolates
    between (refined by Newton steps): against a brute-force deepest point per pixel, on bent,
    tapered, translucent strokes of two sizes. Measured: 98 dB at 72x56, 101 dB at 144x112 (one
    Newton step instead of two: 57 dB)."""
    stroke = get_stroke_type("watercolor")
    params = stroke.sample_painting(30, torch.Generator().manual_seed(12)).double()
    for H, W in ((72, 56), (144, 112)):
        canvas = torch.ones(3, H, W, dtype=torch.float64)
        assert stroke.paint_onto(params, canvas, 0, H, W)
        dense = _dense_watercolor(params, H, W)
        assert (dense - 1).abs().mean() > 0.05
        psnr = 10 * torch.log10(1 / (canvas - dense).pow(2).mean())
        print(f"{H}x{W}: {psnr:.1f} dB")
        assert psnr > 80


@pytest.mark.parametrize("name", ["markerpen", "watercolor"])
def test_curve_kernel_is_resolution_independent(name):
    """A painting by the curve kernel at 4x, box-downsampled, matches the 1x one (>= 30 dB)."""
    stroke = get_stroke_type(name)
    params = stroke.sample_painting(40, torch.Generator().manual_seed(2))
    small = render_painting(stroke, params, 48, 64)
    big = torch.nn.functional.avg_pool2d(render_painting(stroke, params, 192, 256)[None], 4)[0]
    assert 10 * torch.log10(1 / (small - big).pow(2).mean()) >= 30


def test_curve_kernel_has_no_gaps_on_extreme_tapers():
    """Strongly bent strokes, thin at one end: the kernel's coverage against a brute-force
    deepest point (2001 samples of the curve). Measured: 0 pixels of about 23 000 off by more
    than 0.25 (10 before the kernel ran Newton's method from a second local minimum of its samples
    on bent curves), against 81 for the engine's culled render and 292 for its plain search
    (``test_engines.test_culled_render_closes_the_gaps_of_extreme_tapers``)."""
    from test_engines import _exact_marker_coverage

    stroke = get_stroke_type("markerpen")
    gen = torch.Generator().manual_seed(11)
    params = stroke.sample_painting(12, gen)
    params[:, 2:4] = torch.rand(12, 2, generator=gen)
    params[:, 6] = 0.0
    params[:, 7] = 0.2 + 0.6 * torch.rand(12, generator=gen)
    params[:, 8:12] = 1.0  # white, opaque: the painted value is the coverage
    H = W = 160
    wrong = area = 0
    for i in range(12):
        exact = _exact_marker_coverage(params[i], H, W)
        canvas = torch.zeros(3, H, W, dtype=torch.float64)
        assert stroke.paint_onto(params[i : i + 1].double(), canvas, 0, H, W)
        wrong += int(((canvas[0] - exact).abs() > 0.25).sum())
        area += float(exact.sum())
    print(f"pixels off by more than 0.25: {wrong} of {area:.0f} covered")
    assert wrong <= 3  # 0 measured; a pixel or two of slack for other CPUs' rounding


def test_kernels_can_be_called_from_two_threads_with_numba_fallback_pool():
    """The animation renders in a second thread while the main one may render too; numba's
    fallback pool (workqueue, used without OpenMP or TBB) aborts the process when two threads
    launch at once unless the launches are serialised."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import threading, torch
        from neuralpaint.canvas.render import render_painting
        from neuralpaint.strokes import get_stroke_type
        stroke = get_stroke_type("rectangle")
        params = stroke.sample_painting(200, torch.Generator().manual_seed(0))
        expected = render_painting(stroke, params, 96, 96)
        results = []
        def work():
            for _ in range(20):
                results.append(render_painting(stroke, params, 96, 96))
        threads = [threading.Thread(target=work) for _ in range(2)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert len(results) == 40 and all(torch.equal(r, expected) for r in results)
        import numba
        print("layer", numba.threading_layer())
    """)
    env = {**__import__("os").environ, "NUMBA_THREADING_LAYER": "workqueue"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "layer workqueue" in done.stdout
