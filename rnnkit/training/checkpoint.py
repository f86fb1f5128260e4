"""Resumable training checkpoints: ``RUN/checkpoints/step-00000123/`` plus a ``latest`` pointer.

A checkpoint directory holds the model weights (``model.safetensors``), the optimizer's and the
trainer's state (``trainer.json`` + ``trainer.safetensors``: step, epoch, schedule, data position,
RNG states) and the model's runtime state such as a carried recurrent state
(``runtime.safetensors``). It is written to a temporary directory and renamed into place; the
``latest`` file is replaced atomically after it. Nothing is pickled.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, load_model, save_file, save_model
from torch import nn

from rnnkit.training.atomic import new_directory, write_text
from rnnkit.training.serialize import flatten, unflatten

LATEST = "latest"


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
    write_text(root / LATEST, name + "\n")
    _prune(root, keep)
    return root / name


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint of a run, or None."""
    pointer = Path(run_dir) / "checkpoints" / LATEST
    if not pointer.exists():
        return None
    path = pointer.parent / pointer.read_text().strip()
    return path if (path / "trainer.json").exists() else None


def load_checkpoint(path: Path, model: nn.Module) -> dict[str, Any]:
    """Load weights and runtime state into ``model``; return the trainer state."""
    path = Path(path)
    missing, unexpected = load_model(model, str(path / "model.safetensors"), strict=True)
    if missing or unexpected:
        raise ValueError(f"{path}: checkpoint does not fit the model ({missing=}, {unexpected=})")
    loader = getattr(model, "load_runtime_state", None)
    if loader is not None:
        loader(load_file(str(path / "runtime.safetensors")))
    skeleton = json.loads((path / "trainer.json").read_text())
    return unflatten(skeleton, load_file(str(path / "trainer.safetensors")))


def _prune(root: Path, keep: int) -> None:
    steps = sorted(p for p in root.glob("step-*") if p.is_dir())
    for old in steps[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
