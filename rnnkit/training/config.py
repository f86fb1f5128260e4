"""``TrainerConfig``: every knob of the trainer, all plain values (YAML/CLI friendly)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rnnkit.config import Config


@dataclass
class TrainerConfig(Config):
    """Training budget, optimisation, evaluation, checkpointing and logging.

    Training stops at the first budget reached; at least one must be set.

    Budgets:
        max_steps: optimizer steps.
        max_epochs: passes over the training data.
        max_time: wall-clock seconds, evaluation included (the last evaluation is budgeted).

    Optimisation:
        optimizer: ``"sgd"``, ``"adam"`` or ``"adamw"``; lr, weight_decay, momentum (SGD).
        clip_grad_norm: rescale gradients to at most this global L2 norm (None: off).
        max_nonfinite_steps: a step whose loss or gradient norm is NaN or infinite is skipped
            and counted; this many in a row stop the run as diverged (None: never stop).
        schedule: ``"constant"``, ``"cosine"`` (to ``min_lr`` at the step budget) or
            ``"plateau"`` (multiply by ``plateau_factor`` when validation loss has not improved
            for ``plateau_patience`` evaluations); ``warmup_steps`` of linear warm-up first.

    Evaluation and stopping:
        eval_every: evaluate every this many steps (None: at the end of each epoch).
        early_stopping: stop after this many evaluations without improvement (None: off).
        monitor: the validation metric that picks the best model (the one exported) and
            drives early stopping: ``"loss"`` (the default), ``"ppl"``, or a metric the task's
            scorer reports (the summarizers' ``"rouge1"``, ``"rouge2"``, ``"rougeL"``; the
            classifier's ``"accuracy"``, ``"macro_f1"``; the tagger's ``"accuracy"``, ``"f1"``).
            monitor_mode: ``"min"``, ``"max"`` or ``"auto"`` (minimise loss and ppl, maximise
            anything else); on a tie the lower validation loss wins. The plateau schedule always
            follows the validation loss.

    Device:
        device: where the model trains: ``"cpu"``, ``"cuda"``, ``"cuda:1"``... (None: the GPU
            when PyTorch sees one, else the CPU; under ``torchrun`` each process takes the GPU
            of its rank).

    Checkpoints and logs:
        checkpoint_every: steps between checkpoints (None: at each evaluation);
            keep_checkpoints: how many to keep.
        log_every: steps between log lines; progress: progress bar (None: when on a terminal);
        tensorboard: also write TensorBoard event files (needs the ``tensorboard`` package).

    Reproducibility:
        seed; deterministic: ``torch.use_deterministic_algorithms`` and seeded everything.
    """

    max_steps: int | None = None
    max_epochs: int | None = None
    max_time: float | None = None
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 2e-3
    weight_decay: float = 0.0
    momentum: float = 0.0
    clip_grad_norm: float | None = 1.0
    max_nonfinite_steps: int | None = 5
    schedule: str = "constant"
    warmup_steps: int = 0
    min_lr: float = 0.0
    plateau_factor: float = 0.5
    plateau_patience: int = 0
    eval_every: int | None = None
    early_stopping: int | None = None
    monitor: str = "loss"
    monitor_mode: str = "auto"
    checkpoint_every: int | None = None
    keep_checkpoints: int = 2
    log_every: int = 50
    progress: bool | None = None
    tensorboard: bool = False
    seed: int = 0
    deterministic: bool = False
    device: str | None = None

    def check(self) -> None:
        """Raise ``ValueError`` naming the first inconsistent setting."""
        if self.max_steps is None and self.max_epochs is None and self.max_time is None:
            raise ValueError("TrainerConfig: set at least one of max_steps, max_epochs, max_time")
        for name in ("max_steps", "max_epochs", "max_time", "batch_size", "lr",
                     "max_nonfinite_steps"):  # fmt: skip
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"TrainerConfig: {name} must be > 0, got {value}")
        if self.optimizer not in ("sgd", "adam", "adamw"):
            raise ValueError(
                f"TrainerConfig: optimizer must be sgd, adam or adamw, got {self.optimizer!r}"
            )
        if self.schedule not in ("constant", "cosine", "plateau"):
            raise ValueError(
                "TrainerConfig: schedule must be constant, cosine or plateau, "
                f"got {self.schedule!r}"
            )
        if self.monitor_mode not in ("auto", "min", "max"):
            raise ValueError(
                f"TrainerConfig: monitor_mode must be auto, min or max, got {self.monitor_mode!r}"
            )
        if self.schedule == "cosine" and self.max_steps is None:
            raise ValueError("TrainerConfig: the cosine schedule needs max_steps")
        self._check_device()

    def _check_device(self) -> None:
        if self.device is None:
            return
        try:
            kind = torch.device(self.device).type
        except (RuntimeError, ValueError):
            raise ValueError(
                f"TrainerConfig: device must be cpu, cuda or cuda:N, got {self.device!r}"
            ) from None
        if kind == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"TrainerConfig: device {self.device!r}, but PyTorch sees no GPU here "
                "(leave device unset to train where PyTorch can)"
            )

    def monitors_loss(self) -> bool:
        """Whether ``monitor`` is the validation loss or its perplexity (no task score needed)."""
        return self.monitor in ("loss", "ppl")

    def monitor_minimized(self) -> bool:
        """Whether a lower ``monitor`` value is better (``"auto"``: only for loss and ppl)."""
        if self.monitor_mode == "auto":
            return self.monitors_loss()
        return self.monitor_mode == "min"
