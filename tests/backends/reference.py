"""An independent reference for a built-in stack: each sequence alone, each cell step by step.

It uses only the cells' public one-step call ``cell(x_t, state)`` and PyTorch's weight order
(layer-major, direction-minor), none of the layers' or backends' code.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _as_tuple(s):
    return s if isinstance(s, tuple) else (s,)


def _run_cell(cell, xs: Tensor, reverse: bool):
    """xs (L, H_in) for ONE sequence -> outputs (L, H_out), final cell state (1, S) parts."""
    state = None
    order = range(xs.shape[0] - 1, -1, -1) if reverse else range(xs.shape[0])
    outs = [None] * xs.shape[0]
    for t in order:
        h, state = cell(xs[t : t + 1], state)
        outs[t] = h[0]
    return torch.stack(outs), _as_tuple(state)


def reference_stack(layer, x: Tensor, lengths: list[int] | None = None):
    """Output (N, L, D*H) with zero padding and the final state, as the layer should give."""
    n, steps, _ = x.shape
    lengths = lengths or [steps] * n
    d = 2 if layer.bidirectional else 1
    cells = layer.cells
    out = x.new_zeros(n, steps, layer.output_size)
    finals = []  # per sequence: list over cells of state tuples
    for b in range(n):
        seq = x[b, : lengths[b]]
        per_cell = []
        for k in range(layer.num_layers):
            parts = []
            for r in range(d):
                o, s = _run_cell(cells[k * d + r], seq, reverse=bool(r) != layer.go_backwards)
                parts.append(o)
                per_cell.append(s)
            seq = torch.cat(parts, dim=-1)
        out[b, : lengths[b]] = seq
        finals.append(per_cell)
    n_parts = len(finals[0][0])
    state = tuple(
        torch.stack([torch.cat([finals[b][c][p] for b in range(n)]) for c in range(len(cells))])
        for p in range(n_parts)
    )
    return out, state[0] if n_parts == 1 else state
