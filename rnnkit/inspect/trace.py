"""Re-run a recurrent layer step by step with its gates written out, recording every value.

``trace_layer(layer, x, state, lengths)`` walks the layer's public structure (``RNN`` / ``LSTM``
/ ``GRU`` through ``layer.cells``, ``Recurrent``, ``Bidirectional``, ``Stacked``) and runs each
cell over the sequence with ``rnnkit.inspect.equations``, in eval mode (no dropout). It follows
the layers' conventions: a padded step leaves the state unchanged and records zeros, and a
backward direction reads each sequence from its own last true token, its values stored at the
positions of the tokens they read. Cells outside the built-in families are run through their
own ``forward`` and record ``h`` only; layers of any other kind (``MinGRU`` ...) are run as they
are and record their output as ``h``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from rnnkit.inspect import equations as eq
from rnnkit.layers import Bidirectional, Recurrent, RecurrentStack, Stacked, WeightDrop

States = tuple[Tensor, ...]


@dataclass
class CellTrace:
    """What one cell (one layer, one direction) did over a batch of sequences.

    Args:
        module: the sequence layer's path in the model (``"layers.0"``, ``"encoder.1"``).
        layer: depth inside that module (0 for a one-layer module).
        direction: ``"forward"`` (reads left to right) or ``"backward"``.
        cell: the cell's class name (the layer's for a layer run as is).
        kind: ``"lstm"``, ``"gru"``, ``"elman"``, or None when only ``h`` is known.
        signals: name -> (N, L, width): LSTM ``i f g o c h``, GRU ``r z n h``, Elman ``h``;
            zero at padded steps.
        call: which call of the module this is (a module run several times in one forward).
        lengths: true lengths (N,) of the sequences, or None when all fill L.
    """

    module: str
    layer: int
    direction: str
    cell: str
    kind: str | None
    signals: dict[str, Tensor] = field(default_factory=dict)
    call: int = 0
    lengths: Tensor | None = None

    @property
    def name(self) -> str:
        """A readable, unique key: ``"layers.0[1].backward"`` (``#k`` for call k > 0)."""
        suffix = f"#{self.call}" if self.call else ""
        return f"{self.module}[{self.layer}].{self.direction}{suffix}"

    @property
    def size(self) -> int:
        """Units in ``h``."""
        return int(self.signals["h"].shape[-1])


def flip_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence (N, L, F) within its own length; padding stays in place."""
    if lengths is None:
        return x.flip(1)
    t = torch.arange(x.shape[1], device=x.device)[None, :]
    rev = lengths.to(x.device)[:, None] - 1 - t
    index = torch.where(rev >= 0, rev, t)
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def trace_cell(
    cell: nn.Module,
    x: Tensor,
    state: States | None = None,
    lengths: Tensor | None = None,
    reverse: bool = False,
) -> tuple[dict[str, Tensor], States]:
    """Run one cell over a batch-first sequence, recording every signal at every step.

    Args:
        cell: a built-in cell (gates written out) or any cell obeying the contract (``h`` only).
        x: inputs (N, L, H_in).
        state: initial state, a tuple of (N, S_k) tensors (None: zeros).
        lengths: true lengths (N,) or None.
        reverse: read each sequence from its last true token to its first.

    Returns:
        signals name -> (N, L, width) aligned with x's positions, and the final state.
    """
    n, steps, _ = x.shape
    kind = eq.family(cell)
    if state is None:
        zero = cell.init_state(n, x.device, x.dtype)
        state = zero if isinstance(zero, tuple) else (zero,)
    if reverse:
        x = flip_padded(x, lengths)
    ax = eq.input_part(cell, x) if kind else x  # (N, L, G): one product for all steps
    valid = torch.ones(n, steps, dtype=torch.bool, device=x.device)
    if lengths is not None:
        valid = torch.arange(steps, device=x.device)[None, :] < lengths.to(x.device)[:, None]
    records: dict[str, list[Tensor]] = {}
    for t in range(steps):
        if kind:
            values = eq.step(kind, cell, ax[:, t], state)
            new = eq.next_state(kind, values)
        else:
            h, raw = cell(x[:, t], state[0] if len(state) == 1 else state)
            values, new = {"h": h}, raw if isinstance(raw, tuple) else (raw,)
        keep = valid[:, t, None]
        state = tuple(torch.where(keep, a, b) for a, b in zip(new, state))
        for name, v in values.items():
            records.setdefault(name, []).append(v * keep)
    signals = {name: torch.stack(vs, dim=1) for name, vs in records.items()}
    if reverse:
        signals = {name: flip_padded(v, lengths) for name, v in signals.items()}
    return signals, state


def _cell_states(state: object, count: int) -> list[States | None]:
    """A layer state (K, N, S) (tuple, or list of sub-layer states) -> K cell states."""
    if state is None:
        return [None] * count
    if isinstance(state, list):
        return [s for part in state for s in _cell_states(part, _count(part))]
    parts = state if isinstance(state, tuple) else (state,)
    return [tuple(p[k] for p in parts) for k in range(count)]


def _count(state: object) -> int:
    if isinstance(state, list):
        return sum(_count(s) for s in state)
    return int((state[0] if isinstance(state, tuple) else state).shape[0])  # type: ignore[index]


def _split(state: object, counts: list[int]) -> list[object]:
    """A layer state among sub-layers holding ``counts`` cells each."""
    if state is None:
        return [None] * len(counts)
    if isinstance(state, list):
        return list(state)
    parts, out, start = (state if isinstance(state, tuple) else (state,)), [], 0
    for k in counts:
        sliced = tuple(p[start : start + k] for p in parts)
        out.append(sliced if len(sliced) > 1 else sliced[0])
        start += k
    return out


def _merge(mode: str, a: Tensor, b: Tensor) -> Tensor:
    merged = {"concat": lambda: torch.cat([a, b], dim=-1), "sum": lambda: a + b,
              "mul": lambda: a * b, "ave": lambda: (a + b) * 0.5}  # fmt: skip
    if mode not in merged:
        raise ValueError(f"trace_layer: unknown merge mode {mode!r}")
    return merged[mode]()


def _direction(reverse: bool) -> str:
    return "backward" if reverse else "forward"


def trace_layer(
    layer: nn.Module,
    x: Tensor,
    state: object = None,
    lengths: Tensor | None = None,
    module: str = "",
) -> tuple[Tensor, list[CellTrace]]:
    """Re-run a sequence layer (eval semantics) and record every cell's signals.

    Args:
        layer: ``RNN``/``LSTM``/``GRU``, ``Recurrent``, ``Bidirectional``, ``Stacked`` (or any
            other sequence layer, recorded as a whole).
        x: batch-first input (N, L, H_in).
        state: the layer's initial state as the layer takes it, or None for zeros.
        lengths: true lengths (N,) or None.
        module: the name given to the traces' ``module``.

    Returns:
        the layer's output as re-computed (N, L, H_out) and one ``CellTrace`` per cell,
        layer-major and direction-minor.

    Example:
        >>> out, traces = trace_layer(rnnkit.LSTM(8, 16, bidirectional=True), torch.randn(2, 5, 8))
        >>> [t.name for t in traces], traces[0].signals["f"].shape
        (['[0].forward', '[0].backward'], torch.Size([2, 5, 16]))
    """
    traces: list[CellTrace] = []
    out = _walk(layer, x, state, lengths, module, traces)
    for t in traces:
        t.lengths = lengths
    return out, traces


def _walk(layer, x, state, lengths, module, traces) -> Tensor:
    """Append the traces of ``layer`` to ``traces``; returns the layer's output."""
    if isinstance(layer, WeightDrop):  # DropConnect is off in eval mode
        return _walk(layer.layer, x, state, lengths, module, traces)
    if isinstance(layer, RecurrentStack):
        return _walk_stack(layer, x, state, lengths, module, traces)
    if isinstance(layer, Recurrent):
        states = _cell_states(state, 1)
        depth = _next_depth(traces)
        return _run(layer.cell, x, states[0], lengths, layer.go_backwards, module, depth, traces)
    if isinstance(layer, Bidirectional):
        fwd, bwd = layer.forward_layer, layer.backward_layer
        sf, sb = _split(state, [fwd.num_states, bwd.num_states])
        base = _next_depth(traces)
        halves = [], []
        a = _walk(fwd, x, sf, lengths, module, halves[0])
        b = _walk(bwd, x, sb, lengths, module, halves[1])
        for t in halves[0] + halves[1]:  # both halves start at the same depth
            t.layer += base
            traces.append(t)
        return _merge(layer.merge_mode, a, b)
    if isinstance(layer, Stacked):
        for sub, s in zip(layer.layers, _split(state, [m.num_states for m in layer.layers])):
            x = _walk(sub, x, s, lengths, module, traces)
        return x
    out, _ = layer(x, state, lengths=lengths)  # any other layer: its output only
    name = getattr(layer, "layer_name", type(layer).__name__)
    traces.append(CellTrace(module, _next_depth(traces), "forward", name, None, {"h": out}))
    return out


def _walk_stack(layer: RecurrentStack, x, state, lengths, module, traces) -> Tensor:
    d = 2 if layer.bidirectional else 1
    cells = layer.cells
    states = _cell_states(state, len(cells))
    base = _next_depth(traces)
    for k in range(layer.num_layers):
        outs = []
        for j in range(d):
            reverse = layer.go_backwards != (j == 1)
            i = k * d + j
            outs.append(_run(cells[i], x, states[i], lengths, reverse, module, base + k, traces))
        x = torch.cat(outs, dim=-1)
    return x


def _run(cell, x, state, lengths, reverse, module, depth, traces) -> Tensor:
    signals, _ = trace_cell(cell, x, state, lengths, reverse)
    kind = eq.family(cell)
    traces.append(CellTrace(module, depth, _direction(reverse), type(cell).__name__, kind, signals))
    return signals["h"]


def _next_depth(traces: list[CellTrace]) -> int:
    return max(t.layer for t in traces) + 1 if traces else 0
