"""The trainer: knows no model, only ``model.forward_loss(batch) -> (loss, n_items)``.

One step reads top to bottom: learning rate from the schedule, loss, backward, gradient-norm
clipping, optimizer step. Around it: budgets (steps, epochs, wall time including evaluation),
evaluation (the loss, plus whatever a task's ``score`` reports) with early stopping and best-model
export on the monitored metric, atomic checkpoints with exact resumption, graceful Ctrl-C,
callbacks for logging, and data-parallel training under ``torchrun``.

Optional model hooks: ``start_epoch(epoch)``, ``start_evaluation()`` (reset carried state for
truncated BPTT), ``runtime_state()`` / ``load_runtime_state()`` (saved in checkpoints).
Optional data hooks: ``set_epoch(epoch)``, ``state_dict()`` / ``load_state_dict()`` (position).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rnnkit.metrics.lm import perplexity
from rnnkit.training import distributed as dist
from rnnkit.training.callbacks import (
    Callback,
    CSVLogger,
    ProgressBar,
    TensorBoardLogger,
    validation_metrics,
)
from rnnkit.training.checkpoint import (
    latest_checkpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from rnnkit.training.config import TrainerConfig
from rnnkit.training.evaluation import evaluate_loss, to_device
from rnnkit.training.finite import NonFiniteGuard, check_finite, grad_norm
from rnnkit.training.interrupt import GracefulInterrupt
from rnnkit.training.optim import build_optimizer
from rnnkit.training.schedule import LRSchedule


@dataclass
class TrainResult:
    """How a ``fit`` ended."""

    steps: int
    epochs: int
    elapsed: float
    stopped: str
    best_valid_loss: float | None
    last_valid: dict[str, float] | None
    best_valid: dict[str, float] | None = None


class _LossModule(nn.Module):
    """Routes DDP's forward to ``forward_loss`` so gradient sync hooks fire."""

    model: Any  # a module with ``forward_loss`` (duck-typed, as the trainer takes it)

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Any) -> tuple[torch.Tensor, int]:
        return self.model.forward_loss(batch)


class Trainer:
    """Train any model that has ``forward_loss``.

    Args:
        model: the model (moved to ``device``).
        train_data: an iterable of batches, re-iterated each epoch.
        config: a ``TrainerConfig``.
        valid_data: an iterable of batches for evaluation, or None.
        out_dir: run directory for checkpoints and logs (None: no files).
        export: called with ``out_dir`` whenever the model is the best so far (rank 0 only);
            the task writes the usable model directory there.
        callbacks: extra callbacks.
        score: called with the model (in eval mode, without gradients) at each evaluation;
            returns more validation metrics (e.g. ROUGE), which ``config.monitor`` may name.
        device: ``"cpu"``, ``"cuda"``... (default: ``config.device``, else CUDA when available).

    Example:
        >>> trainer = Trainer(lm, stream, TrainerConfig(max_steps=100), valid_data=valid)
        >>> result = trainer.fit()
    """

    def __init__(
        self,
        model: nn.Module,
        train_data: Iterable,
        config: TrainerConfig,
        valid_data: Iterable | None = None,
        out_dir: Path | None = None,
        export: Callable[[Path], None] | None = None,
        callbacks: Sequence[Callback] = (),
        device: str | torch.device | None = None,
        score: Callable[[nn.Module], dict[str, float]] | None = None,
    ) -> None:
        config.check()
        if not config.monitors_loss() and score is None:
            raise ValueError(
                f"TrainerConfig: monitor {config.monitor!r} needs a task that scores its "
                "validation data; this one reports only loss and ppl"
            )
        self.score = score
        self.config = config
        self.distributed = dist.init_from_env()
        self.is_main = dist.rank() == 0
        device = device or config.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.device = torch.device(device)
        if self.device.type == "cuda" and self.distributed:
            self.device = torch.device("cuda", dist.rank() % torch.cuda.device_count())
        self.model = model.to(self.device)
        self.train_data, self.valid_data = train_data, valid_data
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.export = export
        self.optimizer = build_optimizer(model.parameters(), config)
        self.schedule = LRSchedule(
            self.optimizer, config.schedule, config.lr, config.warmup_steps, config.max_steps,
            config.min_lr, config.plateau_factor, config.plateau_patience,
        )  # fmt: skip
        self.loss_fn: nn.Module = _LossModule(model)
        if self.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.loss_fn = nn.parallel.DistributedDataParallel(self.loss_fn, device_ids=ids)
        self.callbacks = self._default_callbacks() + list(callbacks)
        self.step = self.epoch = self.bad_evals = 0
        self.mid_epoch, self.should_stop = False, False
        self.stop_reason: str | None = None
        self.best = math.inf if config.monitor_minimized() else -math.inf
        self.best_valid: dict[str, float] | None = None
        self.last_valid: dict[str, float] | None = None
        self.elapsed_before = 0.0
        self._eval_seconds: float | None = None
        self._tokens_per_sec = 0.0
        self._interrupt = GracefulInterrupt()
        self._checkpointed_step: int | None = None
        self._nonfinite = NonFiniteGuard(config.max_nonfinite_steps)

    # ----------------------------------------------------------------- setup
    def _default_callbacks(self) -> list[Callback]:
        if not self.is_main:
            return []
        out: list[Callback] = [ProgressBar(self.config.progress)]
        if self.out_dir is not None:
            out.append(CSVLogger(self.out_dir / "log.csv"))
            if self.config.tensorboard:
                out.append(TensorBoardLogger(self.out_dir / "tensorboard"))
        return out

    def _seed(self) -> None:
        seed = self.config.seed
        random.seed(seed)
        torch.manual_seed(seed)
        if self.config.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)

    def request_stop(self, reason: str) -> None:
        """Ask the loop to stop after the current step (callbacks use this)."""
        self.should_stop, self.stop_reason = True, reason

    # ------------------------------------------------------------------ fit
    def fit(self, resume: bool = False) -> TrainResult:
        """Train until a budget is spent, early stopping, or Ctrl-C (checkpoint, then re-raise
        ``KeyboardInterrupt``). ``resume=True`` continues from the run's latest checkpoint."""
        self._seed()
        if resume:
            self._resume()
        self._clock = time.monotonic() - self.elapsed_before
        for cb in self.callbacks:
            cb.on_train_start(self)
        with self._interrupt:
            self._loop()
        if self.stop_reason == "interrupted":
            self._checkpoint()
            self._end()
            raise KeyboardInterrupt("training interrupted; a checkpoint was written")
        if self.valid_data is not None and (self.last_valid or {}).get("step") != self.step:
            self._evaluate()
        elif self.valid_data is None and self.is_main and self.export and self.out_dir:
            self.export(self.out_dir)
        self._checkpoint()
        return self._end()

    def _end(self) -> TrainResult:
        result = TrainResult(
            steps=self.step, epochs=self.epoch, elapsed=self.elapsed(),
            stopped=self.stop_reason or "done",
            best_valid_loss=None if self.best_valid is None else self.best_valid["loss"],
            last_valid=self.last_valid, best_valid=self.best_valid,
        )  # fmt: skip
        for cb in self.callbacks:
            cb.on_train_end(self, result)
        return result

    def _loop(self) -> None:
        while not self._stop_now():
            if not self.mid_epoch:
                _call(self.train_data, "set_epoch", self.epoch)
                _call(self.model, "start_epoch", self.epoch)
                self.mid_epoch = True
            for batch in self.train_data:
                metrics = self._train_step(batch)
                for cb in self.callbacks:
                    cb.on_step_end(self, metrics)
                self._stop_if_diverged()
                every = self.config
                if every.eval_every and self.step % every.eval_every == 0:
                    self._evaluate()
                elif every.checkpoint_every and self.step % every.checkpoint_every == 0:
                    self._checkpoint()
                if self._stop_now():
                    return
            self.mid_epoch = False
            self.epoch += 1
            if self.config.eval_every is None:
                self._evaluate()

    def _stop_now(self) -> bool:
        c, reason = self.config, None
        if self._interrupt.requested:
            reason = "interrupted"
        elif self.should_stop:
            reason = self.stop_reason
        elif c.max_steps is not None and self.step >= c.max_steps:
            reason = "max_steps"
        elif c.max_epochs is not None and self.epoch >= c.max_epochs:
            reason = "max_epochs"
        elif c.max_time is not None and self.elapsed() + self._eval_reserve() >= c.max_time:
            reason = "max_time"
        stop = dist.any_true(reason is not None)
        if stop:
            self.stop_reason = reason or "stopped on another rank"
        return stop

    def _eval_reserve(self) -> float:
        """Seconds kept for the final evaluation inside ``max_time``."""
        if self.valid_data is None:
            return 0.0
        return self._eval_seconds if self._eval_seconds is not None else 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self._clock

    # ----------------------------------------------------------------- step
    def _train_step(self, batch: Any) -> dict[str, float]:
        start = time.monotonic()
        lr = self.schedule.apply(self.step)
        loss, n_items = self.loss_fn(to_device(batch, self.device))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        skipped = self._skip_nonfinite(loss)
        if not skipped:
            self.optimizer.step()
        self.step += 1
        rate = n_items * dist.world_size() / max(time.monotonic() - start, 1e-9)
        self._tokens_per_sec = rate if self.step == 1 else 0.9 * self._tokens_per_sec + 0.1 * rate
        return {
            "loss": loss.item(), "lr": lr, "tokens_per_sec": self._tokens_per_sec,
            "step": self.step, "epoch": self.epoch, "elapsed": self.elapsed(),
            "skipped": float(skipped), "nonfinite": self._nonfinite.total,
        }  # fmt: skip

    # ---------------------------------------------------- non-finite steps
    def _skip_nonfinite(self, loss: torch.Tensor) -> bool:
        """Clip the gradients (when configured) and check the loss and their global norm: a
        non-finite step (on any rank) drops its gradients and is counted; True to skip it."""
        params = self.model.parameters()
        if self.config.clip_grad_norm is not None:
            norm = nn.utils.clip_grad_norm_(params, self.config.clip_grad_norm)
        else:
            norm = grad_norm(params)
        finite = bool(torch.isfinite(loss.detach()).all()) and bool(torch.isfinite(norm))
        finite = not dist.any_true(not finite)
        if self._nonfinite.observe(finite, self.step + 1):
            self.optimizer.zero_grad(set_to_none=True)
            return True
        return False

    def _stop_if_diverged(self) -> None:
        """After too many non-finite steps in a row: end the callbacks (the progress bar) and
        raise ``TrainingDiverged`` naming the last good checkpoint."""
        if not self._nonfinite.diverged:
            return
        self.stop_reason = "diverged"
        self._end()
        last = latest_checkpoint(self.out_dir) if self.out_dir is not None else None
        raise self._nonfinite.error(str(last) if last is not None else None)

    # ----------------------------------------------------------- evaluation
    @torch.no_grad()
    def evaluate(self, data: Iterable) -> dict[str, float]:
        """Mean loss per item over ``data`` (eval mode) and its exponential (perplexity)."""
        start = time.monotonic()
        total, count = evaluate_loss(self.model, data, self.device)
        mean = total / count
        self._eval_seconds = time.monotonic() - start
        return {"loss": mean, "ppl": perplexity(mean), "items": count}

    def _evaluate(self) -> None:
        if self.valid_data is None:
            self._checkpoint()
            return
        start = time.monotonic()
        metrics = self.evaluate(self.valid_data)
        if self.score is not None:
            metrics.update(self._score())
            self._eval_seconds = time.monotonic() - start
        metrics.update(step=self.step, epoch=self.epoch, elapsed=self.elapsed())
        self.last_valid = metrics
        self.schedule.observe(metrics["loss"])
        for cb in self.callbacks:
            cb.on_evaluate(self, metrics)
        if self._improves(metrics):
            self.best, self.best_valid, self.bad_evals = metrics[self.config.monitor], metrics, 0
            if self.is_main and self.export and self.out_dir:
                self.export(self.out_dir)
        else:
            self.bad_evals += 1
            patience = self.config.early_stopping
            if patience is not None and self.bad_evals >= patience:
                self.request_stop("early_stopping")
        self._checkpoint()

    def _score(self) -> dict[str, float]:
        """The task's own validation metrics (eval mode, no gradients, mode restored)."""
        assert self.score is not None
        training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                return {k: float(v) for k, v in self.score(self.model).items()}
        finally:
            self.model.train(training)

    def _improves(self, metrics: dict[str, float]) -> bool:
        """Whether this evaluation's monitored metric beats the best so far (on a tie, a
        coarse score such as ROUGE on a small validation set, whether its loss is lower)."""
        name = self.config.monitor
        if name not in metrics:
            raise ValueError(
                f"TrainerConfig: monitor {name!r} is not among the validation metrics "
                f"({', '.join(sorted(validation_metrics(metrics)))})"
            )
        value = metrics[name]
        if math.isnan(value):
            return False
        if value == self.best and self.best_valid is not None:  # a tie: the lower loss wins
            return metrics["loss"] < self.best_valid["loss"]
        return value < self.best if self.config.monitor_minimized() else value > self.best

    # ---------------------------------------------------------- checkpoints
    def _state(self) -> dict[str, Any]:
        return {
            "step": self.step, "epoch": self.epoch, "mid_epoch": self.mid_epoch,
            "elapsed": self.elapsed(), "best": self.best, "bad_evals": self.bad_evals,
            "last_valid": self.last_valid, "best_valid": self.best_valid,
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(), "rng": rng_state(),
            "data": _call(self.train_data, "state_dict"), "config": self.config.to_dict(),
            "nonfinite": self._nonfinite.state_dict(),
        }  # fmt: skip

    def _checkpoint(self) -> None:
        if self._checkpointed_step == self.step:
            return  # this step is already on disk (e.g. the final evaluation wrote it)
        self._checkpointed_step = self.step
        if self.is_main and self.out_dir is not None:
            check_finite(self.model, f"checkpoint step {self.step} in {self.out_dir}")
            save_checkpoint(
                self.out_dir,
                self.step,
                self.model,
                self._state(),
                keep=self.config.keep_checkpoints,
            )

    def _resume(self) -> None:
        path = latest_checkpoint(self.out_dir) if self.out_dir is not None else None
        if path is None:
            raise FileNotFoundError(f"{self.out_dir}: no checkpoint to resume from")
        state = load_checkpoint(path, self.model)
        for key in ("step", "epoch", "mid_epoch", "best", "bad_evals", "last_valid"):
            setattr(self, key, state[key])
        self.elapsed_before = state["elapsed"]
        self.best_valid = state.get("best_valid")
        if self.best_valid is None and not math.isinf(self.best):  # an older checkpoint: by loss
            self.best_valid = {"loss": self.best}
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        if state["data"] is not None:
            self.train_data.load_state_dict(state["data"])  # type: ignore[attr-defined]  # saved by its state_dict
        set_rng_state(state["rng"])
        self._nonfinite.load_state_dict(state.get("nonfinite"))


def _call(obj: Any, name: str, *args: Any) -> Any:
    method = getattr(obj, name, None)
    return method(*args) if method is not None else None
