"""``Recording``: what a model did on one input, and ``record`` for any model.

A recording holds one ``CellTrace`` per cell call (gates, cell states and hidden states per
token), the model's task outputs (next-token top-k, class probabilities, attention), the token
strings when the input came from text, and a self-check: per recurrent layer, the largest
difference between the re-computed hidden states and the layer's own output.
``to_dict()`` gives plain JSON-ready values (lists, floats, strings).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.inspect.capture import Capture
from rnnkit.inspect.trace import CellTrace


@dataclass
class Recording:
    """The inside of one forward pass.

    Args:
        model_type: the model's ``model_type`` (``"language_model"`` ...) or its class name.
        traces: one ``CellTrace`` per cell call, in the order the model ran them.
        outputs: task outputs, tensors with a leading batch axis N: ``top_k_ids`` and
            ``top_k_probs`` (N, L, k) for LMs, ``probabilities`` (N, C) and ``pooling``
            (N, L) for classifiers, ``attention`` (N, T, S) for translators,
            ``sentence_scores`` (N, S) for the summarizer.
        tokens: token strings of the (source) input per sequence, when known.
        target_tokens: token strings of a translator's target per sequence, when known.
        top_k_tokens: token strings of ``top_k_ids``, when a tokenizer was given.
        max_error: per recurrent layer call, the largest ``|h re-computed - the layer's output|``
            (float tolerance, ~1e-6, when everything is right).
    """

    model_type: str
    traces: list[CellTrace]
    outputs: dict[str, Tensor] = field(default_factory=dict)
    tokens: list[list[str]] | None = None
    target_tokens: list[list[str]] | None = None
    top_k_tokens: list[list[list[str]]] | None = None
    max_error: dict[str, float] = field(default_factory=dict)

    def trace(self, name: str | int) -> CellTrace:
        """A trace by index or by ``name`` (``"layers.0[0].forward"``)."""
        if isinstance(name, int):
            return self.traces[name]
        for t in self.traces:
            if t.name == name:
                return t
        raise KeyError(f"Recording: no trace {name!r}; traces are {[t.name for t in self.traces]}")

    def signal(self, trace: str | int, name: str) -> Tensor:
        """One signal of one trace, (N, L, width): e.g. ``signal(0, "c")``."""
        t = self.trace(trace)
        if name not in t.signals:
            raise KeyError(
                f"Recording: trace {t.name!r} ({t.cell}) has no signal {name!r}; "
                f"it has {sorted(t.signals)}"
            )
        return t.signals[name]

    def to_dict(
        self,
        signals: Sequence[str] | None = None,
        traces: Sequence[str | int] | None = None,
        precision: int = 4,
    ) -> dict[str, Any]:
        """JSON-ready contents; each sequence's values are cut to its true length.

        Args:
            signals: the signals to include (default: all); ``[]`` leaves values out.
            traces: the traces to include, by index or name (default: all).
            precision: decimals kept.
        """
        chosen = self.traces if traces is None else [self.trace(t) for t in traces]
        return {
            "model_type": self.model_type,
            "tokens": self.tokens,
            "target_tokens": self.target_tokens,
            "traces": [_trace_dict(t, signals, precision) for t in chosen],
            "outputs": {k: _rounded(v, precision) for k, v in self.outputs.items()},
            "top_k_tokens": self.top_k_tokens,
            "max_error": {k: _finite(v) for k, v in self.max_error.items()},
        }


def _trace_dict(t: CellTrace, signals: Sequence[str] | None, precision: int) -> dict[str, Any]:
    names = list(t.signals) if signals is None else [s for s in signals if s in t.signals]
    lengths = None if t.lengths is None else [int(n) for n in t.lengths]
    values = {}
    for name in names:
        rows = _rounded(t.signals[name], precision)
        values[name] = rows if lengths is None else [r[:n] for r, n in zip(rows, lengths)]
    return {
        "name": t.name, "module": t.module, "layer": t.layer, "direction": t.direction,
        "cell": t.cell, "kind": t.kind, "size": t.size, "call": t.call, "lengths": lengths,
        "signals": values,
    }  # fmt: skip


def _rounded(x: Tensor, precision: int) -> Any:
    if x.is_floating_point():
        x = x.double().round(decimals=precision)
        x = torch.where(torch.isfinite(x), x, torch.zeros_like(x))  # JSON has no NaN/inf
    return x.tolist()


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and no gradients inside the block; the model's mode is restored after."""
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was)


def record(model: nn.Module, *args: Any, **kwargs: Any) -> Recording:
    """Run ``model(*args, **kwargs)`` once in eval mode and record every recurrent cell.

    Works for any model built from rnnkit's sequence layers; the task recorders
    (``record_lm``, ``record_classifier`` ...) add the task's outputs on top.

    Returns:
        a ``Recording`` whose ``outputs["output"]`` is the model's return value when it is a
        tensor (the first tensor of a tuple otherwise).

    Example:
        >>> rec = record(rnnkit.LSTM(8, 16, num_layers=2), torch.randn(1, 5, 8))
        >>> rec.signal("[1].forward", "f").shape, rec.max_error
    """
    recording, out = run_recorded(model, *args, **kwargs)
    first = out if isinstance(out, Tensor) else next(
        (o for o in (out if isinstance(out, tuple) else ()) if isinstance(o, Tensor)), None
    )  # fmt: skip
    if first is not None:
        recording.outputs["output"] = first
    return recording


def run_recorded(model: nn.Module, *args: Any, **kwargs: Any) -> tuple[Recording, Any]:
    """``record`` without interpreting the output: the recording and what the model returned."""
    with evaluating(model):
        with Capture(model) as capture:
            out = model(*args, **kwargs)
        traces, errors = capture.traces()
    name = getattr(model, "model_type", type(model).__name__)
    return Recording(name, traces, max_error=errors), out
