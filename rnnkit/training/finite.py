"""Non-finite losses and gradients: skip the step, count it, stop when training has diverged.

A step whose loss or gradient norm is NaN or infinite is not applied (the optimizer, its
moments and the weights stay as they were), and counted. After ``max_nonfinite_steps`` such
steps in a row (``TrainerConfig``; default 5, None never stops) the run stops with
``TrainingDiverged``, whose message names the last good checkpoint. ``check_finite`` guards
every save: a checkpoint or model directory never holds a non-finite weight.

Example:
    >>> guard = NonFiniteGuard(limit=5)
    >>> guard.observe(finite=False, step=12)  # True: skip this step
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from rnnkit.errors import TrainingDiverged


def grad_norm(parameters: Iterable[nn.Parameter]) -> torch.Tensor:
    """The global L2 norm of the gradients (what ``clip_grad_norm_`` computes)."""
    grads = [p.grad for p in parameters if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())


def check_finite(model: nn.Module, what: str) -> None:
    """Raise ``TrainingDiverged`` when a floating-point parameter or buffer is not finite."""
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise TrainingDiverged(
                f"refusing to save {what}: weight {name} is not finite (training diverged)"
            )


class NonFiniteGuard:
    """Counts non-finite steps (in total and in a row) and says when to give up.

    Args:
        limit: non-finite steps in a row that end the run (None: never).
    """

    def __init__(self, limit: int | None = 5) -> None:
        self.limit = limit
        self.total = 0
        self.in_a_row = 0
        self.last_step: int | None = None

    def observe(self, finite: bool, step: int) -> bool:
        """Record one step; True when it must be skipped."""
        if finite:
            self.in_a_row = 0
            return False
        self.total += 1
        self.in_a_row += 1
        self.last_step = step
        return True

    @property
    def diverged(self) -> bool:
        """Whether ``limit`` non-finite steps came in a row."""
        return self.limit is not None and self.in_a_row >= self.limit

    def error(self, last_checkpoint: str | None) -> TrainingDiverged:
        """The error that ends a diverged run, naming the last good checkpoint."""
        where = (
            f"the last good checkpoint is {last_checkpoint}"
            if last_checkpoint
            else "no checkpoint was written before it"
        )
        return TrainingDiverged(
            f"training diverged: {self.in_a_row} steps in a row (to step {self.last_step}) had "
            f"a non-finite loss or gradient norm and were skipped; {where}. Lower the learning "
            "rate (--trainer.lr) or clip gradients (--trainer.clip_grad_norm), then train again "
            "or --resume"
        )

    def state_dict(self) -> dict[str, int]:
        return {"total": self.total, "in_a_row": self.in_a_row}

    def load_state_dict(self, state: dict[str, int] | None) -> None:
        if state:
            self.total, self.in_a_row = int(state["total"]), int(state["in_a_row"])
