"""``neuralpaint.optim.Adam``: torch's Adam arithmetic without importing ``torch._dynamo``."""
from __future__ import annotations

import subprocess
import sys

import torch

from neuralpaint.optim import Adam


def _problem(seed: int):
    gen = torch.Generator().manual_seed(seed)
    target = torch.rand(6, 4, generator=gen, dtype=torch.float64)
    start = torch.rand(6, 4, generator=gen, dtype=torch.float64)
    return target, start


def test_adam_matches_torch_adam():
    target, start = _problem(0)
    ours, theirs = start.clone().requires_grad_(True), start.clone().requires_grad_(True)
    mine, reference = Adam([ours], lr=0.05), torch.optim.Adam([theirs], lr=0.05)
    for _ in range(25):
        for x, opt in ((ours, mine), (theirs, reference)):
            opt.zero_grad()
            ((x - target) ** 3).abs().sum().backward()
            opt.step()
    assert torch.allclose(ours, theirs, atol=1e-12, rtol=0)


def test_per_tensor_learning_rates_and_bounds():
    a, b = torch.full((3,), 0.5, requires_grad=True), torch.full((3,), 0.5, requires_grad=True)
    opt = Adam([a, b], lr=[0.1, 0.001], bounds=(0.0, 1.0))
    for _ in range(20):
        opt.zero_grad()
        (-(a + b)).sum().backward()  # pushes both up
        opt.step()
    assert torch.all(a == 1.0)  # clamped at the bound
    assert torch.all((b > 0.5) & (b < 0.53))


def test_restart_and_replace_carry_the_right_moments():
    target, start = _problem(1)
    x = start.clone().requires_grad_(True)
    opt = Adam([x], lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        (x - target).square().sum().backward()
        opt.step()
    before = opt.exp_avg[0].clone()
    lost = torch.tensor([False, True, False, False, True, False])
    opt.restart(lost)
    assert torch.all(opt.exp_avg[0][lost] == 0) and torch.all(opt.exp_avg_sq[0][lost] == 0)
    assert torch.equal(opt.exp_avg[0][~lost], before[~lost])
    # the kept rows first, in order, then two new rows: moments follow, new rows start at zero
    new = torch.cat([x.detach()[~lost], torch.rand(2, 4, dtype=torch.float64)]).requires_grad_(True)
    opt.replace(new, ~lost)
    assert opt.tensors[0] is new
    assert torch.equal(opt.exp_avg[0][:4], before[~lost])
    assert torch.all(opt.exp_avg[0][4:] == 0) and opt.exp_avg_sq[0].shape == new.shape


def test_painting_does_not_import_torch_dynamo(tmp_path):
    """Creating a ``torch.optim`` optimiser imports ``torch._dynamo`` (about 2 s of start-up)."""
    code = ("import sys\nfrom neuralpaint.cli import main\n"
            f"assert main(['paint', '--img', {str(tmp_path / 'p.png')!r}, '--size', '24', '--max-strokes', '3',"
            " '--refine-steps', '2', '--iters-per-stroke', '2', '--no-animation', '-q',"
            f" '--out', {str(tmp_path)!r}]) == 0\n"
            "print('torch._dynamo' in sys.modules)\n")
    import numpy as np
    from PIL import Image

    Image.fromarray(np.random.default_rng(0).integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(tmp_path / "p.png")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"
