"""The engine in the loop (``renderers.HybridRenderer``): libmypaint's pixels forward, the renderer
net's gradients backward, in the painter's levels and in its whole-canvas refinement.

Skipped as a whole when libmypaint, the MyPaint brushes or the shipped ``checkpoints/mypaint.pt``
are missing.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from neuralpaint import NeuralPaintError
from neuralpaint.canvas.cells import stroke_cells
from neuralpaint.canvas.compositing import blank_canvas
from neuralpaint.canvas.render import render_painting
from neuralpaint.checkpoints import save_checkpoint, shipped_checkpoint
from neuralpaint.painter import PaintConfig, make_renderer
from neuralpaint.painter.refine import refine, render_over
from neuralpaint.renderers import HybridRenderer, ModelRenderer, NeuralRenderer, load_renderer
from neuralpaint.strokes import get_stroke_type
from neuralpaint.strokes.base import StrokeType
from helpers import assert_user_error, have_mypaint, run_cli

if not have_mypaint():  # pragma: no cover - depends on the machine
    pytest.skip("libmypaint or the MyPaint brushes are not installed", allow_module_level=True)
if not shipped_checkpoint("mypaint").is_file():  # pragma: no cover
    pytest.skip("no shipped checkpoints/mypaint.pt", allow_module_level=True)


@pytest.fixture(scope="module")
def net() -> NeuralRenderer:
    return load_renderer(shipped_checkpoint("mypaint"), "mypaint")


@pytest.fixture
def hybrid(net) -> HybridRenderer:
    return HybridRenderer(net)


def strokes(n: int, seed: int = 0) -> torch.Tensor:
    """``(n, 12)`` mypaint strokes sized like a painting's."""
    return get_stroke_type("mypaint", brush="classic/dry_brush", sizes="dataset").sample_painting(n, torch.Generator().manual_seed(seed))


def engine_l2(params: torch.Tensor, photo: torch.Tensor) -> float:
    """Mean squared error of libmypaint's render of ``params`` (on white) against ``photo (3, H, W)``."""
    _, H, W = photo.shape
    return F.mse_loss(render_painting(get_stroke_type("mypaint", brush="classic/dry_brush", sizes="dataset"), params, H, W), photo).item()


def test_forward_values_are_libmypaints_render(hybrid):
    """Whole canvases and cells: the values are libmypaint's own render of the same strokes."""
    st = hybrid.stroke
    p = strokes(6)
    colour, alpha = hybrid.render(p, 32, 48)
    engine_colour, engine_alpha = st.render(p, 32, 48)
    assert colour.shape == (6, 3, 32, 48) and alpha.shape == (6, 1, 32, 48)
    torch.testing.assert_close(colour, engine_colour, atol=1e-5, rtol=0)
    torch.testing.assert_close(alpha, engine_alpha, atol=1e-5, rtol=0)
    assert (hybrid.net.render(p, 32, 48)[1] - engine_alpha).abs().max() > 0.05  # the net alone differs

    layout = stroke_cells(st, p, 32, 48, 4)
    colour, alpha = hybrid.render_cells(p, layout.rows, 32, 48, 4, layout.origins)
    # the generic path: one libmypaint window per (stroke, cell) pair
    engine_colour, engine_alpha = StrokeType.render_cells(st, p, layout.rows, 32, 48, 4, layout.origins)
    torch.testing.assert_close(colour, engine_colour, atol=1e-5, rtol=0)
    torch.testing.assert_close(alpha, engine_alpha, atol=1e-5, rtol=0)


def test_mypaint_cells_are_the_per_pair_windows():
    """``MyPaint.render_cells`` (each stroke drawn once, cut into cells) gives the pixels of the
    generic window-per-pair path, also for cells reaching past the canvas."""
    st = get_stroke_type("mypaint")
    p = strokes(5, seed=3)
    for H, W in ((24, 40), (37, 37)):
        layout = stroke_cells(st, p, H, W, 4)
        fast = st.render_cells(p, layout.rows, H, W, 4, layout.origins)
        slow = StrokeType.render_cells(st, p, layout.rows, H, W, 4, layout.origins)
        for a, b in zip(fast, slow):
            assert torch.equal(a, b)


def test_only_moved_strokes_are_drawn_again(net):
    """Corrections are kept: the same strokes again draw nothing; moving one stroke draws it alone;
    with a tolerance, small moves keep the old correction on the net's new picture."""
    p = strokes(4)
    exact = HybridRenderer(net)
    first = exact.render(p, 32, 32)
    assert exact.engine_draws == 4
    again = exact.render(p, 32, 32)
    assert exact.engine_draws == 4 and all(torch.equal(a, b) for a, b in zip(first, again))
    moved = p.clone()
    moved[2, 2] += 0.1  # the middle point of stroke 2
    colour, alpha = exact.render(moved, 32, 32)
    assert exact.engine_draws == 5
    torch.testing.assert_close(alpha, exact.stroke.render(moved, 32, 32)[1], atol=1e-5, rtol=0)

    lazy = HybridRenderer(net, tolerance=0.2)
    lazy.render(p, 32, 32)
    colour, alpha = lazy.render(moved, 32, 32)
    assert lazy.engine_draws == 4  # within the tolerance: not drawn again
    net_before, net_after = net.render(p, 32, 32)[1], net.render(moved, 32, 32)[1]
    engine_before = lazy.stroke.render(p, 32, 32)[1]
    torch.testing.assert_close(alpha, net_after + (engine_before - net_before), atol=1e-5, rtol=0)
    further = moved.clone()
    further[2, 2] += 0.15  # 0.25 from where stroke 2 was drawn, 0.15 from the last call
    colour, alpha = lazy.render(further, 32, 32)
    assert lazy.engine_draws == 5  # the tolerance counts from the last draw, not from the last call
    torch.testing.assert_close(alpha, lazy.stroke.render(further, 32, 32)[1], atol=1e-5, rtol=0)
    with pytest.raises(NeuralPaintError, match="tolerance"):
        HybridRenderer(net, tolerance=-1.0)


def test_engine_draws_only_every_nth_render(net):
    """``every=3``: the 1st and 4th renders draw moved strokes; the renders between draw nothing,
    keep each stroke's last correction while it moved less than ``STALE`` (the net's new picture
    plus the old correction), and show the net alone for a stroke that jumped further."""
    p = strokes(4)
    lazy = HybridRenderer(net, every=3)
    lazy.render(p, 32, 32)
    assert lazy.engine_draws == 4
    moved = p.clone()
    moved[1, 2] += 0.05  # within STALE
    moved[3, [2, 4, 9]] += 0.3  # a jump (as a restarted stroke)
    grad_at = moved.clone().requires_grad_(True)
    colour, alpha = lazy.render(grad_at, 32, 32)
    assert lazy.engine_draws == 4
    alpha.sum().backward()  # the net's gradient flows on renders that draw nothing
    assert torch.isfinite(grad_at.grad).all() and grad_at.grad.abs().sum() > 0
    alpha = alpha.detach()
    net_before, net_after = net.render(p, 32, 32)[1], net.render(moved, 32, 32)[1]
    engine_before = lazy.stroke.render(p, 32, 32)[1]
    torch.testing.assert_close(alpha[:3], (net_after + engine_before - net_before)[:3], atol=1e-5, rtol=0)
    torch.testing.assert_close(alpha[3], net_after[3], atol=1e-5, rtol=0)
    lazy.render(moved, 32, 32)
    assert lazy.engine_draws == 4
    colour, alpha = lazy.render(moved, 32, 32)  # the 4th: strokes 1 and 3 moved since their draw
    assert lazy.engine_draws == 6
    torch.testing.assert_close(alpha, lazy.stroke.render(moved, 32, 32)[1], atol=1e-5, rtol=0)
    with pytest.raises(NeuralPaintError, match="every"):
        HybridRenderer(net, every=0)


def test_gradient_is_finite_and_lowers_the_engines_loss(hybrid):
    """On a tiny painting whose strokes are off (colours greyed, positions moved), the gradient
    through the hybrid is finite, reaches every kind of parameter, and a small step against it
    brings libmypaint's own render closer to the photo."""
    target = strokes(8, seed=1)
    photo = render_painting(hybrid.stroke, target, 32, 32)
    start = target.clone()
    start[:, 6:9] = 0.5 * start[:, 6:9] + 0.25
    start[:, [2, 4, 9]] += 0.04
    start = start.clamp(0, 1)
    params = start.clone().requires_grad_(True)
    painted = render_over(hybrid, params, blank_canvas(32, 32, (1.0, 1.0, 1.0)))
    loss = F.mse_loss(painted, photo)
    assert loss.item() == pytest.approx(engine_l2(start, photo), rel=1e-4)  # the loss is the engine's
    loss.backward()
    grad = params.grad
    assert torch.isfinite(grad).all()
    assert (grad[:, 6:9].abs().sum(0) > 0).all() and grad[:, [2, 4, 9]].abs().sum() > 0
    step = (start - 0.05 * grad / grad.abs().max()).clamp(0, 1)
    assert engine_l2(step, photo) < 0.97 * engine_l2(start, photo)


def test_refinement_improves_libmypaints_picture(hybrid):
    """The whole-canvas refinement through the hybrid lowers the L2 of libmypaint's render of the
    strokes (what the final picture is), not only of the net's picture."""
    target = strokes(10, seed=2)
    photo = render_painting(hybrid.stroke, target, 32, 32)
    start = target.clone()
    start[:, 6:9] = 0.6 * start[:, 6:9] + 0.2
    start[:, [3, 5, 10]] -= 0.03
    start = start.clamp(0, 1)
    refined = refine(hybrid, start, photo, (1.0, 1.0, 1.0), steps=12, lr=0.01, resolution=32)
    assert refined.shape == start.shape
    assert engine_l2(refined, photo) < 0.8 * engine_l2(start, photo)


def test_painter_uses_the_engine_in_the_loop_for_mypaint():
    """``--renderer auto`` for mypaint: the hybrid over the dab model (exact, so the refinement
    may run, by default the stroke type's steps); ``engine_in_loop=False``: the model alone;
    ``--renderer neural``: the GAN net, which paints only the data set's size layout."""
    cfg = PaintConfig(stroke="mypaint")
    renderer = make_renderer(cfg, torch.device("cpu"))
    assert isinstance(renderer, HybridRenderer) and renderer.exact and renderer.tolerance == 0.0
    assert isinstance(renderer.net, ModelRenderer) and renderer.draws_cells
    assert cfg.resolved(renderer).refine_steps == renderer.stroke.refine_steps
    assert PaintConfig(stroke="mypaint", refine_steps=7).resolved(renderer).refine_steps == 7
    alone = make_renderer(PaintConfig(stroke="mypaint", engine_in_loop=False), torch.device("cpu"))
    assert isinstance(alone, ModelRenderer) and not alone.exact
    net = make_renderer(PaintConfig(stroke="mypaint", renderer="neural", stroke_options={"brush": "classic/dry_brush", "sizes": "dataset"},
                                    engine_in_loop=False), torch.device("cpu"))
    assert isinstance(net, NeuralRenderer)
    assert PaintConfig(stroke="mypaint", refine_steps=7).resolved(net).refine_steps == 0
    with pytest.raises(NeuralPaintError, match="sizes"):  # the net's layout is not the default one
        make_renderer(PaintConfig(stroke="mypaint", renderer="neural"), torch.device("cpu"))
    with pytest.raises(NeuralPaintError, match="no differentiable model"):
        make_renderer(PaintConfig(stroke="rectangle", renderer="model"), torch.device("cpu"))
    lazy = make_renderer(PaintConfig(stroke="mypaint", engine_tolerance=0.05), torch.device("cpu"))
    assert lazy.tolerance == 0.05
    with pytest.raises(NeuralPaintError, match="engine-tolerance"):
        PaintConfig(engine_tolerance=-0.1).validate()
    assert make_renderer(PaintConfig(stroke="mypaint", engine_every=3), torch.device("cpu")).every == 3
    with pytest.raises(NeuralPaintError, match="engine-every"):
        PaintConfig(engine_every=0).validate()
    # differentiable engines paint through the engine; --renderer neural stays the net alone
    assert not isinstance(make_renderer(PaintConfig(stroke="rectangle"), torch.device("cpu")), HybridRenderer)


def test_block_sizes_move_to_the_canvas_unclamped():
    """The painter holds a block's mypaint sizes where ``to_canvas`` keeps them: a stroke drawn
    in a block is the stroke the canvas shows (no thickening of thin strokes, no thinning at the
    first level, whose window is larger than the canvas)."""
    st = get_stroke_type("mypaint")
    p = torch.rand(200, 12, generator=torch.Generator().manual_seed(0))
    for window, canvas in ((77, 256), (384, 256), (256, 256)):
        held = st.keep_for_canvas_(p.clone(), window / canvas)
        moved = st.to_canvas(held, (0, 0, window, window), canvas, canvas)
        torch.testing.assert_close(moved[:, 1], held[:, 1] + np.log(window / canvas) / st.size_span)
        assert (moved[:, 1] >= 0).all() and (moved[:, 1] <= 1).all()
    assert get_stroke_type("rectangle").keep_for_canvas_(p[:, :9].clone(), 0.3).equal(p[:, :9])


@pytest.mark.parametrize("case, words", [("brush", ["trained with", "classic/charcoal"]),
                                         ("layout", ["takes 9 params", "mypaint has 12"]),
                                         ("type", ["for stroke type 'rectangle'"])])
def test_a_net_for_another_brush_or_layout_is_refused_in_one_line(tmp_path, capsys, case, words):
    """``paint --stroke mypaint --checkpoint NET`` with a net trained for another brush, for
    another parameter layout, or for another stroke type: one ``neuralpaint: error:`` line."""
    from neuralpaint.nets import build_net, renderer_config

    if case == "brush":
        net, stroke = build_net(renderer_config("gan", 12, 12, size=16, gan={"width": 4, "fc": 32})), \
            get_stroke_type("mypaint", brush="classic/charcoal")
    elif case == "layout":
        net, stroke = build_net(renderer_config("gan", 9, 9, size=16, gan={"width": 4, "fc": 32})), \
            get_stroke_type("mypaint")
    else:
        net, stroke = build_net(renderer_config("gan", 9, 9, size=16, gan={"width": 4, "fc": 32})), \
            get_stroke_type("rectangle")
    checkpoint = save_checkpoint(tmp_path / "net.pt", net, stroke, steps=0)
    photo = tmp_path / "photo.png"
    import cv2

    cv2.imwrite(str(photo), np.full((16, 16, 3), 128, np.uint8))
    status, _, err = run_cli(capsys, "paint", "--img", photo, "--stroke", "mypaint", "--size", "16",
                             "--max-strokes", "2", "--checkpoint", checkpoint, "--no-animation", "-q",
                             "--out", tmp_path / "out")
    assert_user_error(status, err, *words)


def test_tiny_painting_with_the_engine_in_the_loop_is_deterministic(tmp_path):
    """A tiny painting through the hybrid, with its refinement: the same seed gives the same
    strokes, and the final picture is libmypaint's render of them."""
    from neuralpaint.painter import paint_image

    photo = np.zeros((24, 24, 3), np.float32)
    photo[:, :12] = (0.8, 0.2, 0.1)
    photo[:, 12:] = (0.1, 0.3, 0.7)
    cfg = PaintConfig(stroke="mypaint", size=24, max_strokes=6, max_divide=2, iters_per_stroke=3, refine_steps=3,
                      device="cpu")
    first, state, _ = paint_image(photo, cfg)
    second, _, _ = paint_image(photo, cfg)
    assert np.array_equal(first.params, second.params)
    assert first.metadata["config"]["engine_in_loop"] is None and state.log[-1]["level"] == "refine"
    again = render_painting(get_stroke_type("mypaint"), torch.from_numpy(first.params), 24, 24)
    torch.testing.assert_close(state.canvas, again, atol=1e-5, rtol=0)
