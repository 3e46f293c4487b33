"""The tile compositor (neuralpaint.canvas.cells): same pictures and gradients as compositing stroke by
stroke over whole canvases, on several canvases, odd sizes, opaque strokes and both renderers."""

import pytest
import torch

from neuralpaint.checkpoints import save_checkpoint
from neuralpaint.canvas.compositing import composite_in_order
from neuralpaint.nets import build_net, renderer_config
from neuralpaint.renderers import EngineRenderer, load_renderer
from neuralpaint.strokes import get_stroke_type
from neuralpaint.canvas.cells import composite_cells, stroke_cells, cell_layout, visible_alpha


def _painting(stroke_type, n, seed, dtype=torch.float64):
    stroke = get_stroke_type(stroke_type)
    params = stroke.sample_painting(n, torch.Generator().manual_seed(seed)).to(dtype)
    params[: n // 3, stroke.shape] *= 0.3  # some small strokes too
    return stroke, params


def _tiled(stroke, params, background, tile, canvas=None):
    C = 1 if background.dim() == 3 else background.shape[0]
    H, W = background.shape[-2:]
    layout = stroke_cells(stroke, params, H, W, tile, canvas, C)
    colour, alpha = EngineRenderer(stroke).render_cells(params, layout.rows, H, W, tile, layout.origins)
    return composite_cells(colour, alpha, layout, background)


@pytest.mark.parametrize("stroke_type", ["rectangle", "oilpaintbrush", "markerpen"])
@pytest.mark.parametrize("tile, height, width", [(4, 20, 24), (3, 17, 26), (8, 33, 9)])
def test_tiles_match_whole_canvas_compositing(stroke_type, tile, height, width):
    """Picture and gradients (strokes and background) equal autograd through whole-canvas
    compositing, also where the canvas is not a whole number of tiles."""
    stroke, params = _painting(stroke_type, 12, seed=3)
    gen = torch.Generator().manual_seed(5)
    background = torch.rand(3, height, width, generator=gen, dtype=torch.float64)
    weights = torch.rand(3, height, width, generator=gen, dtype=torch.float64)

    def grads(draw):
        p, bg = params.clone().requires_grad_(True), background.clone().requires_grad_(True)
        image = draw(p, bg)
        (image * weights).sum().backward()
        return image.detach(), p.grad, bg.grad

    tiled = grads(lambda p, bg: _tiled(stroke, p, bg, tile))
    dense = grads(lambda p, bg: composite_in_order(*stroke.render(p, height, width), bg))
    for a, b in zip(tiled, dense):
        assert torch.allclose(a, b, atol=1e-9)


def test_several_canvases_share_one_layout():
    stroke, params = _painting("rectangle", 15, seed=8)
    canvas = torch.tensor([0, 2, 1] * 5)
    backgrounds = torch.rand(3, 3, 16, 20, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    out = _tiled(stroke, params, backgrounds, 4, canvas)
    assert out.shape == (3, 3, 16, 20)
    for c in range(3):
        mine = params[canvas == c]
        expected = composite_in_order(*stroke.render(mine, 16, 20), backgrounds[c])
        assert torch.allclose(out[c], expected, atol=1e-9)


def test_opaque_strokes_hide_what_is_below():
    """Fully opaque strokes let at most ALPHA_CAP of what is below through."""
    stroke, params = _painting("rectangle", 10, seed=2, dtype=torch.float32)
    params[:, stroke.alpha] = 1.0
    background = torch.rand(3, 24, 24, generator=torch.Generator().manual_seed(0))
    expected = composite_in_order(*stroke.render(params, 24, 24), background)
    assert (_tiled(stroke, params, background, 4) - expected).abs().max() < 1e-5


@pytest.mark.parametrize("stroke_type", ["rectangle", "oilpaintbrush"])
@pytest.mark.parametrize("H, W, t", [(40, 56, 4), (37, 23, 3), (64, 64, 8)])
def test_culled_tiles_are_empty(stroke_type, H, W, t):
    """``cells_touched`` drops only cells where the stroke has no alpha at all."""
    stroke, params = _painting(stroke_type, 150, seed=4, dtype=torch.float32)
    params[::7, stroke.shape][:, 2:4] *= 0.05  # some hairlines
    boxes = stroke.bounding_boxes(params, H, W)
    full = cell_layout(boxes, H, W, t)
    kept = stroke_cells(stroke, params, H, W, t)
    assert 0 < len(kept) < len(full)
    _, alpha = EngineRenderer(stroke).render_cells(params, full.rows, H, W, t, full.origins)
    painted = alpha.flatten(1).amax(1) > 0
    kept_keys = set(zip(kept.rows.tolist(), kept.cells.tolist()))
    for row, cell in zip(full.rows[painted].tolist(), full.cells[painted].tolist()):
        assert (row, cell) in kept_keys


def test_visible_alpha_matches_dense_transmittance():
    stroke, params = _painting("oilpaintbrush", 10, seed=6)
    _, alpha = stroke.render(params, 20, 28)
    clear, expected = torch.ones(20, 28, dtype=torch.float64), []
    for a in reversed(alpha[:, 0]):
        expected.insert(0, (a * clear).sum())
        clear = clear * (1 - a)
    layout = stroke_cells(stroke, params, 20, 28, 4)
    _, tiles = EngineRenderer(stroke).render_cells(params, layout.rows, 20, 28, 4, layout.origins)
    assert torch.allclose(visible_alpha(tiles, layout, 10), torch.stack(expected), atol=1e-9)


@pytest.mark.parametrize("height, width", [(40, 40), (30, 52)])
def test_neural_render_tiles_crop_the_whole_canvas_render(tmp_path, height, width):
    stroke = get_stroke_type("rectangle")
    tiny = dict(size=32, pixel_shuffle=dict(fc=(32, 256), base=8, channels=(8, 8)), deconv=dict(channels=(32, 16, 8)))
    net = build_net(renderer_config("fusion", 9, 5, **tiny)).eval()
    renderer = load_renderer(save_checkpoint(tmp_path / "r.pt", net, stroke, steps=1))
    p = stroke.sample(3, torch.Generator().manual_seed(1))
    colour, alpha = renderer.render(p, height, width)
    layout = cell_layout(torch.tensor([[0.0, 0.0, height, width]] * 3), height, width, 8)
    tc, ta = renderer.render_cells(p, layout.rows, height, width, 8, layout.origins)
    for k, (row, (y, x)) in enumerate(zip(layout.rows.tolist(), layout.origins.tolist())):
        h, w = min(8, height - y), min(8, width - x)
        assert torch.allclose(tc[k, :, :h, :w], colour[row, :, y : y + h, x : x + w], atol=1e-5)
        assert torch.allclose(ta[k, :, :h, :w], alpha[row, :, y : y + h, x : x + w], atol=1e-5)


def test_bad_inputs_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"boxes must be \(N, 4\)"):
        cell_layout(torch.zeros(3, 3), 8, 8, 4)
    with pytest.raises(ValueError, match="cell size and canvas size must be positive"):
        cell_layout(torch.zeros(3, 4), 8, 8, 0)
    layout = cell_layout(torch.tensor([[0.0, 0.0, 8.0, 8.0]]), 8, 8, 4)
    with pytest.raises(ValueError, match="expected colour"):
        composite_cells(torch.zeros(4, 3, 4, 4), torch.zeros(3, 1, 4, 4), layout, torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="does not fit"):
        composite_cells(torch.zeros(4, 3, 4, 4), torch.zeros(4, 1, 4, 4), layout, torch.zeros(3, 16, 8))
    assert len(layout) == 4


def test_strokes_off_the_canvas_leave_the_background():
    stroke, params = _painting("rectangle", 4, seed=1)
    params[:, 0] = 3.0  # centres far to the right of the canvas
    params[:, 2:4] = 0.05
    background = torch.rand(3, 12, 16, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    layout = stroke_cells(stroke, params, 12, 16, 4)
    assert len(layout) == 0
    assert torch.equal(_tiled(stroke, params, background, 4), background)
