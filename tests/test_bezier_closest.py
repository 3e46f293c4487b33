"""The Bezier engines' deepest-point search against brute force: dense samples of the curve."""
from __future__ import annotations

import pytest
import torch

from neuralpaint.strokes import bezier, get_stroke_type
from neuralpaint.strokes.base import make_grid


def brute_depth(params: torch.Tensor, height: int, width: int, samples: int = 2049):
    """``min_t |B(t) - p| - r(t)`` over ``samples`` values of ``t`` (float64), ``(B, H, W)``,
    and the most by which it can exceed the true minimum (half a sample step of travel)."""
    p = params.double()
    scale = max(height, width)
    t = torch.linspace(0, 1, samples, dtype=torch.float64)
    P0, P1, P2 = (p[:, i:i + 2] * torch.tensor([width, height], dtype=torch.float64) for i in (0, 2, 4))
    curve = ((1 - t)[None, :, None] ** 2 * P0[:, None] + 2 * ((1 - t) * t)[None, :, None] * P1[:, None]
             + t[None, :, None] ** 2 * P2[:, None])  # (B, T, 2)
    r0, r2 = p[:, 6] * bezier.MAX_RADIUS * scale, p[:, 7] * bezier.MAX_RADIUS * scale
    radius = r0[:, None] + (r2 - r0)[:, None] * t
    xs = torch.arange(width, dtype=torch.float64) + 0.5
    ys = torch.arange(height, dtype=torch.float64) + 0.5
    best = torch.full((p.shape[0], height, width), float("inf"), dtype=torch.float64)
    for j in range(samples):
        d = torch.hypot(xs[None, None, :] - curve[:, j, 0, None, None], ys[None, :, None] - curve[:, j, 1, None, None])
        best = torch.minimum(best, d - radius[:, j, None, None])
    speed = torch.maximum((P1 - P0).norm(dim=1), (P2 - P1).norm(dim=1)) * 2 + (r2 - r0).abs()
    return best, (speed / (2 * (samples - 1))).view(-1, 1, 1)


def engine_depth(params: torch.Tensor, height: int, width: int) -> torch.Tensor:
    grid = make_grid(params.shape[0], height, width, None, None, params.device, params.dtype)
    with torch.no_grad():
        near, radius = bezier.tapered_curve(params, grid)
    return (near.distance - radius).double()


# extreme tapers: a half-width near 0 at one end, strongly bent (the old Newton search left holes)
EXTREME = torch.tensor([[0.1, 0.8, 0.9, 0.9, 0.3, 0.1, 0.9, 0.0],
                        [0.2, 0.2, 0.9, 0.5, 0.2, 0.8, 0.0, 1.0],
                        [0.2, 0.5, 0.9, 0.1, 0.25, 0.55, 0.6, 0.02]])


def test_depth_matches_brute_force_on_random_curves():
    gen = torch.Generator().manual_seed(5)
    curves = torch.rand(12, 6, generator=gen)
    widths = torch.rand(12, 2, generator=gen) * 0.4
    widths[:4] = 0.0  # plain closest point (k = 0, r = 0)
    params = torch.cat([curves, widths], dim=1)
    ref, slack = brute_depth(params, 64, 80)
    got = engine_depth(params, 64, 80)
    near = ref < 0.5  # where the stroke can cover a pixel
    err = (got - ref)[near.expand_as(got)]
    # the engine's depth is |B(t) - p| - r(t) at its t, so never below the true minimum
    assert ((got - ref)[near] >= -(slack.expand_as(ref)[near] + 1e-3)).all()
    # rare pixels still land on a slightly worse local minimum (3 of 4058 here, at most 1.3 px;
    # the former search: 151, up to 14.6 px)
    assert (err.abs() > 0.05).float().mean() < 0.002
    assert err.abs().max() < 2.0
    assert (err.abs() > 0.01).float().mean() < 0.01
    # pixels the engine skips as uncovered are uncovered
    assert (ref[got >= 0.5] >= 0.5 - slack.expand_as(ref)[got >= 0.5]).all()


def test_closest_point_without_taper_matches_brute_force():
    gen = torch.Generator().manual_seed(6)
    points = torch.rand(8, 6, generator=gen)
    grid = make_grid(8, 48, 48, None, None, torch.device("cpu"), torch.float32)
    with torch.no_grad():
        near = bezier.closest_point(points, torch.zeros(8), grid)
    ref, slack = brute_depth(torch.cat([points, torch.zeros(8, 2)], dim=1), 48, 48)
    close = ref < 0.5  # elsewhere pixels certainly uncovered get distance = radius + 1 (= 1)
    err = (near.distance.double() - ref)[close].abs()
    assert (err > 0.02 + slack.max()).float().mean() < 0.03  # 1.9 % measured (pixels on the spine)
    assert err.max() < 2.5
    assert (near.distance[~close] >= 0.5).all()


def test_extreme_tapers_have_no_holes():
    st = get_stroke_type("markerpen")
    params = torch.cat([EXTREME, torch.tensor([[0.2, 0.2, 0.2, 1.0]]).expand(3, 4)], dim=1)
    size = 192
    ref, _ = brute_depth(params, size, size)
    with torch.no_grad():
        _, alpha = st.render(params, size, size)
    # coverage of the exact shape (box filter of the depth, as the engine)
    got = alpha[:, 0].double()
    inside = ref < -0.6  # certainly covered by the union of discs
    assert inside.sum() > 1000
    assert got[inside].min() > 0.99, "holes along the spine"
    exact = (0.5 - ref).clamp(0, 1)  # a box filter across the outline (ignores the far side)
    assert (got - exact).abs().mean() < 0.005


def test_extreme_tapers_match_brute_force_in_depth():
    params = EXTREME
    ref, _ = brute_depth(params, 128, 128)
    got = engine_depth(params, 128, 128)
    near = ref < 0.5
    assert (got - ref)[near].abs().max() < 0.1


@pytest.mark.parametrize("name", ["markerpen", "watercolor"])
def test_tiles_equal_whole_window(name):
    """Rendering in 64-pixel tiles (as ``render_painting`` does) gives the same pixels as one window."""
    st = get_stroke_type(name)
    p = st.sample_painting(3, torch.Generator().manual_seed(4))
    H = W = 256
    colour, alpha = st.render(p, H, W)
    origins = torch.tensor([[y, x] for y in range(0, H, 64) for x in range(0, W, 64)], dtype=torch.float32)
    for i in range(p.shape[0]):
        tc, ta = st.render(p[i:i + 1].expand(len(origins), -1), H, W, window=(64, 64), offset=origins)
        for j, (y, x) in enumerate(origins.long().tolist()):
            torch.testing.assert_close(ta[j], alpha[i, :, y:y + 64, x:x + 64], atol=2e-3, rtol=0)
            torch.testing.assert_close(tc[j] * ta[j], (colour * alpha)[i, :, y:y + 64, x:x + 64], atol=2e-3, rtol=0)
