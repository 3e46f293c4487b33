"""The command line (``neuralpaint.cli``) and the library functions behind it (``neuralpaint.canvas.render``, ``neuralpaint.random_strokes``, ``neuralpaint.device``).

Most tests call ``main([...])`` in-process; one runs ``python -m neuralpaint.cli`` in a
subprocess to check the module entry point.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralpaint import __version__
from neuralpaint.canvas.render import render_painting
from neuralpaint.cli import COMMANDS, main
from neuralpaint.errors import NeuralPaintError
from neuralpaint.imagefiles import read_image, write_image
from neuralpaint.device import resolve_device
from neuralpaint.canvas.render import output_size, render_strokes
from neuralpaint.random_strokes import random_painting
from neuralpaint.strokes import stroke_type_names
from neuralpaint.strokesfile import Strokes, load_strokes
from helpers import assert_user_error, run_cli as run  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
W, H = 64, 48


@pytest.fixture
def painting(tmp_path, capsys):
    """A small strokes file: 12 oil strokes on a 64x48 canvas."""
    path = tmp_path / "painting.npz"
    status, _, _ = run(capsys, "random-strokes", "--stroke", "oilpaintbrush", "--n", 12,
                       "--width", W, "--height", H, "-o", path)
    assert status == 0
    return path


# ---- help and version ----------------------------------------------------------------------------
def test_top_level_help_lists_every_command_and_an_example(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")  # argparse wraps to the terminal width
    status, out, _ = run(capsys, "--help")
    assert status == 0
    lines = [line.strip() for line in out.splitlines()]
    for command in COMMANDS:
        # one line per command: its name, then its one-line summary
        assert any(line.startswith(command.name) and command.summary in line for line in lines), command.name
    assert {c.name for c in COMMANDS} >= {"random-strokes", "render-hires"}
    assert "example" in out and "neuralpaint random-strokes" in out


@pytest.mark.parametrize(
    "command, options",
    [
        ("random-strokes", ["--stroke", "--n", "--width", "--height", "--seed", "--canvas-color",
                            "--brush", "--output", "default: 300", "default: 0", "default: white",
                            "oilpaintbrush", "dry"]),
        ("render-hires", ["FILE.npz", "--scale", "--width", "--output", "--device", "--quiet",
                          "default: 8)", "default: auto", "_x<scale>.png"]),
    ],
)
def test_subcommand_help_explains_options_and_defaults(capsys, command, options):
    status, out, _ = run(capsys, command, "--help")
    assert status == 0
    for option in options:
        assert option in out, option


def test_every_command_has_help(capsys):
    for command in COMMANDS:
        status, out, _ = run(capsys, command.name, "--help")
        assert status == 0 and "usage: neuralpaint " + command.name in out


def test_version_and_missing_command(capsys):
    status, out, _ = run(capsys, "--version")
    assert status == 0 and __version__ in out
    status, _, err = run(capsys)
    assert status == 2 and "COMMAND" in err


# ---- random-strokes ------------------------------------------------------------------------------
@pytest.mark.parametrize("stroke_type", stroke_type_names())
def test_random_strokes_writes_a_valid_file(tmp_path, capsys, stroke_type):
    path = tmp_path / "out" / "r.npz"
    status, out, err = run(capsys, "random-strokes", "--stroke", stroke_type, "--n", 17,
                           "--width", W, "--height", H, "--seed", 5, "-o", path)
    assert status == 0, err
    assert out.count("\n") == 1 and str(path) in out and "17" in out
    strokes = load_strokes(path)
    assert strokes.stroke_type == stroke_type
    assert strokes.params.shape == (17, strokes.stroke().n_params)
    assert (strokes.width, strokes.height) == (W, H)
    assert strokes.canvas_colour == (1.0, 1.0, 1.0)
    assert strokes.metadata["seed"] == 5 and strokes.metadata["generator"] == "random-strokes"


def test_random_strokes_is_deterministic_with_seed(tmp_path, capsys):
    def params(seed, name):
        path = tmp_path / name
        assert run(capsys, "random-strokes", "--stroke", "watercolor", "--n", 20, "--width", W,
                   "--height", H, "--seed", seed, "-o", path)[0] == 0
        return load_strokes(path).params

    a, b, c = params(3, "a.npz"), params(3, "b.npz"), params(4, "c.npz")
    assert a.tobytes() == b.tobytes()
    assert a.shape == c.shape and not np.array_equal(a, c)


def test_random_strokes_defaults_and_options(tmp_path, capsys):
    path = tmp_path / "d.npz"
    assert run(capsys, "random-strokes", "--stroke", "rectangle", "-o", path)[0] == 0
    s = load_strokes(path)
    assert (s.n, s.width, s.height, s.metadata["seed"]) == (300, 512, 512, 0)

    assert run(capsys, "random-strokes", "--stroke", "rectangle", "--n", 0, "--width", 80, "-o", path)[0] == 0
    s = load_strokes(path)
    assert (s.n, s.width, s.height) == (0, 80, 80)

    assert run(capsys, "random-strokes", "--stroke", "oilpaintbrush", "--n", 3, "--width", W,
               "--brush", "flat", "--canvas-color", "#ff8000", "-o", path)[0] == 0
    s = load_strokes(path)
    assert s.stroke_options == {"brush": "flat"}
    assert np.allclose(s.canvas_colour, (1.0, 128 / 255, 0.0))


def test_random_strokes_user_errors(tmp_path, capsys):
    path = tmp_path / "e.npz"
    status, _, err = run(capsys, "random-strokes", "--stroke", "nosuchstroke", "-o", path)
    assert status == 2 and "invalid choice" in err and "Traceback" not in err
    status, _, err = run(capsys, "random-strokes", "--stroke", "rectangle", "--brush", "dry", "-o", path)
    assert_user_error(status, err, "--brush")
    status, _, err = run(capsys, "random-strokes", "--stroke", "rectangle", "--canvas-color", "red", "-o", path)
    assert_user_error(status, err, "red")
    status, _, err = run(capsys, "random-strokes", "--stroke", "rectangle", "--n", -1, "-o", path)
    assert status == 2 and "at least 0" in err
    status, _, err = run(capsys, "random-strokes", "--stroke", "rectangle", "--width", 70000, "-o", path)
    assert_user_error(status, err, "70000")
    assert not path.exists()


# ---- render-hires --------------------------------------------------------------------------------
def test_render_hires_default_name_and_scale(painting, capsys):
    status, out, err = run(capsys, "render-hires", painting, "--quiet")
    assert status == 0, err
    default = painting.with_name("painting_x8.png")
    assert str(default) in out and "512x384" in out
    assert read_image(default).shape == (8 * H, 8 * W, 3)

    status, out, _ = run(capsys, "render-hires", painting, "--scale", 2, "--quiet")
    assert status == 0
    assert read_image(painting.with_name("painting_x2.png")).shape == (2 * H, 2 * W, 3)

    status, _, _ = run(capsys, "render-hires", painting, "--scale", 2.5, "--quiet")
    assert status == 0
    assert read_image(painting.with_name("painting_x2.5.png")).shape == (120, 160, 3)


def test_render_hires_width_keeps_aspect_ratio(painting, capsys, tmp_path):
    status, out, _ = run(capsys, "render-hires", painting, "--width", 100, "--quiet")
    assert status == 0
    assert read_image(painting.with_name("painting_w100.png")).shape == (75, 100, 3)

    target = tmp_path / "sub" / "poster.png"
    status, out, _ = run(capsys, "render-hires", painting, "--width", 33, "-o", target, "--quiet")
    assert status == 0 and str(target) in out
    assert read_image(target).shape == (round(33 * H / W), 33, 3)


def test_render_hires_matches_the_canvas_renderer(painting, capsys, tmp_path):
    target = tmp_path / "one.png"
    assert run(capsys, "render-hires", painting, "--scale", 1, "-o", target, "--device", "cpu", "--quiet")[0] == 0
    s = load_strokes(painting)
    expected = render_painting(s.stroke(), s.params_tensor(), H, W, s.canvas_colour)
    written = read_image(target)
    assert np.abs(written - expected.permute(1, 2, 0).numpy()).max() <= 0.5 / 255 + 1e-6


def test_render_hires_progress_bar_goes_to_stderr(painting, capsys):
    status, out, err = run(capsys, "render-hires", painting, "--scale", 1)
    assert status == 0
    assert "stroke" in err and "rendering" not in out


@pytest.mark.parametrize(
    "make_args, words",
    [
        (lambda p: [p.with_name("missing.npz")], ["missing.npz", "no such file"]),
        (lambda p: [p, "--scale", 0], ["scale"]),
        (lambda p: [p, "--scale", -2], ["scale"]),
        (lambda p: [p, "--scale", "nan"], ["scale"]),
        (lambda p: [p, "--scale", 100000], ["absurd", "6400000x4800000"]),
        (lambda p: [p, "--scale", 1e300], ["absurd"]),
        (lambda p: [p, "--width", 0], ["absurd"]),
        (lambda p: [p, "--width", 10**6], ["absurd"]),
        (lambda p: [p, "-o", p.with_name("out.xyz")], [".xyz"]),
        (lambda p: [p, "--device", "gpu"], ["gpu"]),
    ],
)
def test_render_hires_user_errors(painting, capsys, make_args, words):
    status, out, err = run(capsys, "render-hires", *make_args(painting), "--quiet")
    assert_user_error(status, err, *words)
    assert out == ""
    assert sorted(p.name for p in painting.parent.iterdir()) == ["painting.npz"]


def test_render_hires_rejects_files_that_are_not_strokes(tmp_path, capsys):
    text = tmp_path / "notes.npz"
    text.write_text("this is not a strokes file\n")
    status, _, err = run(capsys, "render-hires", text, "--quiet")
    assert_user_error(status, err, "notes.npz")

    image = tmp_path / "picture.png"
    write_image(image, np.zeros((8, 8, 3), np.float32))
    status, _, err = run(capsys, "render-hires", image, "--quiet")
    assert_user_error(status, err, "picture.png")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_render_hires_cuda_without_cuda(painting, capsys):
    status, _, err = run(capsys, "render-hires", painting, "--device", "cuda", "--quiet")
    assert_user_error(status, err, "CUDA")


def test_keyboard_interrupt_exits_130(painting, capsys, monkeypatch):
    import neuralpaint.canvas.render

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(neuralpaint.canvas.render, "render_bands", interrupted)
    status, _, err = run(capsys, "render-hires", painting, "--quiet")
    assert status == 130
    assert "neuralpaint: interrupted" in err and "Traceback" not in err


def test_module_entry_point_runs_in_a_subprocess(tmp_path):
    path = tmp_path / "sub.npz"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    result = subprocess.run(
        [sys.executable, "-m", "neuralpaint.cli", "random-strokes", "--stroke", "markerpen", "--n", "7",
         "--width", str(W), "--height", str(H), "-o", str(path)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert str(path) in result.stdout
    assert load_strokes(path).n == 7

    result = subprocess.run([sys.executable, "-m", "neuralpaint.cli", "render-hires", str(tmp_path / "nope.npz")],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"neuralpaint: error: {tmp_path / 'nope.npz'}: no such file"]


# ---- library functions ---------------------------------------------------------------------------
def test_random_painting_library():
    s = random_painting("oilpaintbrush", 9, W, H, seed=1, canvas_colour=(0, 0, 0), stroke_options={"brush": "dry"})
    assert isinstance(s, Strokes) and s.n == 9 and s.stroke_options == {"brush": "dry"}
    assert s.metadata["seed"] == 1 and s.metadata["generator"] == "random-strokes"
    again = random_painting("oilpaintbrush", 9, W, H, seed=1, stroke_options={"brush": "dry"})
    assert np.array_equal(s.params, again.params)
    with pytest.raises(NeuralPaintError):
        random_painting("nosuch", 9, W, H, seed=1)


def test_output_size_and_render_strokes():
    s = random_painting("rectangle", 5, W, H, seed=0)
    assert output_size(s) == (H, W)
    assert output_size(s, 0.5) == (24, 32)
    assert output_size(s, width=10) == (8, 10)  # 7.5 rounds to even
    assert output_size(s, scale=1000, width=640) == (480, 640)  # width wins
    with pytest.raises(NeuralPaintError, match="absurd"):
        output_size(s, 1e-3)  # rounds to 0 pixels
    with pytest.raises(NeuralPaintError, match="absurd"):
        output_size(s, 1000)  # 64000 x 48000 = 3.1e9 pixels, each side allowed
    image = render_strokes(s, scale=1.5, progress=False)
    assert image.shape == (72, 96, 3) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0

    empty = random_painting("rectangle", 0, W, H, seed=0, canvas_colour=(0.0, 0.0, 0.0))
    assert np.all(render_strokes(empty, progress=False) == 0.0)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    for bad in ("gpu", "cuda:x", "tpu"):
        with pytest.raises(NeuralPaintError):
            resolve_device(bad)
    if not torch.cuda.is_available():
        for name in ("cuda", "cuda:0", "CUDA:1"):
            with pytest.raises(NeuralPaintError, match="CUDA"):
                resolve_device(name)
    else:
        assert resolve_device("cuda").type == "cuda"
        with pytest.raises(NeuralPaintError):
            resolve_device(f"cuda:{torch.cuda.device_count()}")


def test_a_closed_pipe_stops_quietly_after_the_files_are_written(tmp_path, monkeypatch, capsys):
    """``neuralpaint random-strokes ... | head -c 0``: no traceback, the file is there, status 1."""
    import io

    class ClosedPipe(io.StringIO):
        def __init__(self, fd):
            super().__init__()
            self._fd = fd

        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            return self._fd

    sink = open(tmp_path / "stdout", "w")
    monkeypatch.setattr(sys, "stdout", ClosedPipe(sink.fileno()))
    status = main(["random-strokes", "--stroke", "rectangle", "--n", "3", "-o", str(tmp_path / "r.npz")])
    monkeypatch.undo()
    sink.close()
    assert status == 1
    assert (tmp_path / "r.npz").is_file()
    assert "Traceback" not in capsys.readouterr().err


def test_executable_exits_at_once_with_its_status_and_output(tmp_path):
    """The executable skips the interpreter's teardown (os._exit) after the command: its output
    and files are complete, exit handlers still run, and the status is the command's."""
    out = tmp_path / "x.npz"
    code = ("import atexit, sys; from neuralpaint.cli import run\n"
            "atexit.register(lambda: print('exit handler ran'))\n"
            "sys.argv = ['neuralpaint'] + sys.argv[1:]\nrun()\n")
    ok = subprocess.run([sys.executable, "-c", code, "random-strokes", "--stroke", "rectangle", "--n", "5",
                         "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and out.is_file()
    assert ok.stdout.splitlines() == [f"wrote {out}: 5 random rectangle strokes on a 512x512 canvas (seed 0)",
                                      "exit handler ran"]
    bad = subprocess.run([sys.executable, "-m", "neuralpaint", "paint", "--img", str(tmp_path / "no.png")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("neuralpaint: error:")
    usage = subprocess.run([sys.executable, "-m", "neuralpaint", "--bogus"], capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2 and "usage:" in usage.stderr
