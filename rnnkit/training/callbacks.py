"""Trainer callbacks: logging to CSV and TensorBoard, the progress bar, and the hook points.

A callback sees the trainer and a metrics dict at each hook; it may set ``trainer.should_stop``.
Only the process of rank 0 runs callbacks in distributed training.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any


class Callback:
    """Hook points, in call order: ``on_train_start``, then per step ``on_step_end``, after each
    evaluation ``on_evaluate``, and ``on_train_end`` with the final result."""

    def on_train_start(self, trainer: Any) -> None: ...

    def on_step_end(self, trainer: Any, metrics: dict[str, float]) -> None: ...

    def on_evaluate(self, trainer: Any, metrics: dict[str, float]) -> None: ...

    def on_train_end(self, trainer: Any, result: Any) -> None: ...


class CSVLogger(Callback):
    """Append one row per logged step and per evaluation to ``RUN/log.csv``.

    Columns: split (train/valid), step, epoch, elapsed, loss, ppl, lr, tokens_per_sec,
    nonfinite (steps skipped so far for a non-finite loss or gradient), and on validation rows
    ``monitored`` (the value of ``TrainerConfig.monitor``, e.g. ROUGE-1). A skipped step is
    always logged.
    """

    FIELDS = (
        "split", "step", "epoch", "elapsed", "loss", "ppl", "lr", "tokens_per_sec", "nonfinite",
        "monitored",
    )  # fmt: skip

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fields: tuple[str, ...] | None = None  # the file's columns, read once

    def _write(self, row: dict[str, Any]) -> None:
        new = not self.path.exists()
        if new or self._fields is None:  # a resumed older log keeps its columns
            self._fields = self.FIELDS if new else self._header()
        fields = self._fields
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow({k: _fmt(row.get(k)) for k in fields})

    def _header(self) -> tuple[str, ...]:
        with self.path.open(newline="") as f:
            header: list[str] = next(csv.reader(f), [])
        return tuple(header) or self.FIELDS

    def on_step_end(self, trainer: Any, metrics: dict[str, float]) -> None:
        if trainer.step % trainer.config.log_every == 0 or metrics.get("skipped"):
            self._write({"split": "train", **metrics})

    def on_evaluate(self, trainer: Any, metrics: dict[str, float]) -> None:
        monitored = metrics.get(trainer.config.monitor)
        self._write({"split": "valid", **metrics, "monitored": monitored})


class TensorBoardLogger(Callback):
    """Scalars train/loss, train/lr, train/tokens_per_sec, and valid/NAME for every validation
    metric (loss, ppl and whatever the task scores)."""

    def __init__(self, log_dir: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:  # tensorboard is an optional extra
            raise RuntimeError(
                "TensorBoard logging needs the tensorboard package: "
                "pip install 'rnnkit[tensorboard]'"
            ) from exc
        self.writer = SummaryWriter(str(log_dir))

    def on_step_end(self, trainer: Any, metrics: dict[str, float]) -> None:
        if trainer.step % trainer.config.log_every == 0:
            for key in ("loss", "lr", "tokens_per_sec"):
                self.writer.add_scalar(f"train/{key}", metrics[key], trainer.step)

    def on_evaluate(self, trainer: Any, metrics: dict[str, float]) -> None:
        for key in validation_metrics(metrics):
            self.writer.add_scalar(f"valid/{key}", metrics[key], trainer.step)
        self.writer.flush()

    def on_train_end(self, trainer: Any, result: Any) -> None:
        self.writer.close()


class ProgressBar(Callback):
    """A tqdm bar with loss, tokens/s and ETA; falls back to log lines when not on a terminal."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.bar = None

    def on_train_start(self, trainer: Any) -> None:
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(
                total=_total_steps(trainer), initial=trainer.step, unit="step", dynamic_ncols=True
            )

    def on_step_end(self, trainer: Any, metrics: dict[str, float]) -> None:
        if metrics.get("skipped"):
            self._say(
                f"step {trainer.step}: non-finite loss or gradient norm (loss {metrics['loss']}); "
                f"step skipped ({metrics['nonfinite']:.0f} skipped so far)"
            )
        if self.bar is not None:
            self.bar.update(1)
            post = {"loss": f"{metrics['loss']:.3f}", "tok/s": f"{metrics['tokens_per_sec']:.0f}"}
            if metrics.get("nonfinite"):
                post["skipped"] = f"{metrics['nonfinite']:.0f}"
            if trainer.config.max_time is not None:  # the time budget's own ETA
                post["time left"] = f"{max(0.0, trainer.config.max_time - metrics['elapsed']):.0f}s"
            self.bar.set_postfix(post)
        elif trainer.step % trainer.config.log_every == 0:
            print(
                f"step {trainer.step:>7d}  epoch {metrics['epoch']:>3d}  loss {metrics['loss']:.4f}"
                f"  lr {metrics['lr']:.2e}  {metrics['tokens_per_sec']:>8.0f} tok/s"
                f"  {metrics['elapsed']:>7.1f} s",
                file=sys.stderr,
                flush=True,
            )

    def _say(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line)
        else:
            print(line, file=sys.stderr, flush=True)

    def on_evaluate(self, trainer: Any, metrics: dict[str, float]) -> None:
        line = f"valid  step {trainer.step}  loss {metrics['loss']:.4f}  ppl {metrics['ppl']:.2f}"
        extra = [k for k in validation_metrics(metrics) if k not in ("loss", "ppl")]
        self._say(line + "".join(f"  {k} {metrics[k]:.2f}" for k in extra))

    def on_train_end(self, trainer: Any, result: Any) -> None:
        if self.bar is not None:
            self.bar.close()


def _total_steps(trainer: Any) -> int | None:
    """Steps the budget allows, when it is known in steps (tqdm then shows an ETA)."""
    c = trainer.config
    per_epoch = len(trainer.train_data) if hasattr(trainer.train_data, "__len__") else None
    by_epochs = c.max_epochs * per_epoch if c.max_epochs and per_epoch else None
    known = [n for n in (c.max_steps, by_epochs) if n]
    return min(known) if known else None


def validation_metrics(metrics: dict[str, float]) -> list[str]:
    """The names in an evaluation's metrics that are measurements (not step, epoch, ...)."""
    return [k for k in metrics if k not in ("step", "epoch", "elapsed", "items")]


def _fmt(value: Any) -> Any:
    return f"{value:.6g}" if isinstance(value, float) else value
