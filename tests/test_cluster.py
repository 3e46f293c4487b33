"""``paint --cluster`` (Dask workers) and ``cluster-local``.

One in-process ``LocalCluster`` (2 worker processes of 1 thread) paints four photos of at most 64
pixels at 48 with 8 rectangle strokes; one worker is killed (SIGKILL) while it paints, and every
photo must still be painted exactly once, bit-identical to a local ``--jobs 1`` batch.
"""
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from neuralpaint import cluster as cluster_module
from neuralpaint.strokesfile import load_strokes
from helpers import assert_user_error, write_small_photos  # noqa: E402
from test_batch import OUTPUTS, manifest, run
from test_batch import PAINTING as SETTINGS

distributed = pytest.importorskip("distributed", reason="the cluster extra: pip install 'neuralpaint[cluster]'")

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("astronaut", "chelsea", "coffee", "rocket")


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    return write_small_photos(tmp_path_factory.mktemp("photos"), NAMES)


@pytest.fixture(scope="module")
def local(photos, tmp_path_factory) -> Path:
    """The photos painted by a local ``--jobs 1`` batch."""
    out = tmp_path_factory.mktemp("local")
    status, _, err = run("paint", "--img", photos, *SETTINGS, "--out", out, "--jobs", 1)
    assert status == 0, err
    return out


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.CRITICAL) as local_cluster:
        yield local_cluster


def kill_a_painting_worker(address: str, killed: list, timeout: float = 45.0) -> threading.Thread:
    """In a thread: as soon as a worker holds a ``paint-`` task, SIGKILL its process."""
    monitor = distributed.Client(address, set_as_default=False)
    pids = monitor.run(os.getpid)  # while the workers are idle

    def watch():
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not killed:
                for worker, keys in monitor.processing().items():
                    keys = [k for k in keys if str(k).startswith("paint-")]
                    if keys:
                        os.kill(pids[worker], signal.SIGKILL)
                        killed.append((worker, keys))
                        break
                time.sleep(0.05)
        finally:
            monitor.close()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def files_of(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir())


def expected_files() -> list[str]:
    return sorted(["manifest.json"] + [f"{name}_{suffix}" for name in NAMES for suffix in OUTPUTS])


def same_as_local(out: Path, local: Path) -> None:
    for name in NAMES:
        assert (out / f"{name}_final.png").read_bytes() == (local / f"{name}_final.png").read_bytes(), name
        assert (out / f"{name}_input.png").read_bytes() == (local / f"{name}_input.png").read_bytes(), name
        assert np.array_equal(load_strokes(out / f"{name}_strokes.npz").params,
                              load_strokes(local / f"{name}_strokes.npz").params), name


def test_a_worker_killed_while_painting_loses_and_duplicates_nothing(photos, local, cluster, tmp_path):
    out, killed = tmp_path / "out", []
    watcher = kill_a_painting_worker(cluster.scheduler_address, killed)
    status, stdout, err = run("paint", "--img", photos, *SETTINGS, "--out", out, "--cluster", cluster.scheduler_address)
    watcher.join()
    assert status == 0, err
    assert killed, "no worker was killed while painting"
    assert "4 painted, 0 skipped, 0 failed" in stdout
    assert sum(line.startswith("painted ") for line in stdout.splitlines()) == 4
    records = manifest(out)
    assert sorted(records) == list(NAMES)
    for name, entry in records.items():
        assert entry["status"] == "painted" and entry["error"] is None and entry["strokes"] == 8
        assert entry["source"] == str((photos / f"{name}.png").resolve())
        assert sorted(entry["files"]) == sorted(f"{name}_{suffix}" for suffix in OUTPUTS)
    assert files_of(out) == expected_files()  # no duplicate, no temporary file left
    same_as_local(out, local)
    # a rerun skips them all without touching a file
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    status, stdout, err = run("paint", "--img", photos, *SETTINGS, "--out", out, "--cluster", cluster.scheduler_address)
    assert status == 0 and "0 painted, 4 skipped" in stdout, err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_outputs_on_workers_and_the_environment_variable(photos, local, cluster, tmp_path, monkeypatch):
    out = tmp_path / "shared"
    monkeypatch.setenv(cluster_module.ENVIRONMENT, cluster.scheduler_address)
    status, stdout, err = run("paint", "--img", photos, *SETTINGS, "--out", out, "--cluster", "--outputs-on-workers")
    assert status == 0 and "4 painted, 0 skipped, 0 failed" in stdout, err
    assert files_of(out) == expected_files()
    assert all(entry["status"] == "painted" for entry in manifest(out).values())
    same_as_local(out, local)


def test_an_unreachable_scheduler_is_one_error_line(photos, tmp_path, monkeypatch):
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT", 1.0)
    status, _, err = run("paint", "--img", photos, *SETTINGS, "--out", tmp_path / "out", "--cluster",
                         "tcp://127.0.0.1:9")
    assert_user_error(status, err, "cannot connect to the Dask scheduler at tcp://127.0.0.1:9")
    assert not (tmp_path / "out" / "manifest.json").exists()  # stopped before the batch started


@pytest.mark.parametrize("case", ["no address", "outputs without cluster", "jobs with cluster", "no distributed"])
def test_cluster_usage_errors(photos, tmp_path, monkeypatch, case):
    monkeypatch.delenv(cluster_module.ENVIRONMENT, raising=False)
    argv = ["paint", "--img", photos, *SETTINGS, "--out", tmp_path / "out"]
    if case == "no address":
        status, _, err = run(*argv, "--cluster")
        assert_user_error(status, err, "DASK_SCHEDULER_ADDRESS")
    elif case == "outputs without cluster":
        status, _, err = run(*argv, "--outputs-on-workers")
        assert_user_error(status, err, "--outputs-on-workers applies only with --cluster")
    elif case == "jobs with cluster":
        status, _, err = run(*argv, "--cluster", "tcp://127.0.0.1:9", "--jobs", 2)
        assert_user_error(status, err, "--jobs")
    else:
        monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
        status, _, err = run(*argv, "--cluster", "tcp://127.0.0.1:9")
        assert_user_error(status, err, "pip install 'neuralpaint[cluster]'")
    assert not (tmp_path / "out" / "astronaut_final.png").exists()


def test_cluster_local_help():
    status, out, _ = run("cluster-local", "--help")
    assert status == 0
    for option in ("--workers", "--threads-per-worker", "--port", "8786", "Ctrl-C"):
        assert option in out, option


def test_cluster_local_runs_until_ctrl_c():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([sys.executable, "-m", "neuralpaint", "cluster-local", "--workers", "1", "--port", "0",
                                "--dashboard-port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
    try:
        first = process.stdout.readline()
        assert first.startswith("Dask scheduler at tcp://"), first + process.stderr.read()
        address = first.split()[3]
        assert process.stdout.readline().startswith("dashboard: ")
        with distributed.Client(address, timeout=20, set_as_default=False) as client:
            assert len(client.scheduler_info()["workers"]) == 1
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert "cluster stopped" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_stopping_early_records_the_finished_photos_and_cancels_the_rest(photos, cluster, tmp_path):
    """What Ctrl-C does: the iteration stops, the finished photo is recorded, the others stay
    ``pending`` and leave the cluster; the same batch run again paints only those."""
    from neuralpaint.batch import prepare_batch, run_batch
    from test_batch import LIBRARY_SETTINGS

    out = tmp_path / "out"
    runner = cluster_module.cluster_runner(cluster.scheduler_address)
    results = run_batch(prepare_batch([photos], out, animation=False, **LIBRARY_SETTINGS), runner=runner)
    first = next(results)
    results.close()
    assert first.status == "painted" and runner.client.status == "closed"
    statuses = {name: entry["status"] for name, entry in manifest(out).items()}
    assert statuses[first.name] == "painted" and sorted(statuses.values()).count("pending") == 3
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        deadline = time.monotonic() + 20
        while any(client.processing().values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(client.processing().values())  # cancelled, not left running
    again = run_batch(prepare_batch([photos], out, animation=False, **LIBRARY_SETTINGS),
                      runner=cluster_module.cluster_runner(cluster.scheduler_address))
    assert sorted(r.status for r in again) == ["painted"] * 3 + ["skipped"]
    assert files_of(out) == expected_files()
