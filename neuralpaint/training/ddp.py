"""Training in several processes started by ``torchrun``: DistributedDataParallel set-up and tear-down.

    torchrun --nproc_per_node 2 -m neuralpaint train-renderer --stroke rectangle ...

``torchrun`` starts the processes and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``
and ``MASTER_PORT`` in each; ``ddp_setup`` reads them. Outside ``torchrun`` (or with one process)
it returns ``None`` and the training loop runs exactly as in one process. The backend is ``nccl``
when training on CUDA (each process on the GPU ``cuda:LOCAL_RANK``) and ``gloo`` on the CPU.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..device import resolve_device
from ..errors import NeuralPaintError


@dataclass
class DDP:
    """This process's place among ``world_size`` training processes."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def master(self) -> bool:
        return self.rank == 0

    def wrap(self, net: torch.nn.Module) -> torch.nn.Module:
        """``net`` in ``DistributedDataParallel``: rank 0's weights at the start, gradients averaged."""
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(net, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def agree(self, flag: bool) -> bool:
        """Rank 0's ``flag`` in every process (a decision that rests on rank 0's clock)."""
        value = torch.tensor([int(flag)], device=self.device)
        dist.broadcast(value, 0)
        return bool(value.item())

    def mean(self, value: float) -> float:
        """``value`` averaged over the processes."""
        total = torch.tensor([float(value)], device=self.device)
        dist.all_reduce(total)
        return total.item() / self.world_size

    def gather(self, obj) -> list:
        """Every process's ``obj``, by rank."""
        objects = [None] * self.world_size
        dist.all_gather_object(objects, obj)
        return objects


def ddp_setup(device_name: str = "auto") -> DDP | None:
    """Join the ``torchrun`` process group (``None`` outside ``torchrun`` or with one process)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if "RANK" not in os.environ or world_size <= 1:
        return None
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name)
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise NeuralPaintError(f"local rank {local_rank} has no GPU: {torch.cuda.device_count()} CUDA device(s) "
                                   "here; start at most that many processes per node (--nproc_per_node)")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", init_method="env://")
    return DDP(rank, world_size, local_rank, device)


def ddp_teardown(ddp: DDP | None) -> None:
    if ddp is not None and dist.is_initialized():
        dist.destroy_process_group()
