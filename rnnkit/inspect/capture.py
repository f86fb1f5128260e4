"""Catch what a model's recurrent layers receive during one forward call, then trace them.

``Capture(model)`` hooks every outermost sequence layer of the model (a layer inside another
sequence layer is traced through its parent). Each call of such a layer is kept with its input,
initial state, lengths and output. A cell of those layers called directly, outside any layer
call (the decoder of ``Seq2Seq`` steps its cells one token at a time), is kept step by step.
``traces()`` then re-runs everything with ``trace_layer``/``trace_cell`` and reports, per call,
the largest difference between the re-computed output and what the layer really returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from rnnkit.cells import RecurrentCell
from rnnkit.inspect import equations as eq
from rnnkit.inspect.trace import CellTrace, trace_cell, trace_layer
from rnnkit.layers import SequenceLayer, WeightDrop


@dataclass
class _LayerCall:
    name: str
    layer: SequenceLayer
    x: Tensor
    state: Any
    lengths: Tensor | None
    output: Tensor | None = None


@dataclass
class _CellStep:
    name: str
    cell: nn.Module
    x: Tensor
    state: tuple[Tensor, ...]
    depth: int = 0
    direction: str = "forward"
    output: Tensor | None = None


def _position(layer: nn.Module, cell: nn.Module) -> tuple[int, str]:
    """Depth and reading direction of ``cell`` in a built-in stack (0, forward otherwise)."""
    cells = getattr(layer, "cells", None)
    if not isinstance(cells, list) or not any(c is cell for c in cells):
        return 0, "forward"
    d = 2 if getattr(layer, "bidirectional", False) else 1
    i = next(k for k, c in enumerate(cells) if c is cell)
    reverse = bool(getattr(layer, "go_backwards", False)) != (i % d == 1)
    return i // d, "backward" if reverse else "forward"


def _outermost_layers(model: nn.Module) -> list[tuple[str, SequenceLayer]]:
    """Sequence layers not inside another one, named by their path in the model (a layer
    wrapped in ``WeightDrop`` by the wrapper's path)."""
    found: list[tuple[str, SequenceLayer]] = []
    for name, module in model.named_modules():
        if isinstance(module, SequenceLayer) and not any(
            name == prefix or name.startswith(prefix + ".") for prefix, _ in found
        ):
            found.append((name, module))
    named = dict(model.named_modules())
    for k, (name, module) in enumerate(found):
        parent = name.rpartition(".")[0]
        if name.endswith(".layer") and isinstance(named.get(parent), WeightDrop):
            found[k] = (parent, module)
    return found


def _arguments(args: tuple, kwargs: dict) -> tuple[Any, Any, Any, Any]:
    names = ("x", "state", "lengths", "mask")
    values = dict(zip(names, args))
    values.update({k: v for k, v in kwargs.items() if k in names})
    return tuple(values.get(n) for n in names)  # type: ignore[return-value]


class Capture:
    """Context manager recording the recurrent layer calls of ``model``'s forward passes.

    Example:
        >>> with Capture(model) as capture:
        ...     model(tokens)
        >>> traces, errors = capture.traces()
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.calls: list[_LayerCall | _CellStep] = []
        self._depth = 0
        self._handles: list[Any] = []

    def __enter__(self) -> Capture:
        for name, layer in _outermost_layers(self.model):
            self._handles.append(
                layer.register_forward_pre_hook(self._enter_layer(name), with_kwargs=True)
            )
            self._handles.append(layer.register_forward_hook(self._leave_layer))
            for cell in layer.modules():
                if isinstance(cell, RecurrentCell):
                    hook = self._cell_step(name, *_position(layer, cell))
                    self._handles.append(cell.register_forward_hook(hook, with_kwargs=True))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    # ---------------------------------------------------------------- hooks
    def _enter_layer(self, name: str):
        def hook(layer: SequenceLayer, args: tuple, kwargs: dict) -> None:
            self._depth += 1
            if self._depth > 1:
                return
            x, state, lengths, mask = _arguments(args, kwargs)
            if isinstance(x, PackedSequence):
                x, lengths = pad_packed_sequence(x, batch_first=True)
            elif not layer.batch_first:
                x = x.transpose(0, 1)
            if lengths is None and mask is not None:
                lengths = mask.sum(dim=1)
            if state is None and layer.stateful:
                state = layer.carried_state
            lengths = None if lengths is None else torch.as_tensor(lengths).cpu()
            self.calls.append(_LayerCall(name, layer, x, state, lengths))

        return hook

    def _leave_layer(self, layer: SequenceLayer, args: tuple, output: Any) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        out = output[0]
        if isinstance(out, PackedSequence):
            out = pad_packed_sequence(out, batch_first=True)[0]
        elif not layer.batch_first:
            out = out.transpose(0, 1)
        call = next(c for c in reversed(self.calls) if isinstance(c, _LayerCall))
        call.output = out

    def _cell_step(self, name: str, depth: int, direction: str):
        def hook(cell: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
            if self._depth > 0:  # part of a layer call, traced with it
                return
            x = args[0] if args else kwargs["x_t"]
            state = args[1] if len(args) > 1 else kwargs.get("state")
            if state is None:
                state = cell.init_state(x.shape[0], x.device, x.dtype)
            parts = state if isinstance(state, tuple) else (state,)
            self.calls.append(_CellStep(name, cell, x, parts, depth, direction, output[0]))

        return hook

    # --------------------------------------------------------------- tracing
    def traces(self) -> tuple[list[CellTrace], dict[str, float]]:
        """Re-run every captured call: the traces, and per trace group the largest
        ``|re-computed h - the model's own output|``."""
        traces: list[CellTrace] = []
        errors: dict[str, float] = {}
        seen: dict[str, int] = {}
        for group in self._groups():
            name = group[0].name
            call = seen.get(name, 0)
            seen[name] = call + 1
            if isinstance(group[0], _LayerCall):
                new, error = _trace_layer_call(group[0])
            else:
                new, error = _trace_cell_steps(group)  # type: ignore[arg-type]
            for t in new:
                t.call = call
            traces.extend(new)
            key = name + (f"#{call}" if call else "")
            errors[key] = error
        return traces, errors

    def _groups(self) -> list[list[Any]]:
        """Each layer call alone; a run of direct cell steps grouped per cell (a new group
        when the batch size changes, as in beam search)."""
        groups: list[list[Any]] = []
        open_: dict[int, list[Any]] = {}  # id(cell) -> its group in the current run
        for c in self.calls:
            if isinstance(c, _LayerCall):
                groups.append([c])
                open_ = {}
                continue
            group = open_.get(id(c.cell))
            if group is None or group[-1].x.shape[0] != c.x.shape[0]:
                group = open_[id(c.cell)] = []
                groups.append(group)
            group.append(c)
        return groups


def _trace_layer_call(call: _LayerCall) -> tuple[list[CellTrace], float]:
    out, traces = trace_layer(call.layer, call.x, call.state, call.lengths, call.name)
    error = float("nan") if call.output is None else _max_diff(out, call.output)
    return traces, error


def _trace_cell_steps(steps: list[_CellStep]) -> tuple[list[CellTrace], float]:
    """Direct cell calls, one step each from the state the caller passed."""
    cell = steps[0].cell
    per_step = [trace_cell(cell, s.x[:, None], s.state)[0] for s in steps]
    signals = {k: torch.cat([p[k] for p in per_step], dim=1) for k in per_step[0]}
    own = torch.stack([s.output for s in steps], dim=1)  # type: ignore[misc]
    first = steps[0]
    trace = CellTrace(first.name, first.depth, first.direction, type(cell).__name__,
                      eq.family(cell), signals)  # fmt: skip
    return [trace], _max_diff(signals["h"], own)


def _max_diff(a: Tensor, b: Tensor) -> float:
    if a.shape != b.shape:
        return float("inf")
    return float((a - b).abs().max()) if a.numel() else 0.0
