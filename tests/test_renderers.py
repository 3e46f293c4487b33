"""Renderer nets, training loop, checkpoints, eval-renderer."""
from __future__ import annotations

import json

import pytest
import torch

from neuralpaint import NeuralPaintError
from neuralpaint.cli import main
from neuralpaint.nets import build_net, net_names, renderer_config
from neuralpaint.checkpoints import load_net, read_checkpoint, save_checkpoint
from neuralpaint.renderers import EngineRenderer, load_renderer
from neuralpaint.strokes import get_stroke_type
from neuralpaint.training.train import TrainConfig, evaluate, train_renderer

# a tiny fusion net for fast tests: 32x32 output
TINY = dict(size=32, pixel_shuffle=dict(fc=(32, 256), base=8, channels=(8, 8)),
            deconv=dict(channels=(32, 16, 8)))


def tiny_config(stroke="rectangle", **kw) -> TrainConfig:
    base = dict(stroke=stroke, net="fusion", net_overrides=TINY, steps=6, batch_size=8, val_size=16,
                eval_every=3, sample_every=3, save_every_seconds=0.0, lr=1e-3, device="cpu")
    base.update(kw)
    return TrainConfig.from_yaml(None, **base)


@pytest.mark.parametrize("name", net_names())
def test_every_net_maps_params_to_colour_and_mask(name):
    cfg = renderer_config(name, 12, 5)
    net = build_net(cfg).eval()
    colour, mask = net(torch.rand(3, 12))
    s = cfg.size
    assert colour.shape == (3, 3, s, s) and mask.shape == (3, 1, s, s)
    for t in (colour, mask):
        assert torch.isfinite(t).all() and t.min() >= 0 and t.max() <= 1
    with pytest.raises(ValueError, match=r"\(B, 12\), got \(3, 9\)"):
        net(torch.rand(3, 9))


def test_published_sizes():
    count = lambda n: sum(p.numel() for p in build_net(renderer_config(n, 12, 5)).parameters())  # noqa: E731
    assert 17e6 < count("fusion") < 19e6  # the published dual-pathway net is ~18 M
    assert count("fusion-light") <= 6e6
    assert renderer_config("fusion", 12, 5).size == 128
    assert renderer_config("fusion-light", 12, 5).size == 64


def test_fusion_mask_depends_only_on_shape():
    net = build_net(renderer_config("fusion", 9, 5, **TINY)).eval()
    p = torch.rand(2, 9)
    q = p.clone()
    q[:, 5:] = torch.rand(2, 4)  # change colour and alpha only
    torch.testing.assert_close(net(p)[1], net(q)[1])


def test_coordinate_channels_are_pixel_centres():
    from neuralpaint.nets.layers import coordinate_channels

    out = coordinate_channels(torch.zeros(2, 3, 4, 8))
    assert out.shape == (2, 5, 4, 8)
    torch.testing.assert_close(out[0, 3, :, 0], torch.tensor([-0.75, -0.25, 0.25, 0.75]))  # y down the rows
    torch.testing.assert_close(out[1, 4, 0, :2], torch.tensor([-0.875, -0.625]))  # x along the columns
    assert (out[:, :3] == 0).all()
    with pytest.raises(ValueError, match=r"\(B, C, H, W\) tensor, got shape \(3, 4\)"):
        coordinate_channels(torch.zeros(3, 4))


def test_coordinate_convolutions_get_gradients():
    net = build_net(renderer_config("fusion", 9, 5, **dict(TINY, pixel_shuffle=dict(TINY["pixel_shuffle"], coords=True))))
    p = torch.rand(2, 9, requires_grad=True)
    colour, mask = net(p)
    (colour * mask).sum().backward()
    assert p.grad[:, :5].abs().sum() > 0 and torch.isfinite(p.grad).all()


def test_a_few_training_steps_lower_the_loss(tmp_path):
    torch.manual_seed(0)
    stroke = get_stroke_type("rectangle")
    cfg = tiny_config(steps=40, eval_every=40, sample_every=1000)
    val = stroke.sample(32, torch.Generator().manual_seed(5))
    net = build_net(renderer_config("fusion", 9, 5, **TINY))
    before = evaluate(net, stroke, val)["psnr"]
    train_renderer(cfg, tmp_path / "run", progress=False)
    trained, _, ckpt = load_net(tmp_path / "run" / "last.pt")
    after = evaluate(trained, stroke, val)["psnr"]
    assert after > before + 1.0
    assert ckpt["steps"] == 40


def test_run_directory_and_checkpoint_metadata(tmp_path):
    out = tmp_path / "run"
    result = train_renderer(tiny_config(), out, progress=False)
    for name in ("best.pt", "last.pt", "state.pt", "log.jsonl"):
        assert (out / name).is_file()
    assert list((out / "samples").glob("step_*.png"))
    ckpt = read_checkpoint(out / "best.pt")
    assert ckpt["stroke_type"] == "rectangle"
    assert ckpt["net_config"]["net"] == "fusion" and ckpt["net_config"]["size"] == 32
    assert set(ckpt["val"]) == {"psnr_fg", "psnr_alpha", "psnr"}
    assert ckpt["package_version"] and ckpt["train_config"]["stroke"] == "rectangle"
    assert all(v.dtype == torch.float16 for v in ckpt["state_dict"].values() if v.is_floating_point())
    lines = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [3, 6]
    assert result["steps"] == 6


def test_save_load_round_trip(tmp_path):
    stroke = get_stroke_type("oilpaintbrush", brush="dry")
    net = build_net(renderer_config("fusion", 12, 5, **TINY)).eval()
    path = save_checkpoint(tmp_path / "a.pt", net, stroke, steps=7, val={"psnr": 1.0})
    net2, stroke2, ckpt = load_net(path, stroke_type="oilpaintbrush")
    assert stroke2.options == {"brush": "dry"} and ckpt["steps"] == 7
    p = torch.rand(2, 12)
    for a, b in zip(net(p), net2(p)):
        torch.testing.assert_close(a, b)


def test_wrong_type_and_corrupt_checkpoints_are_one_line_errors(tmp_path):
    net = build_net(renderer_config("fusion", 9, 5, **TINY))
    path = save_checkpoint(tmp_path / "rect.pt", net, get_stroke_type("rectangle"), steps=1)
    with pytest.raises(NeuralPaintError, match="for stroke type 'rectangle', not 'oilpaintbrush'"):
        load_renderer(path, stroke_type="oilpaintbrush")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(NeuralPaintError, match="not a readable renderer checkpoint"):
        load_renderer(bad)
    truncated = tmp_path / "trunc.pt"
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(NeuralPaintError):
        load_renderer(truncated)
    with pytest.raises(NeuralPaintError, match="no such"):
        load_renderer(tmp_path / "missing.pt")


def test_resume_continues_from_the_saved_step(tmp_path):
    out = tmp_path / "run"
    train_renderer(tiny_config(steps=4, eval_every=2), out, progress=False)
    assert read_checkpoint(out / "last.pt")["steps"] == 4
    result = train_renderer(tiny_config(steps=8, eval_every=2), out, resume=True, progress=False)
    assert result["steps"] == 8
    steps = [json.loads(x)["step"] for x in (out / "log.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6, 8]
    with pytest.raises(NeuralPaintError, match="already holds a run"):
        train_renderer(tiny_config(), out, progress=False)
    with pytest.raises(NeuralPaintError, match="nothing to resume"):
        train_renderer(tiny_config(), tmp_path / "empty", resume=True, progress=False)


def test_resume_matches_an_uninterrupted_run(tmp_path):
    train_renderer(tiny_config(steps=6, eval_every=3), tmp_path / "a", progress=False)
    train_renderer(tiny_config(steps=3, eval_every=3), tmp_path / "b", progress=False)
    train_renderer(tiny_config(steps=6, eval_every=3), tmp_path / "b", resume=True, progress=False)
    a = read_checkpoint(tmp_path / "a" / "last.pt")["state_dict"]
    b = read_checkpoint(tmp_path / "b" / "last.pt")["state_dict"]
    for k in a:
        torch.testing.assert_close(a[k], b[k])


def test_neural_and_engine_renderers_share_one_interface(tmp_path):
    stroke = get_stroke_type("rectangle")
    net = build_net(renderer_config("fusion", 9, 5, **TINY))
    path = save_checkpoint(tmp_path / "r.pt", net, stroke, steps=1)
    p = stroke.sample(3, torch.Generator().manual_seed(0))
    for renderer in (EngineRenderer(stroke), load_renderer(path)):
        colour, alpha = renderer.render(p, 40, 40)
        assert colour.shape == (3, 3, 40, 40) and alpha.shape == (3, 1, 40, 40)
    q = p.clone()
    q[:, 8] = 0.0  # zero opacity: no alpha from the net either
    assert load_renderer(path).render(q, 32, 32)[1].abs().max() == 0


@pytest.mark.parametrize("height, width", [(40, 40), (30, 52)])
def test_render_windows_crops_the_whole_canvas_render(tmp_path, height, width):
    """Both renderers' ``render_windows`` equal ``render`` on the whole canvas, cropped."""
    stroke = get_stroke_type("rectangle")
    net = build_net(renderer_config("fusion", 9, 5, **TINY)).eval()
    path = save_checkpoint(tmp_path / "r.pt", net, stroke, steps=1)
    p = stroke.sample(4, torch.Generator().manual_seed(1))
    corners = torch.tensor([[0, 0], [5, 9], [height - 16, width - 16], [3, 20]])
    for renderer in (EngineRenderer(stroke), load_renderer(path)):
        colour, alpha = renderer.render(p, height, width)
        win_colour, win_alpha = renderer.render_windows(p, height, width, 16, corners)
        assert win_colour.shape == (4, 3, 16, 16) and win_alpha.shape == (4, 1, 16, 16)
        for k, (t, l) in enumerate(corners.tolist()):
            assert torch.allclose(win_colour[k], colour[k, :, t : t + 16, l : l + 16], atol=1e-5)
            assert torch.allclose(win_alpha[k], alpha[k, :, t : t + 16, l : l + 16], atol=1e-5)


def test_config_file_and_bad_keys(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("steps: 7\nlr: 0.01\n")
    cfg = TrainConfig.from_yaml(f, stroke="rectangle", lr=None)
    assert cfg.steps == 7 and cfg.lr == 0.01 and cfg.betas == (0.9, 0.999)
    f.write_text("stepz: 7\n")
    with pytest.raises(NeuralPaintError, match="unknown config keys: stepz"):
        TrainConfig.from_yaml(f)
    f.write_text("[1, 2")
    with pytest.raises(NeuralPaintError, match="cannot read config"):
        TrainConfig.from_yaml(f)


def test_cli_train_then_eval_json(tmp_path, capsys):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(json.dumps({"net": "fusion", "net_overrides": TINY, "val_size": 8, "eval_every": 2,
                               "sample_every": 2, "batch_size": 4}))
    out = tmp_path / "run"
    assert main(["train-renderer", "--stroke", "markerpen", "--config", str(cfg), "--steps", "2",
                 "--device", "cpu", "--out", str(out), "-q"]) == 0
    capsys.readouterr()
    assert main(["eval-renderer", str(out / "best.pt"), "--n", "16", "--device", "cpu", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"psnr_fg", "psnr_alpha", "psnr", "ms_forward", "ms_backward", "params"} <= set(result)
    assert result["ms_forward"] > 0 and result["params"] > 0


def test_cli_ctrl_c_saves_a_state_that_resumes(tmp_path, capsys, monkeypatch):
    """Ctrl-C during the fourth step of six (the periodic save is off): ``state.pt`` and ``last.pt``
    hold step 3, the command exits 130, and ``--resume`` runs only steps 4 to 6."""
    from neuralpaint.training import train as train_module

    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(json.dumps({"net": "fusion", "net_overrides": TINY, "val_size": 8, "eval_every": 100,
                               "sample_every": 100, "batch_size": 4, "save_every_seconds": 3600}))
    out = tmp_path / "run"
    args = ["train-renderer", "--stroke", "rectangle", "--config", str(cfg), "--steps", "6", "--device", "cpu",
            "--out", str(out), "-q"]
    real = train_module.ground_truth
    batches = []  # training batches drawn (the held-out set is 8 strokes, a batch 4)

    def counting(stroke, params, size, stop_at=None):
        if params.shape[0] == 4:
            batches.append(1)
            if len(batches) == stop_at:
                raise KeyboardInterrupt
        return real(stroke, params, size)

    monkeypatch.setattr(train_module, "ground_truth", lambda *a: counting(*a, stop_at=4))
    assert main(args) == 130
    assert "interrupted" in capsys.readouterr().err
    state = torch.load(out / "state.pt", weights_only=True)
    assert state["step"] == 3
    assert read_checkpoint(out / "last.pt")["steps"] == 3
    batches.clear()
    monkeypatch.setattr(train_module, "ground_truth", counting)
    assert main(args + ["--resume"]) == 0
    assert "for 6 steps" in capsys.readouterr().out
    assert len(batches) == 3  # steps 4, 5, 6 only
    assert torch.load(out / "state.pt", weights_only=True)["step"] == 6
    assert read_checkpoint(out / "last.pt")["steps"] == 6
    assert [json.loads(x)["step"] for x in (out / "log.jsonl").read_text().splitlines()] == [6]
    # the interrupted step's batch is drawn again: the same weights as a run never interrupted
    whole = tmp_path / "whole"
    assert main(args[:-2] + [str(whole), "-q"]) == 0
    a, b = (read_checkpoint(d / "last.pt")["state_dict"] for d in (whole, out))
    for k in a:
        torch.testing.assert_close(a[k], b[k], msg=k)


def test_cli_eval_bad_checkpoint_exits_2(tmp_path, capsys):
    bad = tmp_path / "x.pt"
    bad.write_text("hello")
    assert main(["eval-renderer", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and len(err.strip().splitlines()) == 1


def test_resolution_ceiling_grows_with_the_net_size():
    from neuralpaint.training.evaluation import resolution_ceiling

    at = {s: resolution_ceiling("rectangle", s, n=16, device="cpu")["psnr"] for s in (32, 64, 128)}
    assert at[32] < at[64] < 60 and at[128] == 100.0  # at 128 the reference itself (PSNR capped)
