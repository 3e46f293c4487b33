"""The GAN renderer: generator and critic, the three training phases, resume, perceptual loss, CLI."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from helpers import assert_user_error
from neuralpaint import NeuralPaintError
from neuralpaint.cli import main
from neuralpaint.training.dataset import StrokeArrays, shard_name, write_index, write_shard
from neuralpaint.nets import NETS, build_net, renderer_config
from neuralpaint.nets.gan import CONDITIONS, Critic, CriticConfig, on_white
from neuralpaint.backbones.vgg import find_vgg_weights, load_vgg
from neuralpaint.checkpoints import load_net, read_checkpoint
from neuralpaint.renderers import NeuralRenderer, load_renderer
from neuralpaint.strokes import get_stroke_type
from neuralpaint.strokes.markerpen import MarkerPen
from neuralpaint.training.train import evaluate
from neuralpaint.training.train_gan import GanConfig, ReconstructionLoss, evaluate_data, load_stroke_data, train_gan

SIZE = 16
TINY_NET = {"size": SIZE, "gan": {"width": 4, "fc": 32}}


def make_dataset(directory: Path, n: int = 96, stroke_name: str = "markerpen", size: int = SIZE,
                 seed: int = 0, shard_size: int = 64) -> Path:
    """A data set of ``n`` engine-rendered strokes (RGB on white, alpha), in shards."""
    stroke = get_stroke_type(stroke_name)
    gen = torch.Generator().manual_seed(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for k, start in enumerate(range(0, n, shard_size)):
        params = stroke.sample(min(shard_size, n - start), gen)
        params[:, 0:4] = 0.2 + 0.6 * params[:, 0:4]  # keep the strokes mostly inside the small canvas
        with torch.no_grad():
            colour, alpha = stroke.render(params, size, size)
        white = on_white(colour, alpha)
        write_shard(directory / shard_name(k), StrokeArrays(
            params.numpy().astype(np.float32),
            (white.permute(0, 2, 3, 1) * 255).round().byte().numpy(),
            (alpha[:, 0] * 255).round().byte().numpy()))
    write_index(directory, {"stroke_type": stroke_name, "stroke_options": {}, "size": size, "n": n,
                            "shard_size": shard_size, "seed": seed})
    return directory


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("data") / "markerpen")


def tiny(data_dir: Path, **kw) -> GanConfig:
    base = dict(stroke="markerpen", data=str(data_dir), val_size=16, net_overrides=TINY_NET,
                critic={"width": 8, "embed": 16}, batch_size=16, pretrain_steps=4, critic_steps=4, gan_steps=4,
                eval_every=2, sample_every=2, save_every_seconds=3600.0, perceptual="off", device="cpu")
    base.update(kw)
    return GanConfig.from_yaml(None, **base)


def log_lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


# ---- nets -------------------------------------------------------------------------------------
def test_generator_is_registered_and_maps_params_to_colour_and_mask():
    assert "gan" in NETS
    cfg = renderer_config("gan", 12, 8)
    assert cfg.size == 64
    net = build_net(cfg).eval()
    colour, mask = net(torch.rand(3, 12))
    assert colour.shape == (3, 3, 64, 64) and mask.shape == (3, 1, 64, 64)
    for t in (colour, mask):
        assert torch.isfinite(t).all() and t.min() >= 0 and t.max() <= 1
    count = sum(p.numel() for p in net.parameters())
    assert count * 2 <= 12e6  # ships under 12 MB as float16
    wide = build_net(renderer_config("gan", 12, 8, gan={"width": 32}))
    assert sum(p.numel() for p in wide.parameters()) > count
    small = build_net(renderer_config("gan", 12, 8, **TINY_NET)).eval()
    assert small(torch.rand(2, 12))[0].shape == (2, 3, SIZE, SIZE)
    with pytest.raises(ValueError, match="4 \\* 2\\*\\*k"):
        build_net(renderer_config("gan", 12, 8, size=48))
    with pytest.raises(ValueError, match=r"\(B, 12\)"):
        net(torch.rand(2, 9))


@pytest.mark.parametrize("condition", CONDITIONS)
def test_critic_gives_one_logit_per_stroke(condition):
    critic = Critic(CriticConfig(n_params=12, size=SIZE, condition=condition, width=8, embed=16)).eval()
    images, params = torch.rand(5, 3, SIZE, SIZE), torch.rand(5, 12)
    logits = critic(images, params)
    assert logits.shape == (5,) and torch.isfinite(logits).all()
    if condition != "none":  # the action changes the verdict
        assert not torch.allclose(logits, critic(images, torch.rand(5, 12)))
    else:
        torch.testing.assert_close(logits, critic(images, torch.rand(5, 12)))
    logits.sum().backward()
    with pytest.raises(ValueError, match="unknown critic condition"):
        Critic(CriticConfig(n_params=12, condition="both"))


def test_neural_renderer_uses_the_mask_as_alpha_without_an_opacity_parameter():
    class NoOpacity(MarkerPen):  # like mypaint: no opacity parameter
        alpha = None

    stroke = NoOpacity()
    net = build_net(renderer_config("gan", 12, 8, **TINY_NET)).eval()
    p = torch.rand(3, 12)
    p[:, 11] = 0.0  # would zero the alpha of a markerpen
    colour, alpha = NeuralRenderer(stroke, net).render(p, SIZE, SIZE)
    torch.testing.assert_close(alpha, net(p)[1])
    result = evaluate(net, stroke, p)  # the engine's ground truth renders as the params say
    assert set(result) == {"psnr_fg", "psnr_alpha", "psnr"}


# ---- data -------------------------------------------------------------------------------------
def test_data_set_loading_checks(tmp_path, data_dir):
    data = load_stroke_data(tiny(data_dir), torch.device("cpu"))
    assert data.n_train == 80 and data.size == SIZE and len(data.val_index()) == 16
    params, white, alpha = data.batch(torch.arange(4), torch.device("cpu"))
    assert params.shape == (4, 12) and white.shape == (4, 3, SIZE, SIZE) and alpha.shape == (4, 1, SIZE, SIZE)
    assert 0 <= white.min() and white.max() <= 1
    with pytest.raises(NeuralPaintError, match="holds 'markerpen' strokes, not 'oilpaintbrush'"):
        load_stroke_data(tiny(data_dir, stroke="oilpaintbrush"), torch.device("cpu"))
    with pytest.raises(NeuralPaintError, match="not enough to hold out"):
        load_stroke_data(tiny(data_dir, val_size=96), torch.device("cpu"))
    with pytest.raises(NeuralPaintError, match="no such data set"):
        load_stroke_data(tiny(tmp_path / "missing"), torch.device("cpu"))
    with pytest.raises(NeuralPaintError, match="pass --data"):
        load_stroke_data(tiny(data_dir, data=None), torch.device("cpu"))


# ---- the three phases -------------------------------------------------------------------------
def test_phase_1_lowers_the_loss_and_writes_a_loadable_checkpoint(tmp_path, data_dir):
    cfg = tiny(data_dir, pretrain_steps=30, eval_every=5, lr=1e-2)
    data = load_stroke_data(cfg, torch.device("cpu"))
    torch.manual_seed(cfg.seed + 1)  # the phase's initialisation
    before = evaluate_data(build_net(renderer_config("gan", 12, 8, **TINY_NET)), data, torch.device("cpu"))
    result = train_gan(cfg, tmp_path / "run", phases=(1,), progress=False)[1]
    losses = [x["loss"] for x in log_lines(tmp_path / "run" / "phase1" / "log.jsonl")]
    assert result["steps"] == 30 and losses[-1] < 0.7 * losses[0]
    assert result["best_psnr"] > before["psnr"] + 1.0
    net, stroke, ckpt = load_net(tmp_path / "run" / "phase1" / "best.pt", stroke_type="markerpen")
    assert ckpt["net_config"]["net"] == "gan" and ckpt["net_config"]["gan"] == TINY_NET["gan"]
    assert ckpt["val"]["psnr"] == result["best_psnr"] and ckpt["train_config"]["phase"] == 1
    assert all(v.dtype == torch.float16 for v in ckpt["state_dict"].values() if v.is_floating_point())
    assert stroke.name == "markerpen" and net(torch.rand(2, 12))[1].shape == (2, 1, SIZE, SIZE)
    assert list((tmp_path / "run" / "phase1" / "samples").glob("step_*.png"))


def test_phase_2_critic_learns_to_tell_real_from_generated(tmp_path, data_dir):
    cfg = tiny(data_dir, pretrain_steps=2, critic_steps=150, eval_every=150, critic_lr=1e-3)
    results = train_gan(cfg, tmp_path / "run", phases=(1, 2), progress=False)
    assert results[2]["critic_acc"] > 0.65  # chance: 0.5
    assert not (tmp_path / "run" / "phase2" / "best.pt").exists()  # the generator did not change
    state = torch.load(tmp_path / "run" / "phase2" / "state.pt", weights_only=True)
    s1 = torch.load(tmp_path / "run" / "phase1" / "state.pt", weights_only=True)
    for k in s1["net"]:
        torch.testing.assert_close(state["net"][k], s1["net"][k])  # frozen, BatchNorm statistics too


@pytest.mark.parametrize("gan_loss, condition", [("bce", "projection"), ("hinge", "none")])
def test_phase_3_runs_and_writes_best_and_last(tmp_path, data_dir, gan_loss, condition):
    cfg = tiny(data_dir, gan_loss=gan_loss, mismatch_weight=0.5, colour_weight=0.1,
               critic={"width": 8, "embed": 16, "condition": condition})
    results = train_gan(cfg, tmp_path / "run", progress=False)
    assert set(results) == {1, 2, 3}
    p3 = tmp_path / "run" / "phase3"
    for name in ("best.pt", "last.pt", "state.pt", "log.jsonl"):
        assert (p3 / name).is_file()
    lines = log_lines(p3 / "log.jsonl")
    assert [x["step"] for x in lines] == [2, 4]
    assert {"loss", "adv", "d_loss", "psnr", "critic_acc"} <= set(lines[-1])
    assert np.isfinite(results[3]["psnr"])
    renderer = load_renderer(p3 / "last.pt", stroke_type="markerpen")
    colour, alpha = renderer.render(torch.rand(2, 12), 24, 24)
    assert colour.shape == (2, 3, 24, 24) and alpha.shape == (2, 1, 24, 24)
    assert read_checkpoint(p3 / "last.pt")["steps"] == 4


def test_resume_continues_each_phase_from_its_saved_step(tmp_path, data_dir):
    out = tmp_path / "run"
    train_gan(tiny(data_dir), out, progress=False)
    with pytest.raises(NeuralPaintError, match="already holds a run"):
        train_gan(tiny(data_dir), out, progress=False)
    with pytest.raises(NeuralPaintError, match="nothing to resume"):
        train_gan(tiny(data_dir), tmp_path / "empty", resume=True, progress=False)
    results = train_gan(tiny(data_dir, pretrain_steps=4, critic_steps=6, gan_steps=8), out, resume=True,
                        progress=False)
    assert [results[p]["steps"] for p in (1, 2, 3)] == [4, 6, 8]
    assert [x["step"] for x in log_lines(out / "phase1" / "log.jsonl")] == [2, 4]  # finished: skipped
    assert [x["step"] for x in log_lines(out / "phase2" / "log.jsonl")] == [2, 4, 6]
    assert [x["step"] for x in log_lines(out / "phase3" / "log.jsonl")] == [2, 4, 6, 8]
    with pytest.raises(NeuralPaintError, match="critic was"):
        train_gan(tiny(data_dir, critic={"width": 16}, gan_steps=10), out, phases=(3,), resume=True,
                  progress=False)


def test_resume_matches_an_uninterrupted_run(tmp_path, data_dir):
    train_gan(tiny(data_dir, pretrain_steps=6), tmp_path / "a", phases=(1,), progress=False)
    train_gan(tiny(data_dir, pretrain_steps=3), tmp_path / "b", phases=(1,), progress=False)
    train_gan(tiny(data_dir, pretrain_steps=6), tmp_path / "b", phases=(1,), resume=True, progress=False)
    a = read_checkpoint(tmp_path / "a" / "phase1" / "last.pt")["state_dict"]
    b = read_checkpoint(tmp_path / "b" / "phase1" / "last.pt")["state_dict"]
    for k in a:
        torch.testing.assert_close(a[k], b[k])


def test_later_phases_need_the_earlier_ones(tmp_path, data_dir):
    with pytest.raises(NeuralPaintError, match="needs the pre-trained generator of phase 1"):
        train_gan(tiny(data_dir), tmp_path / "run", phases=(2,), progress=False)
    train_gan(tiny(data_dir), tmp_path / "run", phases=(1,), progress=False)
    with pytest.raises(NeuralPaintError, match="needs the pre-trained critic of phase 2"):
        train_gan(tiny(data_dir), tmp_path / "run", phases=(3,), progress=False)


# ---- perceptual loss --------------------------------------------------------------------------
def tiny_vgg_file(path: Path) -> Path:
    """A randomly initialised VGG-style ``features`` stack (conv, ReLU, conv, ReLU, pool, conv)."""
    torch.manual_seed(0)
    features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Conv2d(4, 8, 3, padding=1), nn.ReLU())
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    return path


def test_perceptual_loss_from_a_small_vgg_file(tmp_path, data_dir):
    path = tiny_vgg_file(tmp_path / "vgg.pth")
    vgg = load_vgg(path)
    feats = vgg(torch.rand(2, 3, SIZE, SIZE))
    assert [f.shape[1] for f in feats] == [4, 8]  # relu1_2, then the last block
    messages = []
    cfg = tiny(data_dir, perceptual="on", vgg_weights=str(path))
    loss = ReconstructionLoss(cfg, torch.device("cpu"), messages.append)
    assert loss.perceptual is not None and "perceptual loss on" in messages[0]
    x, y = torch.rand(2, 3, SIZE, SIZE, requires_grad=True), torch.rand(2, 3, SIZE, SIZE)
    a = torch.rand(2, 1, SIZE, SIZE)
    value = loss(x, a, y, a)
    value.backward()
    assert value > 0 and x.grad.abs().sum() > 0
    results = train_gan(tiny(data_dir, perceptual="on", vgg_weights=str(path)), tmp_path / "run",
                        phases=(1,), progress=False)
    assert np.isfinite(results[1]["psnr"])
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"junk")
    with pytest.raises(NeuralPaintError, match="not a readable VGG weights file"):
        load_vgg(bad)
    with pytest.raises(NeuralPaintError, match="no such VGG weights file"):
        find_vgg_weights(tmp_path / "missing.pth")


def test_without_vgg_weights_the_perceptual_loss_is_off_with_a_message(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    messages = []
    loss = ReconstructionLoss(tiny(data_dir, perceptual="auto"), torch.device("cpu"), messages.append)
    assert loss.perceptual is None
    assert len(messages) == 1 and "perceptual loss off" in messages[0] and "--vgg-weights" in messages[0]
    with pytest.raises(NeuralPaintError, match="needs VGG weights"):
        ReconstructionLoss(tiny(data_dir, perceptual="on"), torch.device("cpu"))


# ---- command line -----------------------------------------------------------------------------
def write_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "gan.yaml"
    cfg.write_text(json.dumps({"val_size": 16, "net_overrides": TINY_NET, "critic": {"width": 8, "embed": 16},
                               "batch_size": 8, "pretrain_steps": 2, "critic_steps": 2, "gan_steps": 2,
                               "eval_every": 2, "sample_every": 2, "perceptual": "off"}))
    return cfg


def test_cli_trains_all_phases_then_eval_renderer(tmp_path, data_dir, capsys):
    out = tmp_path / "run"
    args = ["train-renderer", "--stroke", "markerpen", "--net", "gan", "--data", str(data_dir), "--config",
            str(write_config(tmp_path)), "--device", "cpu", "--out", str(out), "-q"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "phase 3 (gan): 2 steps" in printed and str(out / "phase3" / "best.pt") in printed
    assert main(args + ["--resume", "--phase", "3", "--steps", "4"]) == 0
    assert read_checkpoint(out / "phase3" / "last.pt")["steps"] == 4
    capsys.readouterr()
    best = out / "phase3" / "best.pt"
    assert main(["eval-renderer", str(best), "--n", "8", "--device", "cpu", "--json", "--data", str(data_dir),
                 "--val-size", "16"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["net"] == "gan" and result["size"] == SIZE and result["psnr"] > 0
    assert abs(result["data_psnr"] - read_checkpoint(best)["val"]["psnr"]) < 0.1  # float16 weights
    assert main(["eval-renderer", str(best), "--n", "8", "--device", "cpu", "--data", str(data_dir)]) == 2
    assert "not enough to hold out val_size=1000" in capsys.readouterr().err


@pytest.mark.parametrize("phase", [1, 2, 3])
def test_cli_ctrl_c_in_each_phase_saves_a_state_that_resumes(tmp_path, data_dir, capsys, monkeypatch, phase):
    """Ctrl-C during the third of four steps of ``phase`` (the periodic save is off): that phase's
    ``state.pt`` holds step 2, the command exits 130, and ``--resume`` runs only its steps 3 and 4
    and the later phases."""
    from neuralpaint.training.train_gan import StrokeData

    cfg = tmp_path / "gan.yaml"
    cfg.write_text(json.dumps({"val_size": 16, "net_overrides": TINY_NET, "critic": {"width": 8, "embed": 16},
                               "batch_size": 8, "pretrain_steps": 4, "critic_steps": 4, "gan_steps": 4,
                               "eval_every": 100, "sample_every": 100, "save_every_seconds": 3600,
                               "perceptual": "off"}))
    out = tmp_path / "run"
    args = ["train-renderer", "--stroke", "markerpen", "--net", "gan", "--data", str(data_dir), "--config",
            str(cfg), "--device", "cpu", "--out", str(out), "-q"]
    real = StrokeData.batch
    batches = []  # training batches drawn (the held-out set is read 16 strokes at a time, a batch is 8)

    def counting(self, index, device, stop_at=None):
        if index.shape[0] == 8:
            batches.append(1)
            if len(batches) == stop_at:
                raise KeyboardInterrupt
        return real(self, index, device)

    monkeypatch.setattr(StrokeData, "batch", lambda *a: counting(*a, stop_at=4 * (phase - 1) + 3))
    assert main(args) == 130
    assert "interrupted" in capsys.readouterr().err
    state_step = lambda p: torch.load(out / f"phase{p}" / "state.pt", weights_only=True)["step"]  # noqa: E731
    assert [state_step(p) for p in range(1, phase + 1)] == [4] * (phase - 1) + [2]
    assert not any((out / f"phase{p}" / "state.pt").exists() for p in range(phase + 1, 4))
    if phase != 2:  # the generator's checkpoint too
        assert read_checkpoint(out / f"phase{phase}" / "last.pt")["steps"] == 2
    batches.clear()
    monkeypatch.setattr(StrokeData, "batch", counting)
    assert main(args + ["--resume"]) == 0
    printed = capsys.readouterr().out
    assert all(f"phase {p} ({name}): 4 steps" in printed for p, name in ((1, "pre-train"), (2, "critic"), (3, "gan")))
    assert len(batches) == 2 + 4 * (3 - phase)  # the rest of the interrupted phase, then the later ones
    assert [state_step(p) for p in (1, 2, 3)] == [4, 4, 4]
    assert [x["step"] for x in log_lines(out / f"phase{phase}" / "log.jsonl")] == [4]
    # the interrupted step's batch is drawn again: the same nets as a run never interrupted
    whole = tmp_path / "whole"
    assert main(args[:-2] + [str(whole), "-q"]) == 0
    for p in (1, 2, 3):
        a, b = (torch.load(d / f"phase{p}" / "state.pt", weights_only=True) for d in (whole, out))
        for part in ("net", "critic"):
            for k in a.get(part, {}):
                torch.testing.assert_close(a[part][k], b[part][k], msg=f"phase {p} {part} {k}")


@pytest.mark.parametrize("extra, words", [
    ([], ["pass --data"]),
    (["--data", "{tmp}/nothing"], ["no such data set directory"]),
    (["--data", "{tmp}"], ["not a stroke data set"]),
    (["--data", "{data}", "--steps", "5"], ["--steps needs --phase"]),
])
def test_cli_gan_errors_are_one_line(tmp_path, data_dir, capsys, extra, words):
    extra = [x.format(tmp=tmp_path, data=data_dir) for x in extra]
    status = main(["train-renderer", "--stroke", "markerpen", "--net", "gan", "--device", "cpu",
                   "--config", str(write_config(tmp_path)), "--out", str(tmp_path / "run"), "-q", *extra])
    assert_user_error(status, capsys.readouterr().err, *words)


def test_cli_mismatched_data_set_and_gan_options_without_gan(tmp_path, data_dir, capsys):
    status = main(["train-renderer", "--stroke", "watercolor", "--net", "gan", "--data", str(data_dir), "-q",
                   "--config", str(write_config(tmp_path)), "--out", str(tmp_path / "run")])
    assert_user_error(status, capsys.readouterr().err, "'markerpen' strokes, not 'watercolor'")
    status = main(["train-renderer", "--stroke", "markerpen", "--data", str(data_dir), "-q",
                   "--out", str(tmp_path / "run2")])
    assert_user_error(status, capsys.readouterr().err, "apply only to --net gan")
