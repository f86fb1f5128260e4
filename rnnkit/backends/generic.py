"""The generic path: any cell, any options, step by step.

The input side of the recurrence is computed for all steps at once (one (N*L, H_in) x (H_in, G)
matmul through ``cell.project_input``), then the loop runs only the hidden-to-hidden part.
Steps are taken with ``unbind`` (indexing a precomputed tensor per step makes backward far slower).
With lengths, a sequence's state stops changing after its last token and its outputs are zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.backends.sequence import StateLike, reverse_padded, where_state
from rnnkit.backends.stack import run_stack
from rnnkit.ops import state as st
from rnnkit.ops.tracing import tracing


def run_generic(
    cell: nn.Module,
    x: Tensor,
    state: StateLike,
    lengths: Tensor | None = None,
    reverse: bool = False,
) -> tuple[Tensor, StateLike]:
    """Run ``cell`` over a batch-first sequence.

    Args:
        cell: a cell obeying the contract (``rnnkit.cells.base``).
        x: inputs, batch-first.
        state: the cell's initial state, (N, S) or a tuple of them.
        lengths: true lengths (N,), or None when all sequences fill L.
        reverse: read each sequence from its last true token to its first; outputs stay
            aligned with input positions.

    Shape:
        x (N, L, H_in) -> output (N, L, H_out), final state (N, S...).
    """
    n, steps, _ = x.shape
    sample = getattr(cell, "sample_masks", None)
    masks = sample(n, x) if sample is not None else None
    rec_mask = masks.recurrent if masks is not None else None
    if masks is not None and masks.input is not None:
        x = x * masks.input.unsqueeze(1)  # same mask at every step
    if reverse:
        x = reverse_padded(x, lengths)
    traced = tracing(x) is not None  # int(lengths.max()) would be a data-dependent size
    used = steps if lengths is None or traced else int(lengths.max())
    x = x[:, :used]
    projected = getattr(cell, "projects_input", False)
    xp = cell.project_input(x) if projected else x  # (N, L', G): one matmul for all steps
    step = cell.step if projected else (lambda xt, s, m: cell(xt, s))
    outputs = []
    if lengths is None:
        for xt in xp.unbind(1):
            h, state = step(xt, state, rec_mask)
            outputs.append(h)
    else:
        t = torch.arange(used, device=x.device)
        valid = (t[None, :] < lengths[:, None]).unsqueeze(-1)  # (N, L', 1)
        for xt, keep in zip(xp.unbind(1), valid.unbind(1)):
            h, new = step(xt, state, rec_mask)
            state = where_state(keep, new, state)
            outputs.append(h * keep)
    out = torch.stack(outputs, dim=1)
    if used < steps:
        out = F.pad(out, (0, 0, 0, steps - used))
    if reverse:
        out = reverse_padded(out, lengths)
    return out, state


def run_generic_stack(
    cells: Sequence[nn.Module], x: Tensor, state: Any, lengths: Tensor | None, **opts: Any
) -> tuple[Tensor, Any]:
    """``run_generic`` for every cell of a stack (``run_stack``'s loop and options).

    Shape:
        x (N, L, H_in) -> output (N, L, D*H), the stack's state (K, N, S) per part.
    """

    def direction(cell: nn.Module, seq: Tensor, start: tuple[Tensor, ...] | None) -> tuple:
        if start is None:
            cell_state = cell.init_state(seq.shape[0], seq.device, seq.dtype)  # type: ignore[operator]
        else:
            cell_state = st.from_tuple(start)
        out, final = run_generic(cell, seq, cell_state, lengths)
        return out, st.as_tuple(final)

    parts = None if state is None else st.as_tuple(state)
    out, finals = run_stack(direction, cells, x, parts, lengths, **opts)
    return out, st.from_tuple(finals)
