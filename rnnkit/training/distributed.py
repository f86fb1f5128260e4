"""Data-parallel training across processes or machines, launched by ``torchrun``.

``torchrun --nproc_per_node=2 -m rnnkit.cli.main train lm ...`` sets ``RANK``/``WORLD_SIZE``;
the trainer then joins the process group (NCCL on CUDA, gloo on CPU), wraps the model in
``DistributedDataParallel`` and lets rank 0 alone write logs and checkpoints. Each rank trains
on its own shard of the data (``shard``).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import Tensor


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def launch_rank() -> int:
    """This process's rank as the launcher (torchrun) sets it in ``RANK``, before the process
    group is joined; 0 when not launched distributed."""
    return int(os.environ.get("RANK", "0"))


def init_from_env() -> bool:
    """Join the process group if launched by torchrun; True when distributed."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available():
        return False
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return True


def any_true(flag: bool) -> bool:
    """True if ``flag`` is true on any rank (keeps every rank's stopping decision the same)."""
    if world_size() == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def shard(ids: Tensor) -> Tensor:
    """This rank's equal-length contiguous share of a 1-D token stream."""
    n = world_size()
    if n == 1:
        return ids
    size = ids.numel() // n
    return ids[rank() * size : (rank() + 1) * size]
