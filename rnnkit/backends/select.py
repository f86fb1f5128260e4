"""The rule that picks a backend for a set of cells, and says why.

Fused: PyTorch's own multi-layer kernels (``torch.lstm`` / ``torch.gru`` / ``torch.rnn_tanh`` /
``torch.rnn_relu``: cuDNN on CUDA, oneDNN or the native kernel on CPU) run on the cells' own
parameters. They apply when every cell is a built-in one in its standard form and no per-sequence
dropout mask is needed. Anything else runs the generic loop (``rnnkit.backends.generic``).

Cells are asked through duck typing (``fused_kernel()``), so this module imports no cell class.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class Backend:
    """Which implementation runs a layer, and why.

    Attributes:
        name: ``"fused"`` or ``"generic"``.
        reason: a human-readable explanation.
        kernel: the torch op for the fused path (``"lstm"``, ``"gru"``, ``"rnn_tanh"``...).
        fallback: True when built-in cells run generic although their family has a fused kernel
            (that is what layers warn about).
    """

    name: str
    reason: str
    kernel: str | None = None
    fallback: bool = False

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


_FORCED: ContextVar[str | None] = ContextVar("rnnkit_forced_backend", default=None)


@contextmanager
def force(name: str | None) -> Iterator[None]:
    """Run every layer on one path inside the block: ``"generic"`` (to compare backends or debug
    a cell) or None for the normal rule. ``"fused"`` cannot be forced: the rule already takes it
    wherever it is correct.

    Example:
        >>> with rnnkit.backends.force("generic"):
        ...     out, state = lstm(x)
    """
    if name not in (None, "generic"):
        raise ValueError(f"force: only 'generic' or None can be forced, got {name!r}")
    token = _FORCED.set(name)
    try:
        yield
    finally:
        _FORCED.reset(token)


def forced() -> str | None:
    """The path forced by ``force`` in this context, or None."""
    return _FORCED.get()


def _signature(cell: nn.Module) -> tuple:
    return (cell.hidden_size, cell.bias, getattr(cell, "proj_size", 0))


def choose(cells: Sequence[nn.Module], training: bool) -> Backend:
    """Pick the backend for cells listed layer-major, direction-minor (PyTorch's order)."""
    if _FORCED.get() == "generic":
        return Backend("generic", "forced by rnnkit.backends.force('generic')")
    kernels = set()
    for cell in cells:
        probe = getattr(cell, "fused_kernel", None)
        if probe is None:
            return Backend("generic", f"user-defined cell {type(cell).__name__}")
        kernel, why = probe()
        if kernel is None:
            return Backend("generic", why, fallback=True)
        kernels.add(kernel)
    if len(kernels) > 1:
        return Backend("generic", f"cells of different kinds {sorted(kernels)}", fallback=True)
    if len({_signature(c) for c in cells}) > 1:
        return Backend("generic", "cells differ in hidden size, bias or projection", fallback=True)
    if training and any(c.dropout > 0 or c.recurrent_dropout > 0 for c in cells):
        return Backend(
            "generic",
            "dropout/recurrent_dropout masks while training (the fused kernel has none; "
            "eval mode runs fused)",
            fallback=True,
        )
    kernel = kernels.pop()
    return Backend(
        "fused",
        f"{why} -> torch.{kernel} (cuDNN on CUDA, oneDNN/native on CPU)",
        kernel=kernel,
    )


def combine(backends: Sequence[Backend]) -> Backend:
    """The backend of a wrapper: fused only if every part is; else the first generic part's."""
    for b in backends:
        if b.name != "fused":
            return b
    return backends[0]
