"""Variable lengths on CPU for the fused kernels without packing.

With lengths, ``torch.nn.LSTM`` users pack the batch (``pack_padded_sequence``). On CPU that
leaves oneDNN for PyTorch's native packed kernel, whose backward is recorded op by op, several
times slower than padded calls (``benchmarks/lengths.py`` measures it). This path keeps unpacked
calls and is still exact:

- LSTM: the batch is sorted by length (longest first) and time is cut at every distinct length
  d_1 < d_2 < ... < d_m. Over steps [d_{s-1}, d_s) exactly the rows with length >= d_s are
  running, a prefix of the sorted batch, so one unpacked single-layer call per segment runs them
  from the state the previous segment left; finished rows keep theirs. Each call has a fixed
  set-up cost, so this pays only while segments are long enough:
  ``applies`` asks for at least ``MIN_STEPS_PER_CALL`` steps per distinct length, else the packed
  kernel runs.
- Elman RNN while training: one padded call per layer and direction (an output at a real step
  never depends on later padding); the final state is the last real output. In inference
  PyTorch's packed Elman/GRU kernels cost about what its padded ones do, so they stay packed.

Every layer and direction runs this way (the backward direction on each sequence reversed within
its length), with dropout between layers as ``torch.nn.LSTM`` applies it. Outputs at padded
steps are zero, as ``pad_packed_sequence`` gives them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.backends.sequence import step_mask
from rnnkit.backends.stack import run_stack

#: the fewest steps per distinct length for which segmented LSTM calls beat the packed kernel
#: (``benchmarks/lengths.py`` measures both sides of it)
MIN_STEPS_PER_CALL = 4


def applies(kernel: str, lengths: Tensor, steps: int) -> bool:
    """Whether ``run_segmented`` should run a fused ``kernel`` over this batch on CPU."""
    if kernel == "lstm":
        return steps >= MIN_STEPS_PER_CALL * len(set(lengths.tolist()))
    return kernel.startswith("rnn_") and torch.is_grad_enabled()


def _segments(sorted_lengths: list[int]) -> list[tuple[int, int, int]]:
    """(start, stop, rows): steps [start, stop) run the first ``rows`` sorted sequences.

    >>> _segments([5, 5, 3, 1])
    [(0, 1, 4), (1, 3, 3), (3, 5, 2)]
    """
    out, start = [], 0
    for stop in sorted(set(sorted_lengths)):
        out.append((start, stop, sum(1 for n in sorted_lengths if n >= stop)))
        start = stop
    return out


def _run_direction(
    op, params: list[Tensor], x: Tensor, state: tuple[Tensor, ...], lengths: Tensor,
    segments: list[tuple[int, int, int]], bias: bool, training: bool,
) -> tuple[Tensor, tuple[Tensor, ...]]:  # fmt: skip
    """One layer, one direction, over length-sorted rows: x (N, L, F), state (1, N, S) each
    -> output (N, L, H), final state (1, N, S) each."""
    n, steps, _ = x.shape
    if len(state) == 1:  # Elman: the final state is the last real output
        return _run_gathered(op, params, x, state[0], lengths, bias, training)
    pieces = []
    for start, stop, rows in segments:
        hx = tuple(s[:, :rows] for s in state)
        result = op(x[:rows, start:stop], hx, params, bias, 1, 0.0, training, False, True)
        out = result[0]
        if rows < n:
            out = F.pad(out, (0, 0, 0, 0, 0, n - rows))
        pieces.append(out)
        state = tuple(torch.cat([new, old[:, rows:]], dim=1) for new, old in
                      zip(result[1:], state))  # fmt: skip
    stop = segments[-1][1]
    if stop < steps:
        pieces.append(x.new_zeros(n, steps - stop, state[0].shape[-1]))
    return torch.cat(pieces, dim=1), state


def _run_gathered(
    op, params: list[Tensor], x: Tensor, h0: Tensor, lengths: Tensor, bias: bool, training: bool
) -> tuple[Tensor, tuple[Tensor]]:
    """One call over every row and step (outputs at real steps do not depend on later padding),
    padding zeroed; the final state h_{length} taken from the output."""
    steps = x.shape[1]
    out = op(x, h0, params, bias, 1, 0.0, training, False, True)[0]
    out = out * step_mask(lengths, steps, x.device)[..., None].to(out.dtype)
    last = (lengths - 1).view(-1, 1, 1).expand(-1, 1, out.shape[-1])
    return out, (out.gather(1, last).transpose(0, 1),)


def run_segmented(
    op, cells: Sequence[nn.Module], x: Tensor, hx: tuple[Tensor, ...], lengths: Tensor, *,
    num_layers: int, bidirectional: bool, dropout: float, training: bool, reverse: bool = False,
) -> tuple[Tensor, tuple[Tensor, ...]]:  # fmt: skip
    """A fused stack (``torch.lstm`` ... as ``op``) over a padded batch with true lengths.

    Args:
        op: the torch op; cells: layer-major, direction-minor; hx: the state, (K, N, S) each.
        lengths: (N,) true lengths, each in [1, L] (the layers check that).
        reverse: read every sequence back to front (Keras' go_backwards).

    Shape:
        x (N, L, F) -> output (N, L, D*H), state (K, N, S) each.
    """
    order = torch.argsort(lengths.cpu(), descending=True, stable=True)
    sorted_lengths = lengths.cpu()[order]
    segments = _segments(sorted_lengths.tolist())
    order_dev = order.to(x.device)
    unsort = torch.argsort(order_dev)
    lens = sorted_lengths.to(x.device)

    def direction(cell: nn.Module, seq: Tensor, start: tuple[Tensor, ...] | None) -> tuple:
        assert start is not None
        state = tuple(s.unsqueeze(0) for s in start)
        out, state = _run_direction(op, cell.fused_weights(), seq, state, lens, segments,
                                    cell.bias, training)  # fmt: skip
        return out, tuple(s[0] for s in state)

    inp = x.index_select(0, order_dev)
    hx = tuple(h.index_select(1, order_dev) for h in hx)
    out, hidden = run_stack(direction, cells, inp, hx, lens, num_layers=num_layers,
                            bidirectional=bidirectional, dropout=dropout, training=training,
                            reverse=reverse)  # fmt: skip
    return out.index_select(0, unsort), tuple(h.index_select(1, unsort) for h in hidden)
