"""Multi-process training under `torchrun`: process group, device, and the few collectives the
trainer needs. With WORLD_SIZE unset or 1 everything here is a no-op on one process.

Backend: nccl when the processes train on CUDA, gloo on CPU. Rank 0 is the only writer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: its rank among `world_size` and the device it trains on."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def env_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def resolve_device(setting: str, local_rank: int = 0) -> torch.device:
    """`auto`: this process's GPU when CUDA is available, else the CPU."""
    if setting == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    device = torch.device(setting)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device is set to cuda but no GPU is visible; use device 'auto'.")
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{local_rank}")
    return device


@contextmanager
def distributed_context(device_setting: str = "auto") -> Iterator[DistContext]:
    """Join the `torchrun` process group if WORLD_SIZE > 1 (leaving it on exit if this call
    created it); yield this process's DistContext."""
    world_size = env_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_setting, local_rank)
    created = False
    if world_size > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        created = True
    rank = dist.get_rank() if dist.is_initialized() else 0
    world_size = dist.get_world_size() if dist.is_initialized() else 1
    try:
        yield DistContext(rank, world_size, local_rank, device)
    finally:
        if created:
            dist.destroy_process_group()


def all_reduce_sum(tensor: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Sum of `tensor` over processes (in place; returned for convenience)."""
    if ctx.distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def any_process(flag: bool, ctx: DistContext) -> bool:
    """True on every process if `flag` is True on any (so all stop at the same step)."""
    if not ctx.distributed:
        return flag
    value = torch.tensor([1 if flag else 0], device=ctx.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def gather_objects(obj: Any, ctx: DistContext) -> list[Any]:
    """Every process's `obj` (picklable), in rank order, on every process."""
    if not ctx.distributed:
        return [obj]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_module(module: nn.Module, ctx: DistContext) -> None:
    """Copy rank 0's parameters and buffers into every process's `module`."""
    if ctx.distributed:
        with torch.no_grad():
            for tensor in module.state_dict().values():
                dist.broadcast(tensor, src=0)


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()
