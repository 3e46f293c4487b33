"""The differentiable model of MyPaint strokes (``strokes.dabmodel``, ``kernels.segments``) and the
size layouts of the ``mypaint`` type."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

pytest.importorskip("numba")

from neuralpaint import kernels  # noqa: E402
from neuralpaint.checkpoints import shipped_checkpoint  # noqa: E402
from neuralpaint.errors import NeuralPaintError  # noqa: E402
from neuralpaint.renderers import load_renderer  # noqa: E402
from neuralpaint.strokes import dabmodel, get_stroke_type, recorded_stroke_type  # noqa: E402
from neuralpaint.strokes import libmypaint, mypaint  # noqa: E402
from neuralpaint.strokes.mypaint import base_radius  # noqa: E402
from neuralpaint.strokesfile import Strokes, load_strokes, save_strokes  # noqa: E402

try:
    libmypaint.library()
    mypaint.find_brush(mypaint.DEFAULT_BRUSH)
except NeuralPaintError as err:  # pragma: no cover - depends on the machine
    pytest.skip(f"libmypaint or the MyPaint brushes are not installed: {err}", allow_module_level=True)


@pytest.fixture(scope="module")
def st():
    return get_stroke_type("mypaint")


@pytest.fixture(scope="module")
def model(st):
    return dabmodel.brush_model(st.brush)


def cells_case(st, n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    params = st.sample_painting(n, g).double()
    rows = torch.arange(n).repeat_interleave(6)
    origins = torch.randint(-2, 62, (rows.shape[0], 2), generator=g)
    return params, rows, origins


def test_the_kernel_matches_the_tensor_code_forward_and_backward(st, model, monkeypatch):
    params, rows, origins = cells_case(st)
    weights = torch.randn(rows.shape[0], 1, 4, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    results = []
    for mode in ("", "torch"):  # the compiled kernels, then the tensor code (the CUDA path)
        monkeypatch.setenv("NEURALPAINT_KERNELS", mode)
        p = params.clone().requires_grad_(True)
        alpha = dabmodel.segment_cells(dabmodel.segments(p, 64, 64, model), rows, origins, 4)
        (alpha * weights).sum().backward()
        results.append((alpha.detach(), p.grad))
    assert kernels.enabled() is False  # the second pass really ran the tensor code
    (a_kernel, g_kernel), (a_torch, g_torch) = results
    assert a_kernel.max() > 0.05  # the cells see the strokes
    torch.testing.assert_close(a_kernel, a_torch, atol=1e-6, rtol=0)
    torch.testing.assert_close(g_kernel, g_torch, atol=1e-4 * g_torch.abs().max().item(), rtol=1e-4)


def test_the_float32_kernel_from_tables_matches_the_exact_tensor_code(st, model, monkeypatch):
    """The painter's float32 kernels read erf and exp from tables: within 1e-5 of the float64
    tensor code in alpha, and in the gradient a small fraction of its size."""
    params, rows, origins = cells_case(st, n=40, seed=3)
    weights = torch.randn(rows.shape[0], 1, 4, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    results = []
    for mode, dtype in (("", torch.float32), ("torch", torch.float64)):
        monkeypatch.setenv("NEURALPAINT_KERNELS", mode)
        p = params.to(dtype).requires_grad_(True)
        alpha = dabmodel.segment_cells(dabmodel.segments(p, 64, 64, model), rows, origins, 4)
        (alpha * weights.to(dtype)).sum().backward()
        results.append((alpha.detach().double(), p.grad.double()))
    (a_fast, g_fast), (a_exact, g_exact) = results
    assert a_exact.max() > 0.05
    torch.testing.assert_close(a_fast, a_exact, atol=1e-5, rtol=0)
    torch.testing.assert_close(g_fast, g_exact, atol=1e-3 * g_exact.abs().max().item(), rtol=1e-3)


def test_the_kernel_op_passes_gradcheck(st, model):
    params, rows, origins = cells_case(st, n=3, seed=2)
    seg = dabmodel.segments(params, 32, 32, model).detach().requires_grad_(True)
    origins = origins.clamp(0, 28) // 2
    op = lambda s: dabmodel.segment_cells(s, rows, origins, 4)  # noqa: E731
    assert op(seg).max() > 0.01
    assert torch.autograd.gradcheck(op, (seg,), eps=1e-6, atol=1e-5)


def test_the_model_imitates_libmypaint_better_than_the_gan_renderer():
    """On strokes like a painting's (64 x 64, the GAN's own size layout and size), the shipped
    model of the default brush is closer to libmypaint's alpha than the shipped GAN renderer."""
    net = load_renderer(shipped_checkpoint("mypaint"))
    st = net.stroke  # the data set's size layout
    params = st.sample_painting(64, torch.Generator().manual_seed(5))
    _, truth = st.render(params, 64, 64)
    with torch.no_grad():
        _, by_net = net.render(params, 64, 64)
        _, by_model = dabmodel.DabModel(st, dabmodel.brush_model(st.brush)).render(params, 64, 64)
    mse = lambda a: ((a - truth) ** 2).mean().item()  # noqa: E731
    assert mse(by_model) < 0.7 * mse(by_net)


def test_a_fit_is_deterministic_and_improves_on_its_start(st):
    small = dict(n=60, steps=40, size=32)
    first, second = dabmodel.fit_brush_model(st, **small), dabmodel.fit_brush_model(st, **small)
    assert first == second
    start = dabmodel.fit_brush_model(st, n=60, steps=0, size=32)
    assert first.psnr > start.psnr + 1.0


def test_a_brush_model_is_fitted_once_then_read_from_the_cache(st, tmp_path, monkeypatch, capsys):
    fits = []

    def fake_fit(stroke):
        fits.append(stroke.brush)
        return dabmodel.BrushModel(stroke.brush, rc=0.5, psnr=30.0)

    monkeypatch.setenv("NEURALPAINT_CACHE", str(tmp_path))
    monkeypatch.setattr(dabmodel, "fit_brush_model", fake_fit)
    monkeypatch.setattr(dabmodel, "shipped_models", lambda: {})
    try:
        dabmodel.brush_model.cache_clear()
        first = dabmodel.brush_model("classic/charcoal")
        assert fits == ["classic/charcoal"] and "fitting" in capsys.readouterr().err
        (cached,) = (tmp_path / "brush_models").glob("*.json")
        assert json.loads(cached.read_text())["rc"] == 0.5
        dabmodel.brush_model.cache_clear()  # a new process: read from the file, not fitted
        assert dabmodel.brush_model("classic/charcoal") == first and fits == ["classic/charcoal"]
    finally:
        dabmodel.brush_model.cache_clear()


def test_the_shipped_table_serves_the_default_brush(st):
    entry = dabmodel.shipped_models().get(dabmodel.model_key(st))
    assert entry is not None and entry["psnr"] > 25


def test_fine_sizes_reach_a_quarter_of_the_data_sets_smallest_radius():
    fine, dataset = get_stroke_type("mypaint"), get_stroke_type("mypaint", sizes="dataset")
    assert base_radius(0.0, 256, "fine") == pytest.approx(1.0) and base_radius(0.0, 256, "dataset") == pytest.approx(4.0)
    assert base_radius(1.0, 256, "fine") == pytest.approx(base_radius(1.0, 256, "dataset"))
    thin = torch.tensor([[0.6, 0.0, 0.5, 0.5, 0.9, 0.5, 0.1, 0.2, 0.3, 0.1, 0.5, 0.6]])
    assert fine.render(thin, 64, 64)[1].sum() < 0.5 * dataset.render(thin, 64, 64)[1].sum()
    with pytest.raises(NeuralPaintError, match="sizes"):
        get_stroke_type("mypaint", sizes="huge")


def test_files_recorded_without_sizes_keep_the_data_sets_layout(tmp_path):
    params = np.random.default_rng(0).random((3, 12)).astype(np.float32)
    old = tmp_path / "old.npz"
    save_strokes(Strokes("mypaint", params, 64, 64, (1.0, 1.0, 1.0), {"brush": "classic/dry_brush"}), old)
    assert load_strokes(old).stroke().sizes == "dataset"
    assert recorded_stroke_type("mypaint", {"sizes": "fine"}).sizes == "fine"
    # the brush too: files recorded before options were written got the brush of the time
    older = tmp_path / "older.npz"
    save_strokes(Strokes("mypaint", params, 64, 64, (1.0, 1.0, 1.0), {}), older)
    assert load_strokes(older).stroke().options == {"brush": "classic/dry_brush", "sizes": "dataset"}
    assert recorded_stroke_type("mypaint", {"brush": "deevad/brush"}).brush == "deevad/brush"
    assert load_renderer(shipped_checkpoint("mypaint")).stroke.sizes == "dataset"
