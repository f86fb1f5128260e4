"""Build a recurrent layer from a cell name, for configs and the CLI (``--model.cell=gru``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rnnkit.layers.base import SequenceLayer
from rnnkit.layers.minimal import MinGRU, MinLSTM
from rnnkit.layers.rnn import GRU, LSTM, RNN

#: cell name -> the layer class, called as ``layer(input_size, hidden_size, **options)``
LAYERS: dict[str, Callable[..., SequenceLayer]] = {
    "rnn": RNN, "elman": RNN, "lstm": LSTM, "gru": GRU, "mingru": MinGRU, "minlstm": MinLSTM,
}  # fmt: skip


def make_layer(cell: str, input_size: int, hidden_size: int, **options: Any) -> SequenceLayer:
    """``make_layer("gru", 64, 128, num_layers=2, reset_after=False)`` -> ``GRU(64, 128, ...)``.

    Args:
        cell: ``"rnn"`` (alias ``"elman"``), ``"lstm"``, ``"gru"``, ``"mingru"`` or ``"minlstm"``.
        input_size, hidden_size: sizes.
        **options: any argument of the layer and its cell.
    """
    try:
        layer_class = LAYERS[cell.lower()]
    except KeyError:
        raise ValueError(f"unknown cell {cell!r}; choose from {sorted(LAYERS)}") from None
    return layer_class(input_size, hidden_size, **options)
