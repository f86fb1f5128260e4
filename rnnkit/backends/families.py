"""What a stack's cells allow, before any call: the first half of the dispatch's decision.

``rnnkit.backends.dispatch`` asks ``standard`` (does every cell match one of PyTorch's fused
kernels?) and, where not, ``sequence_family`` (does rnnkit have a sequence function for this
form?). The answer, a ``Family``, depends only on the cells' configuration and the mode, so the
dispatch caches it per layer; the choice of a path for a call is made in the dispatch alone.
Cells are asked through duck typing (``fused_kernel()``) except for the two built-in families
rnnkit has sequence functions for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from rnnkit.cells import GRUCell, LSTMCell
from rnnkit.kernels import lnlstm_step, lstm_step


@dataclass(frozen=True)
class Family:
    """What the cells allow: ``kind`` is ``"fused"`` (kernel: the torch op), ``"gru_sequence"``,
    ``"lstm_sequence"`` or ``"generic"``; ``reason`` and ``fallback`` as ``Backend``'s."""

    kind: str
    reason: str
    kernel: str | None = None
    fallback: bool = False


def standard(cells: Sequence[nn.Module], training: bool) -> Family:
    """The fused family, or generic with the reason (cells asked through ``fused_kernel``)."""
    kernels, why = set(), ""
    for cell in cells:
        probe = getattr(cell, "fused_kernel", None)
        if probe is None:
            return Family("generic", f"user-defined cell {type(cell).__name__}")
        kernel, why = probe()
        if kernel is None:
            return Family("generic", why, fallback=True)
        kernels.add(kernel)
    if len(kernels) > 1:
        return Family("generic", f"cells of different kinds {sorted(kernels)}", fallback=True)
    shapes = {(c.hidden_size, c.bias, getattr(c, "proj_size", 0)) for c in cells}
    if len(shapes) > 1:
        return Family("generic", "cells differ in hidden size, bias or projection", fallback=True)
    if training and any(bool(c.dropout) or bool(c.recurrent_dropout) for c in cells):
        return Family(
            "generic",
            "dropout/recurrent_dropout masks while training (PyTorch's kernels have none; "
            "eval mode runs them)",
            fallback=True,
        )
    return Family("fused", why, kernel=kernels.pop())


def _uniform(cells: Sequence[nn.Module], cls: type, training: bool) -> bool:
    """Built-in ``cls`` cells (not subclasses), tanh/sigmoid, equal sizes, no masks to apply."""
    first = cells[0]
    return all(
        type(c) is cls
        and (c.activation, c.recurrent_activation) == ("tanh", "sigmoid")
        and (c.hidden_size, c.bias) == (first.hidden_size, first.bias)
        and not (training and (c.dropout or c.recurrent_dropout))
        for c in cells
    )


def sequence_family(cells: Sequence[nn.Module], training: bool) -> Family | None:
    """rnnkit's sequence functions for forms no fused kernel has, or None."""
    first = cells[0]
    if type(first) is GRUCell and _uniform(cells, GRUCell, training):
        if not any(c.reset_after for c in cells):
            return Family("gru_sequence", "GRU with reset_after=False has no fused kernel")
    if type(first) is LSTMCell and _uniform(cells, LSTMCell, training):
        form = (first.peephole, first.layer_norm)
        same = all((c.peephole, c.layer_norm) == form and not c.proj_size for c in cells)
        native = (lnlstm_step if first.layer_norm else lstm_step).library() is not None
        on_cpu = all(c.weight_hh.device.type == "cpu" for c in cells)
        if same and any(form) and native and on_cpu:
            what = "layer-norm" if first.layer_norm else "peephole"
            return Family("lstm_sequence", f"{what} LSTM on CPU has no fused kernel", "lstm")
    return None
