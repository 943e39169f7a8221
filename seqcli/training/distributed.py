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

    # No buffer broadcast before every forward: seqcli's buffers (position tables) are
    # fixed functions of the config, the same on every rank.
    devices = [torch.cuda.current_device()] if next(model.parameters()).is_cuda else None
    return DistributedDataParallel(model, device_ids=devices, find_unused_parameters=False,
                                   broadcast_buffers=False)


def shard(items: list[T], ctx: Context) -> list[T]:
    """This rank's share; every rank gets the same count so collectives stay in step."""
    if ctx.world <= 1:
        return items
    usable = len(items) - len(items) % ctx.world
    return items[ctx.rank:usable:ctx.world]


def barrier() -> None:
    """Wait until every process gets here (a no-op outside a process group)."""
    if torch_dist.is_available() and torch_dist.is_initialized() and torch_dist.get_world_size() > 1:
        torch_dist.barrier()


def _device() -> torch.device:
    """Where collectives run: NCCL only moves CUDA tensors, gloo CPU ones."""
    return torch.device("cuda") if torch_dist.get_backend() == "nccl" else torch.device("cpu")


def all_sum(values: list[float], ctx: Context) -> list[float]:
    """Each value summed over all processes (float64, so token counts stay exact)."""
    if ctx.world <= 1:
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64, device=_device())
    torch_dist.all_reduce(tensor, op=torch_dist.ReduceOp.SUM)
    return tensor.tolist()


def agree(choice: int, ctx: Context) -> int:
    """The largest of every process's choice: a decision all ranks take together.

    Time budgets and signals are seen by each process at its own moment; without
    agreeing, one rank would stop while the others wait for it in a collective.
    """
    if ctx.world <= 1:
        return choice
    tensor = torch.tensor([choice], dtype=torch.int64, device=_device())
    torch_dist.all_reduce(tensor, op=torch_dist.ReduceOp.MAX)
    return int(tensor.item())


def from_main(flag: bool, ctx: Context) -> bool:
    """Rank 0's flag on every process (the others wait here until rank 0 has decided)."""
    if ctx.world <= 1:
        return flag
    tensor = torch.tensor([int(flag)], dtype=torch.int64, device=_device())
    torch_dist.broadcast(tensor, src=0)
    return bool(tensor.item())


def shutdown(ctx: Context) -> None:
    """Leave the process group."""
    if ctx.world > 1 and torch_dist.is_initialized():
        torch_dist.destroy_process_group()
