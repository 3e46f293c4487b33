"""``neuralpaint paint --img DIR|GLOB|FILE...`` and ``neuralpaint.paint_many``: batches, the
manifest, resuming, bad photos, Ctrl-C, worker processes.

Every photo is at most 64 pixels across and painted at 48 with 8 rectangle strokes and a few
optimiser steps, so the file runs in well under a minute on two slow cores; worker processes are
started twice (``--jobs 2`` in-process through ``paint_many``, and once in a subprocess for a real
SIGINT).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import neuralpaint
from neuralpaint.imagefiles import read_image
from neuralpaint.painter import progressive
from neuralpaint.strokesfile import load_strokes
from helpers import assert_user_error, run_main, write_small_photos  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("astronaut", "chelsea", "coffee")
PAINTING = ["--size", 48, "--max-strokes", 8, "--max-divide", 2, "--iters-per-stroke", 3, "--refine-steps", 2,
            "--no-animation", "--stroke", "rectangle", "-q"]
SETTINGS = [*PAINTING, "--jobs", 1]  # in this process (the default, one worker per core, spawns workers)
LIBRARY_SETTINGS = dict(size=48, max_strokes=8, max_divide=2, iters_per_stroke=3, refine_steps=2, stroke="rectangle")
OUTPUTS = ("input.png", "final.png", "strokes.npz")


run = run_main  # main(argv) in-process -> (status, stdout, stderr)


def outputs(out: Path, name: str) -> list[Path]:
    return [out / f"{name}_{suffix}" for suffix in OUTPUTS]


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())["photos"]


def mtimes(out: Path) -> dict:
    return {p.name: p.stat().st_mtime_ns for p in sorted(out.iterdir())}


def same_painting(a: Path, b: Path, name: str) -> None:
    """The two folders hold the same painting of ``name``: final picture bit-identical, same strokes."""
    assert np.array_equal(read_image(a / f"{name}_final.png"), read_image(b / f"{name}_final.png")), name
    assert np.array_equal(load_strokes(a / f"{name}_strokes.npz").params, load_strokes(b / f"{name}_strokes.npz").params)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """A folder of three small photos made from the bundled ones."""
    return write_small_photos(tmp_path_factory.mktemp("photos"), NAMES)


@pytest.fixture(scope="module")
def painted(photos, tmp_path_factory):
    """The folder painted once with ``--jobs 1``: ``(out, stdout)``. Tests copy it before changing it."""
    out = tmp_path_factory.mktemp("painted")
    status, stdout, err = run("paint", "--img", photos, *SETTINGS, "--out", out)
    assert status == 0, err
    return out, stdout


def copy(painted_out: Path, tmp_path: Path) -> Path:
    target = tmp_path / "out"
    shutil.copytree(painted_out, target)  # copy2: the modification times come along
    return target


# ---- a folder ------------------------------------------------------------------------------------
def test_a_folder_is_painted_with_each_photos_files_and_a_manifest(photos, painted, tmp_path):
    out, stdout = painted
    assert "3 painted, 0 skipped, 0 failed" in stdout
    for name in NAMES:
        assert f"painted {photos / name}.png with 8 rectangle strokes" in stdout
        for path in outputs(out, name):
            assert path.is_file(), path
    records = manifest(out)
    assert sorted(records) == list(NAMES)
    for name, entry in records.items():
        assert entry["status"] == "painted" and entry["error"] is None
        assert entry["source"] == str((photos / f"{name}.png").resolve())
        assert sorted(entry["files"]) == sorted(p.name for p in outputs(out, name))
        assert entry["psnr"] > 5 and entry["seconds"] > 0 and entry["strokes"] == 8
        assert entry["settings"]["paint"]["max_strokes"] == 8 and entry["settings"]["animation"] is False
    # each photo's outputs are exactly those of painting it alone (which writes no manifest)
    alone = tmp_path / "alone"
    status, stdout, err = run("paint", "--img", photos / "chelsea.png", *SETTINGS, "--out", alone)
    assert status == 0, err
    assert "wrote" in stdout and sorted(p.name for p in alone.iterdir()) == sorted(p.name for p in outputs(alone, "chelsea"))
    for path in outputs(alone, "chelsea"):
        if path.suffix == ".png":
            assert path.read_bytes() == (out / path.name).read_bytes(), path.name
    same_painting(alone, out, "chelsea")


def test_a_rerun_skips_every_photo_and_touches_nothing(photos, painted, tmp_path):
    out = copy(painted[0], tmp_path)
    before = mtimes(out)
    status, stdout, err = run("paint", "--img", photos, *SETTINGS, "--out", out)
    assert status == 0, err
    assert "0 painted, 3 skipped, 0 failed" in stdout
    assert mtimes(out) == before  # the manifest too: nothing was written


def test_changed_photos_settings_and_missing_outputs_are_painted_again(photos, painted, tmp_path):
    folder = tmp_path / "photos"
    shutil.copytree(photos, folder)
    out = tmp_path / "out"
    assert run("paint", "--img", folder, *SETTINGS, "--out", out)[0] == 0
    first = mtimes(out)
    os.utime(folder / "astronaut.png", ns=(time.time_ns(), time.time_ns()))  # the photo changed
    (out / "chelsea_final.png").unlink()  # an output is missing
    status, stdout, err = run("paint", "--img", folder, *SETTINGS, "--out", out)
    assert status == 0, err
    assert "2 painted, 1 skipped, 0 failed" in stdout
    assert "astronaut.png" in stdout and "chelsea.png" in stdout and "coffee.png" not in stdout
    assert all(mtimes(out)[p.name] == first[p.name] for p in outputs(out, "coffee"))
    # another setting: every photo is painted again, and the manifest records it
    status, stdout, err = run("paint", "--img", folder, *SETTINGS, "--max-strokes", 6, "--out", out)
    assert status == 0, err
    assert "3 painted, 0 skipped, 0 failed" in stdout
    for name in NAMES:
        assert load_strokes(out / f"{name}_strokes.npz").n == 6
        assert manifest(out)[name]["settings"]["paint"]["max_strokes"] == 6


# ---- bad photos and usage errors -----------------------------------------------------------------
def test_a_corrupt_photo_fails_alone_and_is_listed(photos, tmp_path):
    folder = tmp_path / "photos"
    shutil.copytree(photos, folder)
    (folder / "astronaut.png").unlink()
    (folder / "broken.png").write_bytes((photos / "coffee.png").read_bytes()[:3000])
    out = tmp_path / "out"
    status, stdout, err = run("paint", "--img", folder, *SETTINGS, "--out", out)
    assert status == 1
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("neuralpaint: error:")]
    assert len(errors) == 1 and "broken.png" in errors[0] and "corrupt" in errors[0], err
    assert "1 of 3 photos failed" in err and err.rstrip().endswith(errors[0].removeprefix("neuralpaint: error: "))
    assert "2 painted, 0 skipped, 1 failed" in stdout
    for name in ("chelsea", "coffee"):
        assert all(p.is_file() for p in outputs(out, name))
    assert not list(out.glob("broken_*"))
    entry = manifest(out)["broken"]
    assert entry["status"] == "failed" and "corrupt" in entry["error"] and entry["files"] == []
    # the next run tries the failed photo again and skips the others
    status, stdout, err = run("paint", "--img", folder, *SETTINGS, "--out", out)
    assert status == 1 and "0 painted, 2 skipped, 1 failed" in stdout


@pytest.mark.parametrize("case", ["no match", "empty folder", "missing file", "same name", "bad manifest",
                                  "bad jobs"])
def test_usage_errors_stop_the_batch_before_it_starts(photos, tmp_path, case):
    out = tmp_path / "out"
    img = [photos]
    words = []
    if case == "no match":
        img, words = [tmp_path / "nothing" / "*.png"], ["no photos match"]
    elif case == "empty folder":
        (tmp_path / "empty").mkdir()
        img, words = [tmp_path / "empty"], ["no photos in this folder"]
    elif case == "missing file":
        img, words = [photos / "coffee.png", tmp_path / "gone.png"], ["gone.png", "no such file"]
    elif case == "same name":
        (tmp_path / "other").mkdir()
        shutil.copy(photos / "coffee.png", tmp_path / "other" / "coffee.png")
        img, words = [photos, tmp_path / "other" / "coffee.png"], ["coffee_*", "different --out"]
    elif case == "bad manifest":
        out.mkdir()
        (out / "manifest.json").write_text("{ not json")
        words = ["manifest.json", "cannot read"]
    status, _, err = run("paint", "--img", *img, *SETTINGS, "--out", out,
                         *(["--jobs", 0] if case == "bad jobs" else []))
    if case == "bad jobs":
        assert status == 2 and "--jobs" in err and "Traceback" not in err
    else:
        assert_user_error(status, err, *words)
    assert not out.exists() or sorted(p.name for p in out.iterdir()) == (["manifest.json"] if case == "bad manifest" else [])


# ---- Ctrl-C --------------------------------------------------------------------------------------
def test_ctrl_c_keeps_the_finished_photos_and_a_rerun_paints_the_rest(photos, painted, tmp_path, monkeypatch):
    real = progressive.optimise_level
    calls = []

    def interrupted(*args, **kwargs):  # Ctrl-C in the first level of the second photo
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(progressive, "optimise_level", interrupted)
    out = tmp_path / "out"
    status, stdout, err = run("paint", "--img", photos, *SETTINGS, "--out", out)
    assert status == 130, err
    assert "interrupted" in err and "Traceback" not in err
    records = manifest(out)
    assert records["astronaut"]["status"] == "painted"
    same_painting(out, painted[0], "astronaut")  # finished before Ctrl-C: whole and recorded
    assert records["chelsea"]["status"] == "interrupted"  # its files hold what was done, as paint writes them
    assert load_strokes(out / "chelsea_strokes.npz").metadata["interrupted"] is True
    assert records["coffee"]["status"] == "pending" and not list(out.glob("coffee_*"))
    kept = {p.name: mtimes(out)[p.name] for p in outputs(out, "astronaut")}
    monkeypatch.setattr(progressive, "optimise_level", real)
    status, stdout, err = run("paint", "--img", photos, *SETTINGS, "--out", out)
    assert status == 0, err
    assert "2 painted, 1 skipped, 0 failed" in stdout
    assert all(mtimes(out)[name] == t for name, t in kept.items())
    for name in NAMES:
        same_painting(out, painted[0], name)
        assert manifest(out)[name]["status"] == "painted"


def test_sigint_with_worker_processes_records_the_finished_photos(photos, tmp_path):
    """A real Ctrl-C (SIGINT to the process group) while two workers paint: exit 130, every photo
    recorded as painted is whole, and the same command finishes the batch."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(6):  # enough photos, slow enough to be caught in the middle
        shutil.copy(photos / f"{NAMES[i % 3]}.png", folder / f"p{i}.png")
    out = tmp_path / "out"
    slow = ["--size", 48, "--max-strokes", 24, "--max-divide", 2, "--iters-per-stroke", 6, "--refine-steps", 6,
            "--no-animation", "--stroke", "rectangle", "-q"]
    argv = [sys.executable, "-m", "neuralpaint", "paint", "--img", str(folder), *map(str, slow), "--out", str(out),
            "--jobs", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if any(e.get("status") == "painted" for e in manifest(out).values()):
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    records = manifest(out)
    done = [name for name, e in records.items() if e["status"] == "painted"]
    assert 1 <= len(done) < 6, records
    for name in done:
        assert load_strokes(out / f"{name}_strokes.npz").n == 24 and (out / f"{name}_final.png").is_file()
    status, stdout, err = run("paint", "--img", folder, *slow, "--out", out)
    assert status == 0, err
    assert f"{6 - len(done)} painted, {len(done)} skipped, 0 failed" in stdout


def test_a_worker_takes_sigint_only_while_painting_and_only_once(monkeypatch):
    """Between photos a worker ignores SIGINT (the pool must not lose it); while painting the first
    one interrupts the photo, and a second one does not cut its outputs short."""
    from neuralpaint import batch

    monkeypatch.setattr(batch, "_busy", False)
    ignored(batch._on_interrupt)  # idle
    monkeypatch.setattr(batch, "_busy", True)
    with pytest.raises(KeyboardInterrupt):
        batch._on_interrupt(signal.SIGINT, None)
    ignored(batch._on_interrupt)  # the second


def ignored(handler) -> None:
    try:
        handler(signal.SIGINT, None)
    except KeyboardInterrupt:
        pytest.fail("the worker did not ignore SIGINT")


# ---- worker processes, the library, the other forms of --img ------------------------------------
def test_paint_many_with_two_workers_gives_the_same_paintings(photos, painted, tmp_path):
    results = []
    for result in neuralpaint.paint_many([photos], tmp_path / "out", jobs=2, animation=False, seed=0,
                                         **LIBRARY_SETTINGS):
        assert manifest(tmp_path / "out")[result.name]["status"] == "painted"  # recorded as it finishes
        results.append(result)
    assert sorted(r.name for r in results) == list(NAMES)
    for r in results:
        assert isinstance(r, neuralpaint.PhotoResult)
        assert r.status == "painted" and r.error is None and r.psnr > 5 and r.seconds > 0 and r.strokes == 8
        assert r.path == photos / f"{r.name}.png"
        assert sorted(r.files) == sorted(outputs(tmp_path / "out", r.name))
        same_painting(tmp_path / "out", painted[0], r.name)
    # a PaintConfig works as well as keywords; the photos are done with these settings
    config = neuralpaint.PaintConfig(**LIBRARY_SETTINGS)
    again = list(neuralpaint.paint_many(photos, tmp_path / "out", config, animation=False))
    assert [r.status for r in again] == ["skipped"] * 3
    assert all(r.psnr is not None and r.files for r in again)


def test_results_are_recorded_as_each_photo_finishes_and_stopping_stops_the_batch(photos, painted, tmp_path):
    out = tmp_path / "out"
    results = neuralpaint.paint_many(photos, out, animation=False, **LIBRARY_SETTINGS)
    first = next(results)
    assert first.name == "astronaut" and first.status == "painted"
    assert {name: e["status"] for name, e in manifest(out).items()} == {
        "astronaut": "painted", "chelsea": "pending", "coffee": "pending"}
    results.close()
    assert sorted(p.name for p in out.iterdir()) == sorted(["manifest.json", *(p.name for p in first.files)])
    same_painting(out, painted[0], "astronaut")


@pytest.mark.parametrize("form", ["glob", "files", "folder and file"])
def test_glob_and_several_files_choose_the_photos(photos, painted, tmp_path, form):
    out = copy(painted[0], tmp_path)  # already painted there: the choice alone is tested
    img = {"glob": [photos / "c*.png"], "files": [photos / "coffee.png", photos / "astronaut.png"],
           "folder and file": [photos, photos / "coffee.png"]}[form]
    expected = {"glob": ["chelsea", "coffee"], "files": ["coffee", "astronaut"], "folder and file": list(NAMES)}[form]
    results = list(neuralpaint.paint_many(img, out, animation=False, **LIBRARY_SETTINGS))
    assert [r.name for r in results] == expected and {r.status for r in results} == {"skipped"}
    status, stdout, err = run("paint", "--img", *img, *SETTINGS, "--out", out)
    assert status == 0 and f"0 painted, {len(expected)} skipped" in stdout, err


def test_default_jobs_follow_the_cores_and_the_memory(monkeypatch):
    from neuralpaint import batch

    monkeypatch.setattr(batch, "usable_cores", lambda: 2)
    monkeypatch.setattr(batch, "available_memory", lambda: 20e9)
    assert batch.default_jobs() == 2  # measured faster than 1 on 2 cores (scripts/bench_batch.py)
    monkeypatch.setattr(batch, "available_memory", lambda: 2e9)
    assert batch.default_jobs() == 1  # room for one painting only
    monkeypatch.setattr(batch, "available_memory", lambda: 0.5e9)
    assert batch.default_jobs() == 1  # never 0
    monkeypatch.setattr(batch, "usable_cores", lambda: 16)
    monkeypatch.setattr(batch, "available_memory", lambda: 9e9)
    assert batch.default_jobs() == 6
    monkeypatch.setattr(batch, "available_memory", lambda: None)
    assert batch.default_jobs() == 16


def test_a_big_manifest_is_written_less_often_and_always_at_the_end(photos, tmp_path, monkeypatch):
    """Writing a manifest of thousands of photos after every photo would cost O(n²): once a write
    is slow, the manifest is written at most every 20 times its duration, and always at the end."""
    from neuralpaint import batch as batch_module

    writes = []
    real = batch_module.write_manifest

    def slow_write(out, manifest):  # as a write of a manifest of thousands of photos would be
        writes.append([v.get("status") for v in manifest["photos"].values()])
        time.sleep(0.2)  # the next write waits 4 s: longer than the three small photos take
        return real(out, manifest)

    monkeypatch.setattr(batch_module, "write_manifest", slow_write)
    monkeypatch.setattr(batch_module, "SMALL_MANIFEST", 0)  # as if it held thousands of photos
    results = list(neuralpaint.paint_many([photos], tmp_path / "out", jobs=1, animation=False, **LIBRARY_SETTINGS))
    assert [r.status for r in results] == ["painted"] * 3
    assert len(writes) < 1 + 3  # the pending list, then fewer than one write per photo
    assert all(v["status"] == "painted" for v in manifest(tmp_path / "out").values())  # the last write has all


def test_a_small_manifest_is_written_after_every_photo_however_slow_the_write(photos, tmp_path, monkeypatch):
    """On a loaded machine even a small manifest can take over ``QUICK_WRITE`` to write; it is
    still written as every photo finishes."""
    from neuralpaint import batch
    from neuralpaint.painter import PaintConfig

    writes = []

    def slow_write(out, manifest):  # every write takes 20 ms
        time.sleep(0.02)
        writes.append(len(manifest["photos"]))

    monkeypatch.setattr(batch, "write_manifest", slow_write)
    plan = batch.prepare_batch([photos], tmp_path / "out", PaintConfig(**LIBRARY_SETTINGS), animation=False)
    for i, name in enumerate(plan.names):
        plan.record(batch.PhotoResult(plan.photos[i], name, "failed", error="x"))
    assert len(writes) == len(NAMES)
