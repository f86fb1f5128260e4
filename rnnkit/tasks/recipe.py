"""What every supervised recipe does the same way: split the data, then fit and export.

``split_data`` reads the training file and the validation file, or holds out a seeded fraction
of the training examples when there is none. ``fit`` writes the untrained model first (so the
run directory is usable at once), then trains with the model exported to ``OUT/model``
whenever the monitored validation metric improves (``TrainerConfig.monitor``: the loss, or
what the recipe's ``score`` reports).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from torch import nn

from rnnkit.tasks.batches import holdout
from rnnkit.training import Trainer, TrainerConfig, TrainResult
from rnnkit.training import distributed as dist

T = TypeVar("T")


def split_data(cfg: Any, read: Callable[[str], list[T]], seed: int) -> tuple[list[T], list[T]]:
    """``(train, valid)`` from ``cfg.data`` and ``cfg.valid`` (or ``cfg.valid_fraction``)."""
    if cfg.data is None:
        raise ValueError(f"{type(cfg).__name__}: data (the training file) is required")
    train = read(cfg.data)
    if cfg.valid:
        return train, read(cfg.valid)
    return holdout(train, cfg.valid_fraction, seed)


def fit(
    model: nn.Module,
    train_batches: Any,
    valid_batches: Any,
    trainer: TrainerConfig,
    out_dir: Path,
    export: Callable[[Path], None],
    resume: bool = False,
    score: Callable[[nn.Module], dict[str, float]] | None = None,
) -> TrainResult:
    """Export the fresh model (unless resuming), then train with ``export`` on improvement;
    ``score`` adds the task's own validation metrics (``Trainer``'s argument), computed only
    when ``trainer.monitor`` is not the loss (they can cost more than the loss itself, such
    as decoding every validation document)."""
    if not resume and dist.rank() == 0:
        export(out_dir)
    if trainer.monitors_loss():
        score = None
    return Trainer(
        model, train_batches, trainer, valid_data=valid_batches, out_dir=out_dir, export=export,
        score=score,
    ).fit(resume)  # fmt: skip
