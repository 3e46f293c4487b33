"""``neuralpaint paint`` and the ``neuralpaint.paint`` API, on tiny photos with tiny settings.

Every painting here is at most 48 pixels across with a dozen strokes and a few optimiser steps,
so the whole file runs in well under a minute on two slow cores. Most runs use rectangle strokes
(the cheapest engine); one run each covers the other stroke types.
"""
import math
import shlex

import cv2
import numpy as np
import pytest
import torch

import neuralpaint
from neuralpaint.canvas.render import render_painting
from neuralpaint.cli import build_parser, main
from neuralpaint.cli.paint import paint_config_from_args
from neuralpaint.imagefiles import read_image
from neuralpaint.painter import PaintConfig
from neuralpaint.painter import progressive
from neuralpaint.strokes import get_stroke_type
from neuralpaint.strokesfile import load_strokes
from helpers import assert_user_error, run_main  # noqa: E402

TINY_SETTINGS = ["--size", 48, "--max-strokes", 12, "--iters-per-stroke", 3, "--refine-steps", 2, "-q"]
TINY = [*TINY_SETTINGS, "--max-divide", 2]
FAST = ["--size", 16, "--max-strokes", 4, "--max-divide", 1, "--iters-per-stroke", 2, "--refine-steps", 0,
        "--no-animation", "-q"]
OUTPUTS = ("input.png", "strokes.npz", "final.png", "animated.mp4", "animated.gif")


run = run_main  # main(argv) in-process -> (status, stdout, stderr)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


def photo_pixels(width: int = 60, height: int = 30) -> np.ndarray:
    """A paintable test photo, ``(height, width, 3)`` uint8 RGB: a dark blue sky over a green
    field, a red sun and an orange box, i.e. large flat areas far from white."""
    img = np.zeros((height, width, 3), np.uint8)
    img[:] = (30, 60, 140)
    img[height // 2 :] = (40, 130, 50)
    y, x = np.mgrid[0:height, 0:width]
    img[(x - width * 0.7) ** 2 + (y - height * 0.3) ** 2 < (height * 0.2) ** 2] = (210, 40, 30)
    img[height // 2 : height * 5 // 6, width // 6 : width // 3] = (240, 150, 20)
    return img


def write_png(path, rgb: np.ndarray):
    """Write ``rgb`` (gray ``(H, W)``, RGB or RGBA ``(H, W, 3|4)``, uint8 or uint16) as PNG."""
    pixels = rgb if rgb.ndim == 2 else rgb[..., [2, 1, 0, 3][: rgb.shape[2]]]  # OpenCV wants BGR(A)
    assert cv2.imwrite(str(path), np.ascontiguousarray(pixels))
    return path


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """A 60x30 (width x height) PNG photo."""
    return write_png(tmp_path_factory.mktemp("photo") / "scene.png", photo_pixels())


@pytest.fixture(scope="module")
def painted(photo, tmp_path_factory):
    """One tiny rectangle painting of ``photo`` with every output: ``(out_dir, status, stdout, stderr)``."""
    out = tmp_path_factory.mktemp("painted")
    status, stdout, stderr = run("paint", "--img", photo, "--stroke", "rectangle", *TINY, "--out", out)
    return out, status, stdout, stderr


def outputs(out, name="scene"):
    return {suffix: out / f"{name}_{suffix}" for suffix in OUTPUTS}


# ---- the outputs ---------------------------------------------------------------------------------
def test_paint_writes_every_output_and_a_summary(painted, photo):
    out, status, stdout, stderr = painted
    assert status == 0, stderr
    assert "Traceback" not in stderr
    for path in outputs(out).values():
        assert path.is_file() and path.stat().st_size > 0, path
        assert str(path) in stdout
    assert "12 rectangle strokes" in stdout and "48x24" in stdout and "PSNR" in stdout
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_painting_keeps_the_aspect_ratio_and_stroke_count(painted, photo):
    out = painted[0]
    files = outputs(out)
    assert read_image(files["final.png"]).shape == (24, 48, 3)  # 60x30 photo at --size 48
    assert read_image(files["input.png"]).shape == (24, 48, 3)
    strokes = load_strokes(files["strokes.npz"])
    assert strokes.stroke_type == "rectangle"
    assert strokes.n == 12
    assert (strokes.width, strokes.height) == (48, 24)
    assert strokes.canvas_colour == (1.0, 1.0, 1.0)
    assert strokes.metadata["source"] == str(photo)
    command = shlex.split(strokes.metadata["command"])
    assert command[:2] == ["neuralpaint", "paint"] and "--max-strokes" in command
    assert strokes.metadata["config"]["max_strokes"] == 12 and strokes.metadata["interrupted"] is False


def test_painting_is_much_closer_to_the_photo_than_the_blank_canvas(painted):
    files = outputs(painted[0])
    photo, final = read_image(files["input.png"]), read_image(files["final.png"])
    painting_error = np.abs(final - photo).mean()
    blank_error = np.abs(1.0 - photo).mean()
    assert painting_error < 0.7 * blank_error, (painting_error, blank_error)


def test_strokes_file_rerenders_to_the_final_image(painted):
    files = outputs(painted[0])
    strokes = load_strokes(files["strokes.npz"])
    canvas = render_painting(strokes.stroke(), strokes.params_tensor(), strokes.height, strokes.width,
                             strokes.canvas_colour)
    again = canvas.permute(1, 2, 0).numpy()
    assert psnr(again, read_image(files["final.png"])) >= 40


def test_animation_files_are_readable(painted):
    import imageio.v3 as iio

    files = outputs(painted[0])
    gif = iio.imread(files["animated.gif"], index=None)
    assert gif.ndim == 4 and 2 <= gif.shape[0] <= 12 + 3 and gif.shape[1:3] == (24, 48)
    assert files["animated.mp4"].read_bytes()[4:8] == b"ftyp"  # an MP4 container


# ---- modes and renderers -------------------------------------------------------------------------
def test_grid_mode(photo, tmp_path):
    status, _, err = run("paint", "--img", photo, "--stroke", "rectangle", *TINY, "--m-grid", 2,
                         "--no-animation", "--out", tmp_path)
    # --max-divide is in TINY too: the two are mutually exclusive
    assert status == 2 and "not allowed with" in err and "Traceback" not in err
    status, _, err = run("paint", "--img", photo, "--stroke", "rectangle", *TINY_SETTINGS, "--m-grid", 2,
                         "--no-animation", "--out", tmp_path)
    assert status == 0, err
    strokes = load_strokes(tmp_path / "scene_strokes.npz")
    assert strokes.n == 12 and strokes.metadata["config"]["m_grid"] == 2
    assert len([lvl for lvl in strokes.metadata["levels"] if lvl["level"] != "refine"]) == 1  # one level
    assert not (tmp_path / "scene_animated.mp4").exists() and not (tmp_path / "scene_animated.gif").exists()


def test_seed_reproduces_the_painting(photo, tmp_path):
    def params(seed, out):
        status, _, err = run("paint", "--img", photo, "--stroke", "rectangle", *TINY, "--seed", seed,
                             "--no-animation", "--out", tmp_path / out)
        assert status == 0, err
        return load_strokes(tmp_path / out / "scene_strokes.npz").params

    a, b, c = params(1, "a"), params(1, "b"), params(2, "c")
    assert np.array_equal(a, b)
    assert a.shape == c.shape and not np.array_equal(a, c)


def tiny_checkpoint(path, stroke_type):
    from neuralpaint.nets import build_net, renderer_config
    from neuralpaint.checkpoints import save_checkpoint

    stroke = get_stroke_type(stroke_type)
    torch.manual_seed(0)
    net = build_net(renderer_config("fusion", stroke.n_params, stroke.shape.stop, size=32,
                                    pixel_shuffle=dict(fc=(32, 256), base=8, channels=(8, 8)),
                                    deconv=dict(channels=(32, 16, 8))))
    return save_checkpoint(path, net, stroke, steps=0)


def test_engine_and_neural_renderers(photo, tmp_path):
    status, _, err = run("paint", "--img", photo, "--stroke", "rectangle", *FAST, "--renderer", "engine",
                         "--out", tmp_path / "engine")
    assert status == 0, err
    assert load_strokes(tmp_path / "engine" / "scene_strokes.npz").n == 4

    ckpt = tiny_checkpoint(tmp_path / "rect.pt", "rectangle")
    status, _, err = run("paint", "--img", photo, "--stroke", "rectangle", *FAST, "--renderer", "neural",
                         "--checkpoint", ckpt, "--out", tmp_path / "neural")
    assert status == 0, err
    strokes = load_strokes(tmp_path / "neural" / "scene_strokes.npz")
    assert strokes.n == 4 and strokes.metadata["config"]["renderer"] == "neural"
    # the final image is the strokes' exact (engine) render, whatever renderer fitted them
    again = render_painting(strokes.stroke(), strokes.params_tensor(), 8, 16).permute(1, 2, 0).numpy()
    assert psnr(again, read_image(tmp_path / "neural" / "scene_final.png")) >= 40

    wrong = tiny_checkpoint(tmp_path / "marker.pt", "markerpen")
    status, _, err = run("paint", "--img", photo, "--stroke", "rectangle", *FAST, "--renderer", "neural",
                         "--checkpoint", wrong, "--out", tmp_path / "wrong")
    assert_user_error(status, err, "markerpen")
    status, _, err = run("paint", "--img", photo, "--stroke", "rectangle", *FAST, "--renderer", "engine",
                         "--checkpoint", ckpt, "--out", tmp_path / "wrong")
    assert_user_error(status, err, "--checkpoint")
    status, _, err = run("paint", "--img", photo, "--stroke", "rectangle", *FAST, "--renderer", "neural",
                         "--checkpoint", tmp_path / "missing.pt", "--out", tmp_path / "wrong")
    assert_user_error(status, err, "missing.pt")
    assert not (tmp_path / "wrong").exists()


@pytest.mark.parametrize("stroke_type, extra", [("oilpaintbrush", ["--brush", "flat"]), ("markerpen", []),
                                                ("watercolor", ["--canvas-color", "#000"])])
def test_other_stroke_types(photo, tmp_path, stroke_type, extra):
    status, _, err = run("paint", "--img", photo, "--stroke", stroke_type, *FAST, *extra, "--out", tmp_path)
    assert status == 0, err
    strokes = load_strokes(tmp_path / "scene_strokes.npz")
    assert strokes.stroke_type == stroke_type and strokes.n == 4
    if extra[:1] == ["--brush"]:
        assert strokes.stroke_options == {"brush": "flat"}
    if extra[:1] == ["--canvas-color"]:
        assert strokes.canvas_colour == (0.0, 0.0, 0.0)
    assert read_image(tmp_path / "scene_final.png").shape == (8, 16, 3)


# ---- defaults and user errors --------------------------------------------------------------------
def test_cli_defaults_are_the_library_defaults(capsys):
    args = build_parser().parse_args(["paint", "--img", "photo.png"])
    assert paint_config_from_args(args) == PaintConfig()
    assert str(args.out) == "output" and not args.no_animation
    with pytest.raises(SystemExit):
        main(["paint", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # independent of argparse's line wrapping
    d = PaintConfig()
    for text in ("--img", "--m-grid", "--no-animation", f"default: {d.max_strokes}", f"default: {d.size}",
                 f"default: {d.stroke}", f"default: {d.max_divide}", "default: white", "rectangle"):
        assert text in out, text


@pytest.mark.parametrize("options, words", [
    (["--max-strokes", 0], ["--max-strokes", "0"]),
    (["--size", 8], ["--size"]),
    (["--iters-per-stroke", 0], ["--iters-per-stroke"]),
    (["--brush", "dry"], ["--brush"]),  # rectangle strokes have no brush
    (["--canvas-color", "red"], ["red"]),
    (["--device", "tpu"], ["tpu"]),
])
def test_bad_settings_are_one_line_errors(photo, tmp_path, options, words):
    status, _, err = run("paint", "--img", photo, *FAST, "--stroke", "rectangle", *options, "--out", tmp_path / "o")
    assert_user_error(status, err, *words)
    assert not (tmp_path / "o").exists()


def _truncated_png(path):
    write_png(path, photo_pixels())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("make, words", [
    (lambda p: p / "missing.png", ["missing.png", "no such file"]),
    (lambda p: (p / "text.png").write_text("not a picture\n") and p / "text.png", ["text.png"]),
    (lambda p: _truncated_png(p / "cut.png"), ["cut.png", "truncated"]),
    (lambda p: write_png(p / "dot.png", np.zeros((1, 1, 3), np.uint8)), ["dot.png", "1x1"]),
])
def test_bad_images_are_one_line_errors(tmp_path, make, words):
    status, _, err = run("paint", "--img", make(tmp_path), *FAST, "--stroke", "rectangle", "--out", tmp_path / "o")
    assert_user_error(status, err, *words)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("kind", ["gray", "rgba", "16bit"])
def test_unusual_images_are_painted(tmp_path, kind):
    rgb = photo_pixels(32, 24)
    if kind == "gray":
        pixels = rgb.mean(axis=2).astype(np.uint8)
    elif kind == "rgba":
        pixels = np.concatenate([rgb, np.full((24, 32, 1), 200, np.uint8)], axis=2)
    else:
        pixels = rgb.astype(np.uint16) * 257
    path = write_png(tmp_path / f"{kind}.png", pixels)
    status, _, err = run("paint", "--img", path, *FAST, "--stroke", "rectangle", "--out", tmp_path / "o")
    assert status == 0, err
    assert load_strokes(tmp_path / "o" / f"{kind}_strokes.npz").n == 4
    assert read_image(tmp_path / "o" / f"{kind}_final.png").shape == (12, 16, 3)


# ---- Ctrl-C --------------------------------------------------------------------------------------
@pytest.mark.parametrize("stop_at", [2, 1])
def test_ctrl_c_still_writes_the_outputs(photo, painted, tmp_path, monkeypatch, stop_at):
    real = progressive.optimise_level
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == stop_at:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(progressive, "optimise_level", interrupted)
    status, out, err = run("paint", "--img", photo, "--stroke", "rectangle", *TINY, "--out", tmp_path)
    assert status == 130, err
    assert "interrupted" in err and "Traceback" not in err
    for path in outputs(tmp_path).values():
        assert path.is_file(), path
    strokes = load_strokes(tmp_path / "scene_strokes.npz")
    # only the levels finished before Ctrl-C stay: with --max-divide 2, the first level's strokes
    # (as many as the uninterrupted run painted there) or none
    first_level = load_strokes(outputs(painted[0])["strokes.npz"]).metadata["levels"][0]["strokes"]
    kept = first_level if stop_at == 2 else 0
    assert strokes.n == kept < 12
    assert strokes.metadata["interrupted"] is True
    assert f"{kept} of 12" in err


def test_ctrl_c_in_the_refinement_keeps_the_level_strokes_and_renders_them(photo, tmp_path, monkeypatch):
    """Ctrl-C on the second of four refinement steps: the strokes file holds exactly the strokes the
    levels finished (not the half-refined ones) and ``final.png`` is their render, to the 8-bit value."""
    real = progressive.refine
    entered = []

    def interrupted(renderer, params, photo_, colour, steps, lr, size, tick, **kwargs):
        entered.append(params.detach().clone())
        done = []

        def stop(loss):
            tick(loss)
            done.append(loss)
            if len(done) == 2:
                raise KeyboardInterrupt

        return real(renderer, params, photo_, colour, steps, lr, size, stop, **kwargs)

    monkeypatch.setattr(progressive, "refine", interrupted)
    status, _, err = run("paint", "--img", photo, "--stroke", "rectangle", *TINY, "--refine-steps", 4,
                         "--no-animation", "--out", tmp_path)
    assert status == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert len(entered) == 1, "the refinement never ran"
    strokes = load_strokes(tmp_path / "scene_strokes.npz")
    assert strokes.metadata["interrupted"] is True
    assert strokes.n == 12 and "12 of 12" in err  # every level finished before Ctrl-C
    torch.testing.assert_close(strokes.params_tensor(), entered[0].cpu(), rtol=0, atol=0)
    canvas = render_painting(strokes.stroke(), strokes.params_tensor(), strokes.height, strokes.width,
                             strokes.canvas_colour)
    expected = np.round(canvas.clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    final = cv2.imread(str(tmp_path / "scene_final.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]  # BGR -> RGB
    assert final.dtype == np.uint8 and final.shape == expected.shape
    assert np.array_equal(final, expected), np.abs(final.astype(int) - expected).max()


# ---- the Python API ------------------------------------------------------------------------------
def test_paint_api():
    image = photo_pixels(40, 30).astype(np.float32) / 255
    strokes = neuralpaint.paint(image, stroke="rectangle", max_strokes=5, size=32, max_divide=1,
                                iters_per_stroke=2, refine_steps=1)
    assert strokes.n == 5 and strokes.stroke_type == "rectangle"
    assert (strokes.width, strokes.height) == (32, 24)
    assert neuralpaint.PaintConfig is PaintConfig and callable(neuralpaint.render_painting)
    assert neuralpaint.read_image is read_image
    with pytest.raises(neuralpaint.NeuralPaintError, match="max-strokes"):
        neuralpaint.paint(image, max_strokes=0)


def test_unusable_output_directory_fails_before_painting(photo, tmp_path, monkeypatch):
    def no_painting(*args, **kwargs):
        raise AssertionError("painted although the outputs cannot be written")

    monkeypatch.setattr(progressive, "optimise_level", no_painting)
    blocker = tmp_path / "file"
    blocker.write_text("")
    status, _, err = run("paint", "--img", photo, *FAST, "--stroke", "rectangle", "--out", blocker / "o")
    assert_user_error(status, err, "not a directory")


def test_visible_area_counts_only_what_later_strokes_leave_showing():
    alpha = torch.zeros(1, 3, 1, 4, 4)
    alpha[0, 0] = 1.0  # opaque, whole window
    alpha[0, 1, :, :2] = 0.5  # half transparent, top half
    alpha[0, 2, :, :, :1] = 1.0  # opaque, left column
    inside = torch.ones(1, 1, 4, 4)
    area = progressive.visible_area(alpha, inside)[0]
    # stroke 2: 4 px; stroke 1: 8 px minus 2 under stroke 2, times 0.5;
    # stroke 0: 12 px outside stroke 2, 6 of them under stroke 1 at half strength
    assert torch.allclose(area, torch.tensor([6 + 6 * 0.5, 6 * 0.5, 4.0]))
    inside[..., :, 2:] = 0  # pixels off the canvas do not count
    assert progressive.visible_area(alpha, inside)[0, 2] == 4.0


def _hidden_stroke_run(respawn_at):
    """Optimise two rectangle strokes, the first hidden under an opaque second one, with a learning
    rate too small to move anything: only a respawn can change the first stroke."""
    from neuralpaint.painter.layout import crop_windows, make_level
    from neuralpaint.renderers import EngineRenderer

    stroke = get_stroke_type("rectangle")
    level = make_level(1, 16, 16, 16, 0.25)
    photo = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0))
    target, inside = crop_windows(photo, level)
    background, _ = crop_windows(torch.ones(3, 16, 16), level)
    params = torch.zeros(1, 2, stroke.n_params)
    centres = torch.tensor([[0.5, 0.5], [0.5, 0.5]])
    params[0] = stroke.init_strokes(centres, torch.full((2, 3), 0.5), torch.tensor([0.1, 1.0]),
                                    torch.Generator().manual_seed(1))
    params[0, :, stroke.alpha] = 1.0
    cfg = PaintConfig(stroke="rectangle", iters_per_stroke=4, lr=1e-9, respawn_at=respawn_at, init_opacity=0.4)
    active = torch.ones(1, 2, dtype=torch.bool)
    out = progressive.optimise_level(EngineRenderer(stroke), params, active, target, background, inside,
                                     cfg, None, lambda loss: None, level, torch.Generator().manual_seed(2))
    return params, out, stroke


def test_vanished_strokes_restart_where_the_error_is():
    params, out, stroke = _hidden_stroke_run(respawn_at=(0.5,))
    assert torch.allclose(out[0, 1], params[0, 1], atol=1e-6)  # the visible stroke stays
    assert not torch.allclose(out[0, 0], params[0, 0], atol=1e-3)  # the hidden one starts again
    assert out[0, 0, stroke.alpha].item() == pytest.approx(0.4)  # as a fresh, half-transparent stroke
    params, out, _ = _hidden_stroke_run(respawn_at=())
    assert torch.allclose(out, params, atol=1e-6)


@pytest.mark.parametrize("stroke_type", ["rectangle", "markerpen"])
def test_windowed_compositing_matches_whole_canvas_compositing(stroke_type):
    """The refinement's in-place window compositing gives the same image and the same gradients
    (for the strokes and the background) as plain autograd through whole-canvas compositing."""
    from neuralpaint.canvas.compositing import composite_in_order
    from neuralpaint.painter.refine import render_over
    from neuralpaint.renderers import EngineRenderer

    stroke = get_stroke_type(stroke_type)
    gen = torch.Generator().manual_seed(3)
    params = stroke.sample_painting(12, gen).double()
    params[:4, stroke.shape] = params[:4, stroke.shape] * 0.3  # a few small strokes too (other window sizes)
    background = torch.rand(3, 20, 24, generator=gen, dtype=torch.float64)
    weights = torch.rand(3, 20, 24, generator=gen, dtype=torch.float64)

    def grads(draw):
        p, bg = params.clone().requires_grad_(True), background.clone().requires_grad_(True)
        image = draw(p, bg)
        (image * weights).sum().backward()
        return image.detach(), p.grad, bg.grad

    fast = grads(lambda p, bg: render_over(EngineRenderer(stroke), p, bg))
    slow = grads(lambda p, bg: composite_in_order(*stroke.render(p, 20, 24), bg))
    for a, b in zip(fast, slow):
        assert torch.allclose(a, b, atol=1e-9)


def test_visible_areas_of_a_painting_match_dense_transmittance():
    from neuralpaint.painter.refine import visible_areas
    from neuralpaint.renderers import EngineRenderer

    stroke = get_stroke_type("rectangle")
    params = stroke.sample_painting(10, torch.Generator().manual_seed(4)).double()
    params[:3, stroke.shape] *= 0.4
    _, alpha = stroke.render(params, 20, 28)
    clear, expected = torch.ones(20, 28, dtype=torch.float64), []
    for a in reversed(alpha[:, 0]):
        expected.insert(0, (a * clear).sum())
        clear = clear * (1 - a)
    got = visible_areas(EngineRenderer(stroke), params, 20, 28)
    assert torch.allclose(got, torch.stack(expected), atol=1e-9)


def test_refinement_restarts_hidden_strokes_on_top():
    from neuralpaint.painter.refine import refine
    from neuralpaint.renderers import EngineRenderer

    stroke = get_stroke_type("rectangle")
    photo = torch.rand(3, 24, 24, generator=torch.Generator().manual_seed(0))
    params = torch.zeros(3, stroke.n_params)
    params[:, :2] = 0.5  # all centred
    params[:, 2:4] = torch.tensor([[0.1, 0.1], [1.0, 1.0], [0.2, 0.2]])  # small, covering, small on top
    params[:, 4] = 0.5
    params[:, stroke.colour] = 0.5
    params[:, stroke.alpha] = 1.0
    run = lambda at: refine(EngineRenderer(stroke), params, photo, (1.0, 1.0, 1.0), 4, 1e-9, 24,  # noqa: E731
                            respawn_at=at, generator=torch.Generator().manual_seed(1), opacity=0.4)
    out = run((0.5,))
    assert out.shape == params.shape
    assert torch.allclose(out[:2], params[1:], atol=1e-6)  # the visible strokes keep their order
    assert out[2, stroke.alpha].item() == pytest.approx(0.4)  # the hidden one restarted, on top
    assert torch.allclose(run(()), params, atol=1e-6)



def test_refinement_keeps_frozen_strokes_and_draws_them_beneath():
    """``frozen=k``: the first k strokes come back unchanged, the others move as they would over
    a canvas on which those k are already painted."""
    from neuralpaint.painter.refine import refine
    from neuralpaint.renderers import EngineRenderer

    stroke = get_stroke_type("rectangle")
    params = stroke.sample_painting(12, torch.Generator().manual_seed(2))
    photo = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(3))
    renderer = EngineRenderer(stroke)
    out = refine(renderer, params, photo, (1.0, 1.0, 1.0), 6, 0.01, 32, frozen=5)
    assert out.shape == params.shape and torch.equal(out[:5], params[:5])
    assert not torch.allclose(out[5:], params[5:])

    alone = refine(renderer, params[5:], photo, (1.0, 1.0, 1.0), 6, 0.01, 32)
    assert not torch.allclose(out[5:], alone, atol=1e-4)  # the frozen strokes are beneath them
    moved = refine(renderer, params, photo, (1.0, 1.0, 1.0), 6, 0.01, 32)
    assert not torch.equal(moved[:5], params[:5])  # not frozen, they move too
    loss = lambda p: ((render_painting(stroke, p, 32, 32) - photo) ** 2).mean().item()  # noqa: E731
    assert loss(out) < loss(params)


def test_config_refine_steps_follow_the_stroke_type_and_renderer():
    """The stroke type's refinement steps by default, none through a renderer net; explicit
    settings are kept."""
    from neuralpaint.renderers import EngineRenderer

    rect = get_stroke_type("rectangle")

    class Net:  # what resolved() asks of a renderer net
        exact = False
        stroke = rect

    assert PaintConfig(stroke="rectangle").resolved(EngineRenderer(rect)).refine_steps == rect.refine_steps
    assert PaintConfig(stroke="rectangle").resolved(Net()).refine_steps == 0
    assert PaintConfig(refine_steps=9).resolved(EngineRenderer(rect)).refine_steps == 9
    # so do the refinement's canvas size and its restarts
    default = PaintConfig(stroke="rectangle").resolved(EngineRenderer(rect))
    assert default.refine_size == 128 and default.refine_respawn_at == rect.refine_respawn_at != ()
    mine = PaintConfig(refine_size=200, refine_respawn_at=(0.5,)).resolved(EngineRenderer(rect))
    assert mine.refine_size == 200 and mine.refine_respawn_at == (0.5,)

    class MyPaintLike:  # a type whose refinement runs larger and without restarts, as mypaint's
        exact = True
        stroke = type("Stroke", (), {"refine_steps": 20, "refine_size": 256, "refine_respawn_at": (),
                                     "refine_frozen_levels": 2, "engine_every": 16, "iters_per_stroke": 30})()

    resolved = PaintConfig().resolved(MyPaintLike())
    assert (resolved.refine_steps, resolved.refine_size, resolved.refine_respawn_at) == (20, 256, ())
    assert (resolved.refine_frozen_levels, resolved.engine_every, resolved.iters_per_stroke) == (2, 16, 30)
    assert (default.refine_frozen_levels, default.engine_every, default.iters_per_stroke) == (0, 8, 40)
    mine = PaintConfig(refine_frozen_levels=1, engine_every=3, iters_per_stroke=5).resolved(MyPaintLike())
    assert (mine.refine_frozen_levels, mine.engine_every, mine.iters_per_stroke) == (1, 3, 5)


def test_paint_photo_takes_a_resolved_config():
    """``paint_image`` resolves the config once; ``paint_photo`` refuses one left unresolved."""
    from neuralpaint.renderers import EngineRenderer

    rect = get_stroke_type("rectangle")
    with pytest.raises(ValueError, match="resolved"):
        progressive.paint_photo(torch.rand(3, 16, 16), EngineRenderer(rect), PaintConfig(stroke="rectangle"),
                                progress=False)
