"""Optimizers by name."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from rnnkit.training.config import TrainerConfig


def build_optimizer(params: Iterable[nn.Parameter], config: TrainerConfig) -> torch.optim.Optimizer:
    """SGD (with optional momentum), Adam or AdamW from the trainer config."""
    params = [p for p in params if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
