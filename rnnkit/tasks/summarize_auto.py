"""``model.type=auto``: train the extractive and the abstractive summarizer, keep the better one.

Which kind of summarizer suits a data set depends on its references: when they are sentences of
the document (or close to them) picking sentences is hard to beat; when they are short and
written anew, such as headlines, a model that writes the summary scores higher than any single
sentence of the document can. Rather than guess, ``train_auto`` trains both candidates on the
same split, each in its own run directory, and keeps the one whose validation summaries score
the higher ``trainer.monitor`` (a ROUGE figure; the two models' losses are not comparable):

    OUT/candidates/extractive/   a full run: model/, checkpoints/, log.csv, and finished.json
                                 (how its training ended) once it has
    OUT/candidates/abstractive/  the same for the pointer-generator
    OUT/model/                   a copy of the kept candidate's best model
    OUT/selection.json           {"monitor", "scores": {type: value}, "chosen"}

A tie keeps the extractive model (the first candidate). Everything that reads a run directory
(``rnnkit evaluate``, ``summarize``, ``serve``, ``export``) reads ``OUT/model``.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rnnkit.models.io import MODEL_SUBDIR, resolve_model_dir
from rnnkit.tasks.summarize_model import CANDIDATES, candidate_options
from rnnkit.training import TrainerConfig, TrainResult
from rnnkit.training import distributed as dist
from rnnkit.training.atomic import new_directory, write_text

#: where the candidates' run directories live inside ``OUT``
CANDIDATES_DIR = "candidates"
SELECTION_FILE = "selection.json"
#: written in a candidate's folder when its training ends (``--resume`` does not train it again)
FINISHED_FILE = "finished.json"

Train = Callable[[Any, dict[str, Any], TrainerConfig, Path, bool], TrainResult]


def check_monitor(trainer: TrainerConfig) -> None:
    """Refuse a monitor that cannot compare the two candidates (their losses differ in kind)."""
    if trainer.monitors_loss():
        raise ValueError(
            "model.type=auto compares the candidates' validation summaries, so trainer.monitor "
            f"must be rouge1, rouge2 or rougeL (got {trainer.monitor!r}); or choose "
            "--model.type=extractive or --model.type=abstractive"
        )


def better(trainer: TrainerConfig, value: float, best: float) -> bool:
    """Whether ``value`` of the monitored metric beats ``best`` (strictly: a tie keeps the
    earlier candidate)."""
    return value < best if trainer.monitor_minimized() else value > best


def monitored(result: TrainResult, trainer: TrainerConfig, kind: str) -> float:
    """The monitored validation figure of a candidate's kept model."""
    best = result.best_valid or {}
    if trainer.monitor not in best:
        raise ValueError(
            f"model.type=auto: the {kind} candidate has no validation {trainer.monitor!r} "
            "(no evaluation ran: raise trainer.max_steps or lower trainer.eval_every)"
        )
    return float(best[trainer.monitor])


def train_auto(
    data: Any,
    options: dict[str, Any],
    trainer: TrainerConfig,
    out_dir: Path,
    resume: bool,
    train: dict[str, Train],
) -> TrainResult:
    """Train every ``CANDIDATES`` type with ``train[type]`` in ``OUT/candidates/TYPE`` and copy
    the best one's model to ``OUT/model``; its ``TrainResult`` is returned.

    ``options`` is the ``auto`` model section (``candidate_options`` splits it); with
    ``resume`` a candidate that finished (``finished.json``) is not trained again, one that
    was stopped continues from its own checkpoints, and one that had not started starts.
    """
    check_monitor(trainer)
    out_dir = Path(out_dir)
    per_type = candidate_options(options)
    results: dict[str, TrainResult] = {}
    scores: dict[str, float] = {}
    for kind in CANDIDATES:
        folder = out_dir / CANDIDATES_DIR / kind
        finished = read_finished(folder) if resume else None
        if finished is None:
            again = resume and (folder / "checkpoints").is_dir()
            finished = train[kind](data, per_type[kind], trainer, folder, again)
            if dist.rank() == 0:
                write_text(folder / FINISHED_FILE, json.dumps(asdict(finished)) + "\n")
        results[kind] = finished
        scores[kind] = monitored(finished, trainer, kind)
    chosen = CANDIDATES[0]
    for kind in CANDIDATES[1:]:
        if better(trainer, scores[kind], scores[chosen]):
            chosen = kind
    if dist.rank() == 0:
        keep(out_dir, chosen, trainer.monitor, scores)
    return results[chosen]


def keep(out_dir: Path, chosen: str, monitor: str, scores: dict[str, float]) -> None:
    """Copy the chosen candidate's model to ``OUT/model``, record why in ``selection.json``
    and say it on stderr."""
    source = resolve_model_dir(out_dir / CANDIDATES_DIR / chosen)
    with new_directory(out_dir / MODEL_SUBDIR) as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True)
    record = {"monitor": monitor, "scores": scores, "chosen": chosen}
    write_text(out_dir / SELECTION_FILE, json.dumps(record, indent=1) + "\n")
    figures = ", ".join(f"{kind} {value:.2f}" for kind, value in scores.items())
    print(f"summarize: validation {monitor}: {figures}; kept the {chosen} summarizer",
          file=sys.stderr)  # fmt: skip


def read_finished(folder: Path) -> TrainResult | None:
    """The ``TrainResult`` of a candidate that finished training in ``folder``, or None."""
    path = Path(folder) / FINISHED_FILE
    return TrainResult(**json.loads(path.read_text())) if path.is_file() else None


def read_selection(run_dir: Path) -> dict[str, Any] | None:
    """``selection.json`` of an ``auto`` run directory, or None for any other directory."""
    path = Path(run_dir) / SELECTION_FILE
    return json.loads(path.read_text()) if path.is_file() else None
