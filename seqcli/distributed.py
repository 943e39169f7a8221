"""Multi-process training on PyTorch's own engine (DDP under torchrun).

`torchrun --nproc_per_node N -m seqcli train ...` sets RANK/WORLD_SIZE; each rank
trains on its own shard of every epoch's batches; rank 0 alone writes the run
directory and shows progress. gloo on CPU, NCCL on CUDA.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as torch_dist

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    """This process's place in the job."""

    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init() -> Context:
    """Join the process group when launched by torchrun; a single process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Context()
    if not torch_dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch_dist.init_process_group(backend=backend)
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return Context(torch_dist.get_rank(), torch_dist.get_world_size())


def wrap(model: torch.nn.Module, ctx: Context) -> torch.nn.Module:
    """DistributedDataParallel when there are several processes; the model itself otherwise."""
    if ctx.world <= 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, find_unused_parameters=False)


def shard(items: list[T], ctx: Context) -> list[T]:
    """This rank's share; every rank gets the same count so collectives stay in step."""
    if ctx.world <= 1:
        return items
    usable = len(items) - len(items) % ctx.world
    return items[ctx.rank:usable:ctx.world]


def shutdown(ctx: Context) -> None:
    """Leave the process group."""
    if ctx.world > 1 and torch_dist.is_initialized():
        torch_dist.destroy_process_group()
