"""The fused path: PyTorch's multi-layer RNN kernels on the cells' own parameters.

``torch.lstm`` / ``torch.gru`` / ``torch.rnn_tanh`` / ``torch.rnn_relu`` are the ops behind
``torch.nn.LSTM`` and friends: cuDNN on CUDA, oneDNN or the native kernel on CPU. Variable lengths
go through a packed sequence, or (where the dispatch finds it faster) through unpacked calls
(``rnnkit.backends.segmented``), so each direction starts and stops at each sequence's true ends.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.backends.segmented import run_segmented
from rnnkit.backends.sequence import StateLike, reverse_padded

_OPS = {
    "lstm": torch.lstm,
    "gru": torch.gru,
    "rnn_tanh": torch.rnn_tanh,
    "rnn_relu": torch.rnn_relu,
}


#: cuDNN's names of the kernels (``torch.backends.cudnn.rnn.get_cudnn_mode``)
_CUDNN_MODES = {"lstm": "LSTM", "gru": "GRU", "rnn_tanh": "RNN_TANH", "rnn_relu": "RNN_RELU"}


def _as_tuple(state: StateLike) -> tuple[Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


def flatten_for_cudnn(
    kernel: str, cells: Sequence[nn.Module], params: list[Tensor], num_layers: int,
    bidirectional: bool,
) -> None:  # fmt: skip
    """On a GPU, make the cells' parameters views of one buffer in cuDNN's layout, as
    ``torch.nn.LSTM.flatten_parameters`` does; otherwise cuDNN copies every weight into such a
    buffer on each call (and PyTorch warns that it does). The parameters stay the same objects
    (an optimiser keeps them); done again only after they move (``.to()``, ``.cuda()``),
    which the cached data pointers tell."""
    first = params[0]
    if first.device.type != "cuda" or torch.compiler.is_compiling():
        return  # (a traced tensor has no data pointer)
    if not torch.backends.cudnn.is_acceptable(first):
        return
    key = tuple(p.data_ptr() for p in params)
    if cells[0].__dict__.get("_cudnn_flat") == key:
        return
    if len(set(key)) != len(key) or any(p.dtype != first.dtype for p in params):
        return  # shared or mixed parameters: leave them, as torch.nn does
    import torch.backends.cudnn.rnn as cudnn_rnn

    cell = cells[0]
    proj = int(getattr(cell, "proj_size", 0) or 0)
    try:
        with torch.cuda.device_of(first), torch.no_grad():
            if torch._use_cudnn_rnn_flatten_weight():
                torch._cudnn_rnn_flatten_weight(
                    params, len(params) // len(cells), cell.weight_ih.shape[1],
                    cudnn_rnn.get_cudnn_mode(_CUDNN_MODES[kernel]), cell.hidden_size, proj,
                    num_layers, True, bidirectional,
                )  # fmt: skip
    except RuntimeError as error:  # keep the copying path (correct, slower), and say so once
        warnings.warn(f"rnnkit: could not lay the {kernel} weights out for cuDNN ({error}); "
                      "cuDNN copies them on each call", RuntimeWarning, stacklevel=4)  # fmt: skip
    cell.__dict__["_cudnn_flat"] = tuple(p.data_ptr() for p in params)


def run_fused(
    kernel: str,
    cells: Sequence[nn.Module],
    x: Tensor,
    state: StateLike | None,
    lengths: Tensor | None = None,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    training: bool = False,
    reverse: bool = False,
    segmented: bool = False,
) -> tuple[Tensor, StateLike]:
    """Run a stack of standard cells with one fused call.

    Args:
        kernel: ``"lstm"``, ``"gru"``, ``"rnn_tanh"`` or ``"rnn_relu"``.
        cells: layer-major, direction-minor, as PyTorch orders its weights.
        x: batch-first inputs.
        state: layer state (K, N, S) or a tuple (LSTM: (h, c)); None for zeros.
        lengths: (N,) true lengths or None.
        dropout, training: dropout between layers, as ``torch.nn.LSTM``.
        reverse: read every sequence back to front (Keras' go_backwards).
        segmented: with lengths, unpacked calls per run of equal lengths
            (``rnnkit.backends.segmented``) instead of a packed sequence.

    Shape:
        x (N, L, H_in) -> output (N, L, D*H_out), state (K, N, S) each.
    """
    n, steps, _ = x.shape
    if state is None:
        k = len(cells)
        sizes = cells[0].state_size
        state = tuple(x.new_zeros(k, n, s) for s in sizes)
    hx = _as_tuple(state)
    params = [p for cell in cells for p in cell.fused_weights()]
    flatten_for_cudnn(kernel, cells, params, num_layers, bidirectional)
    flags = (cells[0].bias, num_layers, float(dropout), training, bidirectional)
    op = _OPS[kernel]
    if lengths is not None and segmented:
        out, hidden = run_segmented(
            op, cells, x, hx, lengths, num_layers=num_layers, bidirectional=bidirectional,
            dropout=dropout, training=training, reverse=reverse,
        )  # fmt: skip
        return out, hidden[0] if len(hidden) == 1 else hidden
    if reverse:
        x = reverse_padded(x, lengths)
    if lengths is None:
        result = op(x, hx if kernel == "lstm" else hx[0], params, *flags, True)
        out, hidden = result[0], result[1:]
    else:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        hx = tuple(h.index_select(1, packed.sorted_indices) for h in hx)
        args = (packed.data, packed.batch_sizes, hx if kernel == "lstm" else hx[0], params)
        result = op(*args, *flags)
        out_packed = PackedSequence(
            result[0], packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
        )
        out, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=steps)
        hidden = tuple(h.index_select(1, packed.unsorted_indices) for h in result[1:])
    if reverse:
        out = reverse_padded(out, lengths)
    return out, hidden[0] if len(hidden) == 1 else tuple(hidden)
