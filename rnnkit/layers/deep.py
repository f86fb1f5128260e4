"""``DeepLayer``: the constructor every deep, optionally bidirectional layer shares.

A deep layer is ``Stacked`` over ``num_layers`` levels, each a direction layer or, when
bidirectional, a ``Bidirectional`` pair of them (the backward one reading the other way). The
built-in ``RNN``/``LSTM``/``GRU`` (``rnnkit.layers.rnn``) and ``MinGRU``/``MinLSTM``
(``rnnkit.layers.minimal``) differ only in the direction layer they build and in how they run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from rnnkit.layers.base import SequenceLayer
from rnnkit.layers.bidirectional import Bidirectional
from rnnkit.layers.stacked import Stacked
from rnnkit.ops import state as st

#: ``make(input_width, go_backwards)`` -> one direction of one level
MakeDirection = Callable[[int, bool], SequenceLayer]


class DeepLayer(SequenceLayer):
    """Base of the deep layers; see the module docstring.

    Args:
        input_size, hidden_size: H_in and H.
        num_layers: depth (>= 1); dropout: between levels, in [0, 1) (not after the last).
        batch_first, stateful: as ``SequenceLayer``'s.
        bidirectional: a backward direction per level, outputs concatenated.
        go_backwards: the forward direction reads sequences back to front.
        config: the constructor arguments (``get_config``).
        make: builds one direction of one level (see ``MakeDirection``).

    Shape:
        x (N, L, H_in) -> output (N, L, D*H_out); state (num_layers*D, N, S) per state part.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        batch_first: bool,
        dropout: float,
        bidirectional: bool,
        go_backwards: bool,
        stateful: bool,
        config: dict[str, Any],
        make: MakeDirection,
    ) -> None:
        name = type(self).__name__
        if num_layers < 1:
            raise ValueError(f"{name}: num_layers must be >= 1, got {num_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout}")
        super().__init__(batch_first, stateful)
        self._config = dict(config)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.num_layers, self.bidirectional = num_layers, bidirectional
        self.go_backwards, self.dropout = go_backwards, float(dropout)
        levels: list[SequenceLayer] = []
        width = input_size
        for _ in range(num_layers):
            level = make(width, go_backwards)
            if bidirectional:
                level = Bidirectional(level, backward_layer=make(width, not go_backwards))
            levels.append(level)
            width = level.output_size
        self.stack = Stacked(levels, dropout=dropout)
        self.output_size = self.stack.output_size
        self.num_states = self.stack.num_states

    def init_state(
        self,
        batch_size: int,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> st.LayerState:
        return self.stack.init_state(batch_size, device, dtype)

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments; ``type(layer).from_config(layer.get_config())`` rebuilds it."""
        return dict(self._config)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DeepLayer:
        return cls(**config)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._config.items())
