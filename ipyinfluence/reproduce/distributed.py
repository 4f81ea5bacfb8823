"""Data parallelism under ``torchrun``: who am I, shard the instances, wait for the others.

``torchrun`` (``python -m torch.distributed.run``) sets ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``
and the rendezvous address; without them the run is one process (rank 0 of 1) and no
process group is made. Backend: gloo on CPU, nccl on CUDA. The group is only used for
barriers (ranks share nothing but the output folder), with a long timeout because shards
finish at different times.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

BARRIER_TIMEOUT = _dt.timedelta(hours=48)


@dataclass
class Worker:
    rank: int
    world_size: int
    local_rank: int
    device: str
    group: bool  # whether this process made a process group (and must destroy it)

    def shard(self, indices):
        """Instance ``i`` goes to rank ``i % world_size``."""
        return [i for i in indices if i % self.world_size == self.rank]

    def barrier(self) -> None:
        if self.group:
            if dist.get_backend() == "nccl":
                dist.barrier(device_ids=[self.local_rank])
            else:
                dist.barrier()

    def close(self) -> None:
        if self.group and dist.is_initialized():
            dist.destroy_process_group()
            self.group = False


def start_worker(device: str = "cpu") -> Worker:
    """Join the ``torchrun`` group if there is one; pick this rank's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    cuda = str(device).startswith("cuda")
    if cuda and ":" not in str(device):
        device = f"cuda:{local}" if world > 1 else "cuda"
    if cuda:
        torch.cuda.set_device(torch.device(device))
    group = False
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo", rank=rank, world_size=world, timeout=BARRIER_TIMEOUT)
        group = True
    return Worker(rank=rank, world_size=world, local_rank=local, device=str(device), group=group)
