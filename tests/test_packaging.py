"""The package as users install it: the wheel carries what the commands need at run time.

``test_wheel_paints_outside_the_repository`` builds a wheel, installs it (without dependencies)
into a fresh virtual environment that reuses this environment's packages (torch ...) through a
``.pth`` line, and paints with a shipped renderer from a directory outside the repository.
"""
from __future__ import annotations

import re
import subprocess
import site as sitelib
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import neuralpaint
from neuralpaint.resources import DATA_FOLDERS, data_path

REPO = Path(__file__).resolve().parents[1]


def _listed_packages() -> list[str]:
    text = (REPO / "pyproject.toml").read_text()
    block = re.search(r"^packages = \[(.*?)\]", text, flags=re.S | re.M).group(1)
    return re.findall(r'"([\w.]+)"', block)


def test_every_subpackage_is_listed_in_pyproject():
    code = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "neuralpaint").rglob("__init__.py")}
    listed = set(_listed_packages())
    assert code <= listed, f"add to [tool.setuptools] packages: {sorted(code - listed)}"
    for folder in DATA_FOLDERS:
        if (REPO / folder).is_dir():
            assert f"neuralpaint.{folder}" in listed, f"shipped folder {folder}/ is not packaged"


def test_data_path_finds_the_shipped_folders():
    assert (data_path("checkpoints") / "oilpaintbrush.pt").is_file()
    assert (data_path("configs") / "train_renderer.yaml").is_file()
    with pytest.raises(ValueError, match="unknown data folder"):
        data_path("nope")


def test_python_dash_m_runs_the_command_line():
    for module in ("neuralpaint", "neuralpaint.cli"):
        r = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.strip() == f"neuralpaint {neuralpaint.__version__}", r


def test_help_does_not_import_torch():
    code = "import sys; from neuralpaint.cli import main\ntry: main(['--help'])\nexcept SystemExit: pass\nprint('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip().endswith("False"), r


@pytest.mark.slow
def test_wheel_paints_outside_the_repository(tmp_path):
    import shutil

    # built from a clean copy of the sources: a build/ or *.egg-info left in the checkout by an
    # earlier build (or an editable install) must not leak stale modules into the wheel
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        "build", "dist", "*.egg-info", ".venv", ".git", "__pycache__", "output", "runs", ".pytest_cache"))
    dist = tmp_path / "dist"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "--disable-pip-version-check", str(source), "-w", str(dist)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = dist.glob("neuralpaint-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    modules = {str(p.relative_to(REPO)) for p in (REPO / "neuralpaint").rglob("*.py")}
    assert modules <= set(names), sorted(modules - set(names))  # every module, and only built from sources
    assert not [n for n in names if n.endswith(".py") and n not in modules], "modules that are not in the sources"
    for ckpt in (REPO / "checkpoints").glob("*.pt"):
        assert f"neuralpaint/checkpoints/{ckpt.name}" in names
    assert "neuralpaint/configs/train_renderer.yaml" in names
    for page in ("index.html", "studio.js", "studio.css", "samples/astronaut.jpg"):  # the studio's page
        assert f"neuralpaint/web/static/{page}" in names

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        text=True).strip())
    # reuse this environment's dependencies (torch, numpy, ...), not its neuralpaint
    (site / "reuse_deps.pth").write_text("".join(f"{path}\n" for path in sitelib.getsitepackages()))
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--disable-pip-version-check",
                        "--target", str(site), str(wheel)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.check_output([str(python), "-c", "import neuralpaint; print(neuralpaint.__file__)"],
                                    cwd=work, text=True).strip()
    assert Path(where).is_relative_to(site), where

    from neuralpaint.errors import NeuralPaintError
    from neuralpaint.strokes import libmypaint, mypaint

    try:
        libmypaint.library()
        mypaint.find_brush(mypaint.DEFAULT_BRUSH)
        has_mypaint = True
    except NeuralPaintError:  # pragma: no cover - depends on the machine
        has_mypaint = False
    stroke = ["--stroke", "mypaint"] if has_mypaint else ["--stroke", "oilpaintbrush", "--renderer", "neural"]
    r = subprocess.run([str(python), "-m", "neuralpaint", "paint", "--img", str(REPO / "test_images" / "chelsea.png"),
                        *stroke, "--size", "48", "--max-strokes", "8", "--max-divide", "2", "--no-animation", "-q",
                        "--out", "out"], cwd=work, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (work / "out" / "chelsea_final.png").is_file() and (work / "out" / "chelsea_strokes.npz").is_file()
