"""Learning-rate schedules with a serialisable state: warm-up, then constant, cosine or plateau.

lr(s) = base * min(1, (s + 1) / warmup) * g(s)
cosine:  g(s) = m + (1 - m) * (1 + cos(pi * s / S)) / 2,   m = min_lr / base, S = max_steps
plateau: g = factor^k after k evaluations that failed to improve for ``patience`` in a row
"""

from __future__ import annotations

import math
from typing import Any

from torch.optim import Optimizer


class LRSchedule:
    """Sets every param group's ``lr`` before each step."""

    def __init__(
        self,
        optimizer: Optimizer,
        kind: str,
        base_lr: float,
        warmup_steps: int = 0,
        total_steps: int | None = None,
        min_lr: float = 0.0,
        factor: float = 0.5,
        patience: int = 0,
    ) -> None:
        self.optimizer = optimizer
        self.kind = kind
        self.base_lr = base_lr
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.min_lr = min_lr
        self.factor = factor
        self.patience = patience
        self.scale = 1.0  # plateau reductions so far
        self.best = math.inf
        self.bad_evals = 0

    def lr_at(self, step: int) -> float:
        lr = self.base_lr * self.scale
        if self.warmup_steps:
            lr *= min(1.0, (step + 1) / self.warmup_steps)
        if self.kind == "cosine" and self.total_steps:
            m = self.min_lr / self.base_lr
            progress = min(step, self.total_steps) / self.total_steps
            lr *= m + (1 - m) * 0.5 * (1 + math.cos(math.pi * progress))
        return lr

    def apply(self, step: int) -> float:
        lr = self.lr_at(step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def observe(self, valid_loss: float) -> None:
        """Tell the schedule a validation loss (only the plateau schedule reacts)."""
        if valid_loss < self.best:
            self.best, self.bad_evals = valid_loss, 0
            return
        self.bad_evals += 1
        if self.kind == "plateau" and self.bad_evals > self.patience:
            self.scale *= self.factor
            self.bad_evals = 0

    def state_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "best": self.best, "bad_evals": self.bad_evals}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scale, self.best, self.bad_evals = state["scale"], state["best"], state["bad_evals"]
