"""Resumable training checkpoints: ``RUN/checkpoints/step-00000123/`` plus a ``latest`` pointer.

A checkpoint directory holds the model weights (``model.safetensors``), the optimizer's and the
trainer's state (``trainer.json`` + ``trainer.safetensors``: step, epoch, schedule, data position,
RNG states) and the model's runtime state such as a carried recurrent state
(``runtime.safetensors``). It is written to a temporary directory and renamed into place; the
``latest`` file is replaced atomically after it. Nothing is pickled.

Each checkpoint ends with a ``manifest.json`` (every file's size and SHA-256). Resuming takes
the newest checkpoint whose files match their manifest; one that does not (truncated, a flipped
bit, a file missing) is skipped with a ``CheckpointWarning`` naming it, in favour of the one
before. A checkpoint that cannot be written (a full disk, no permission) raises
``OutputError`` and leaves the earlier checkpoints as they were.
"""

from __future__ import annotations

import json
import random
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, load_model, save_file, save_model
from torch import nn

from rnnkit.errors import ModelFileError, OutputError
from rnnkit.training.atomic import new_directory, write_text
from rnnkit.training.manifest import verify, write_manifest
from rnnkit.training.serialize import flatten, unflatten

LATEST = "latest"


class CheckpointWarning(UserWarning):
    """A damaged checkpoint was skipped in favour of an earlier one."""


def rng_state() -> dict[str, Any]:
    """Every RNG that training draws from."""
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(state["cuda"]))


def save_checkpoint(
    run_dir: Path, step: int, model: nn.Module, state: dict[str, Any], keep: int = 2
) -> Path:
    """Write checkpoint ``step`` of a run atomically and point ``latest`` at it."""
    root = Path(run_dir) / "checkpoints"
    name = f"step-{step:08d}"
    skeleton, tensors = flatten(state)
    try:
        with new_directory(root / name) as tmp:
            save_model(model, str(tmp / "model.safetensors"))
            save_file(tensors, str(tmp / "trainer.safetensors"))
            (tmp / "trainer.json").write_text(json.dumps(skeleton) + "\n")
            runtime = getattr(model, "runtime_state", None)
            runtime_tensors = runtime() if runtime is not None else {}
            save_file(
                {k: v.contiguous() for k, v in runtime_tensors.items()},
                str(tmp / "runtime.safetensors"),
            )
            write_manifest(tmp)
        write_text(root / LATEST, name + "\n")
    except (OSError, SafetensorError) as error:
        before = latest_checkpoint(run_dir, warn=False)
        kept = f"{before} is intact" if before is not None else "there is no earlier one"
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise OutputError(
            f"{root / name}: could not write the checkpoint ({reason}); {kept}"
        ) from None
    _prune(root, keep)
    return root / name


def checkpoints(run_dir: Path) -> list[Path]:
    """A run's checkpoint directories, newest first (complete or not)."""
    root = Path(run_dir) / "checkpoints"
    return sorted((p for p in root.glob("step-*") if p.is_dir()), reverse=True)


def latest_checkpoint(run_dir: Path, warn: bool = True) -> Path | None:
    """The newest checkpoint of a run whose files match its manifest, or None. Newer ones that
    do not match are skipped with a ``CheckpointWarning`` naming them (``warn``)."""
    for path in checkpoints(run_dir):
        try:
            if not (path / "trainer.json").is_file():
                raise ModelFileError(f"{path}/trainer.json: missing")
            verify(path)  # checkpoints written before manifests existed pass unchecked
            return path
        except ModelFileError as error:
            if warn:
                warnings.warn(f"skipping damaged checkpoint {path}: {error}", CheckpointWarning,
                              stacklevel=2)  # fmt: skip
    return None


def load_checkpoint(path: Path, model: nn.Module) -> dict[str, Any]:
    """Load weights and runtime state into ``model``; return the trainer state."""
    path = Path(path)
    fit = "resume with the model options the run started with"
    try:
        missing, unexpected = load_model(model, str(path / "model.safetensors"), strict=False)
        if missing or unexpected:
            raise ModelFileError(
                f"{path}: the checkpoint does not fit the model configured now ({fit}; "
                f"missing: {', '.join(sorted(missing)) or 'none'}; "
                f"unexpected: {', '.join(sorted(unexpected)) or 'none'})"
            )
        loader = getattr(model, "load_runtime_state", None)
        if loader is not None:
            loader(load_file(str(path / "runtime.safetensors")))
        skeleton = json.loads((path / "trainer.json").read_text())
        return unflatten(skeleton, load_file(str(path / "trainer.safetensors")))
    except (OSError, SafetensorError, RuntimeError, ValueError) as error:
        if isinstance(error, ModelFileError):
            raise
        shapes = [line.strip() for line in str(error).splitlines() if "size mismatch" in line]
        if isinstance(error, RuntimeError) and shapes:
            more = f"; and {len(shapes) - 1} more" if len(shapes) > 1 else ""
            raise ModelFileError(f"{path}: the checkpoint does not fit the model configured now "
                                 f"({fit}; {shapes[0].rstrip('.')}{more})") from None  # fmt: skip
        raise ModelFileError(f"{path}: damaged checkpoint ({error})") from None


def _prune(root: Path, keep: int) -> None:
    steps = sorted(p for p in root.glob("step-*") if p.is_dir())
    for old in steps[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    for stale in root.glob(".step-*.tmp"):  # left by a run killed while writing
        shutil.rmtree(stale, ignore_errors=True)
