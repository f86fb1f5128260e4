"""The one loop over layers and directions that every multi-layer path runs.

A deep, optionally bidirectional stack runs cell by cell in PyTorch's order (layer-major,
direction-minor):

    h^(1) = [fwd_1(x) ; bwd_1(x)],   h^(k) = [fwd_k(d(h^(k-1))) ; bwd_k(d(h^(k-1)))]

with d the dropout between layers (while training; none after the last layer). A backward
direction reads each sequence from its last true token (``reverse_padded``) and its outputs are
put back in input order; ``reverse=True`` (Keras' ``go_backwards``) swaps the two readings. The
paths (the fused kernels one layer at a time, rnnkit's sequence functions, the generic loop, the
single step) differ only in the function that runs one cell over one direction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.backends.sequence import reverse_padded

#: ``run(cell, x, state)`` -> (output (N, L, H), final state parts (N, S) each) for one cell over
#: one direction; x is already in reading order, state the cell's parts (N, S) each or None
Direction = Callable[[nn.Module, Tensor, "tuple[Tensor, ...] | None"], tuple[Tensor, tuple]]


def run_stack(
    direction: Direction,
    cells: Sequence[nn.Module],
    x: Tensor,
    state: tuple[Tensor, ...] | None,
    lengths: Tensor | None,
    *,
    num_layers: int,
    bidirectional: bool,
    dropout: float,
    training: bool,
    reverse: bool,
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """Run ``direction`` for every cell of a stack; see the module docstring.

    Args:
        direction: runs one cell over one direction (see ``Direction``).
        cells: layer-major, direction-minor.
        state: the stack's state parts, (K, N, S) each, or None.
        lengths: (N,) true lengths or None; dropout, training: between layers.

    Shape:
        x (N, L, H_in) -> output (N, L, D*H), final state parts (K, N, S) each.
    """
    directions = 2 if bidirectional else 1
    flip = x.shape[1] > 1  # one step reads the same both ways
    finals: list[tuple[Tensor, ...]] = []
    inp = x
    for k in range(num_layers):
        outs = []
        for j in range(directions):
            i = k * directions + j
            backwards = flip and reverse != (j == 1)
            seq = reverse_padded(inp, lengths) if backwards else inp
            start = None if state is None else tuple(part[i] for part in state)
            out, final = direction(cells[i], seq, start)
            outs.append(reverse_padded(out, lengths) if backwards else out)
            finals.append(final)
        inp = torch.cat(outs, dim=-1) if directions == 2 else outs[0]
        if dropout and training and k < num_layers - 1:
            inp = F.dropout(inp, dropout, training=True)
    return inp, tuple(torch.stack(parts) for parts in zip(*finals))
