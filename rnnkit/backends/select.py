"""What a layer reports about the path it runs (``Backend``), and ``force``.

The rule that picks the path is ``rnnkit.backends.dispatch``; this module holds what it
answers with and the switch that overrides it in a block of code.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Backend:
    """Which implementation runs a layer, and why.

    Attributes:
        name: what runs, e.g. ``"torch.lstm (oneDNN)"``, ``"rnnkit GRU sequence (native
            steps)"``, ``"segmented torch.lstm (oneDNN)"``, ``"generic loop"``, ``"native token
            step"``, ``"MinGRU scan (native)"`` (the list: ``docs/guides/backends.md``).
        reason: why this path, in words.
        kind: the family: ``"fused"`` (PyTorch's RNN kernels), ``"sequence"`` (rnnkit's
            sequence functions with hand-written backwards), ``"step"`` (one time step),
            ``"scan"`` (MinGRU / MinLSTM) or ``"generic"`` (the cell's own ops, step by step).
        kernel: the torch op family of standard cells (``"lstm"``, ``"gru"``, ``"rnn_tanh"``,
            ``"rnn_relu"``), else None.
        fallback: True when built-in cells run generic although their family has a faster path
            (that is what layers warn about).
    """

    name: str
    reason: str
    kind: str = "generic"
    kernel: str | None = None
    fallback: bool = False

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


_FORCED: ContextVar[str | None] = ContextVar("rnnkit_forced_backend", default=None)


@contextmanager
def force(name: str | None) -> Iterator[None]:
    """Run every recurrent stack (``RNN``, ``LSTM``, ``GRU``, ``Recurrent``) inside the block on
    one path: ``"generic"``, the cells' own ops step by step (to compare backends, debug a cell,
    or take a second derivative), or None for the normal rule; ``layer.backend`` then names
    ``generic loop`` with the reason "forced". ``"fused"`` cannot be forced: the rule already
    takes it wherever it is correct. ``MinGRU`` / ``MinLSTM`` have no generic loop and keep the
    scan their ``scan`` argument picks (``scan="log"`` is their plain-PyTorch path).

    Example:
        >>> with rnnkit.backends.force("generic"):
        ...     out, state = lstm(x)
    """
    global _TRACED_FORCED
    if name not in (None, "generic"):
        raise ValueError(f"force: only 'generic' or None can be forced, got {name!r}")
    token, before = _FORCED.set(name), _TRACED_FORCED
    _TRACED_FORCED = name
    try:
        yield
    finally:
        _FORCED.reset(token)
        _TRACED_FORCED = before


#: ``force``'s value as a plain global, for ``torch.compile``: Dynamo cannot read a ContextVar
#: (it would break the graph at every layer call) but reads and guards a module global
_TRACED_FORCED: str | None = None


def forced() -> str | None:
    """The path forced by ``force`` in this context, or None."""
    if torch.compiler.is_compiling():
        return _TRACED_FORCED
    return _FORCED.get()


def combine(backends: Sequence[Backend]) -> Backend:
    """The backend of a wrapper: the first part that runs generic, else the first part's."""
    for b in backends:
        if b.kind == "generic":
            return b
    return backends[0]
