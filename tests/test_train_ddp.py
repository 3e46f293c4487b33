"""``torchrun --nproc_per_node 2 -m neuralpaint train-renderer``: two CPU processes (gloo) train a
tiny net together; rank 0 alone logs and writes the files, and ``--resume`` continues the run."""
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from neuralpaint.checkpoints import read_checkpoint

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(size=32, pixel_shuffle=dict(fc=(32, 256), base=8, channels=(8, 8)), deconv=dict(channels=(32, 16, 8)))


def torchrun(tmp_path: Path, *args) -> subprocess.CompletedProcess:
    """``train-renderer ARGS`` in two processes under ``torch.distributed.run`` (through
    ``ddp_probe``, which notes who writes which file into ``tmp_path/probe.log``)."""
    config = tmp_path / "tiny.yaml"
    config.write_text(json.dumps({"net": "fusion", "net_overrides": TINY, "val_size": 16, "eval_every": 10,
                                  "sample_every": 1000, "batch_size": 8, "lr": 1e-3, "save_every_seconds": 3600}))
    path = os.pathsep.join([str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "PROBE_LOG": str(tmp_path / "probe.log")}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
               "ddp_probe", "train-renderer", "--stroke", "rectangle", "--config", str(config), "--device", "cpu",
               "--out", str(tmp_path / "run"), "-q", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def writers(tmp_path: Path) -> list[tuple[str, str]]:
    """``(rank, file name)`` for each checkpoint or state file written."""
    return [tuple(line.split()) for line in (tmp_path / "probe.log").read_text().splitlines() if " weights " not in line]


def weights(tmp_path: Path) -> dict[str, str]:
    """Each rank's weights at the end (a checksum)."""
    return dict(line.split(" weights ") for line in (tmp_path / "probe.log").read_text().splitlines()
                if " weights " in line)


def test_two_processes_train_one_run_and_resume_it(tmp_path):
    run = tmp_path / "run"
    done = torchrun(tmp_path, "--steps", "30")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("trained rectangle/fusion for 30 steps") == 1, done.stdout  # rank 0 reports
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in log] == [10, 20, 30]  # one line per evaluation: rank 0 alone logs
    assert log[-1]["loss"] < log[0]["loss"] and log[-1]["psnr"] > log[0]["psnr"]
    assert sorted(p.name for p in run.iterdir()) == ["best.pt", "last.pt", "log.jsonl", "state.pt"]
    assert {rank for rank, _ in writers(tmp_path)} == {"0"}  # rank 1 never writes a checkpoint
    assert [name for _, name in writers(tmp_path)].count("last.pt") == 1  # saved once, at the end
    state = torch.load(run / "state.pt", weights_only=True)
    assert state["step"] == 30 and len(state["rank_generators"]) == 2
    assert not torch.equal(state["rank_generators"][0], state["rank_generators"][1])  # each rank its own strokes
    assert read_checkpoint(run / "last.pt")["steps"] == 30
    checksums = weights(tmp_path)  # gradients averaged: the ranks' weights stay identical
    assert set(checksums) == {"0", "1"} and checksums["0"] == checksums["1"], checksums

    (tmp_path / "probe.log").unlink()
    again = torchrun(tmp_path, "--steps", "40", "--resume")
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("trained rectangle/fusion for 40 steps") == 1, again.stdout
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in log] == [10, 20, 30, 40]  # continued from step 30
    assert read_checkpoint(run / "last.pt")["steps"] == 40
    assert torch.load(run / "state.pt", weights_only=True)["step"] == 40
    assert {rank for rank, _ in writers(tmp_path)} == {"0"}
    checksums = weights(tmp_path)
    assert set(checksums) == {"0", "1"} and checksums["0"] == checksums["1"], checksums


def test_the_gan_renderer_under_torchrun_is_an_error(tmp_path, monkeypatch, capsys):
    from neuralpaint.cli import main

    monkeypatch.setenv("WORLD_SIZE", "2")
    status = main(["train-renderer", "--stroke", "rectangle", "--net", "gan", "--data", str(tmp_path),
                   "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert status == 2 and "without torchrun" in err and "Traceback" not in err
