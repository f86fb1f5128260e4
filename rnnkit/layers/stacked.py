"""``Stacked``: sequence layers composed in depth, the output of one the input of the next.

    h^(1) = layer_1(x),   h^(k) = layer_k(dropout(h^(k-1))),   output = h^(K)

Dropout between layers is PyTorch's (a fresh mask per element and step); it is not applied after
the last layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.backends import Backend, combine
from rnnkit.layers.base import SequenceLayer
from rnnkit.layers.recurrent import as_layer
from rnnkit.ops import state as st


class Stacked(SequenceLayer):
    """Stack sequence layers (Recurrent, Bidirectional, built-ins or a mix).

    Args:
        layers: the layers (or cells, wrapped in ``Recurrent``), bottom first; each one's
            ``output_size`` must be the next one's ``input_size``.
        dropout: dropout probability on the outputs of every layer but the last.
        batch_first: default: the first layer's.
        stateful: carry the final state into the next call.

    Shape:
        x (N, L, H_in) -> output (N, L, H_out of the last layer); the state joins the layers'
        states along K, or is a list of per-layer states when their widths differ.

    Example:
        >>> deep = Stacked([Recurrent(LSTMCell(8, 16)), Recurrent(LSTMCell(16, 16))], dropout=0.2)
        >>> out, (h, c) = deep(torch.randn(3, 7, 8))   # h (2, 3, 16)
    """

    def __init__(
        self,
        layers: Sequence[SequenceLayer],
        dropout: float = 0.0,
        batch_first: bool | None = None,
        stateful: bool = False,
    ) -> None:
        if not layers:
            raise ValueError("Stacked: needs at least one layer")
        layers = [as_layer(layer) for layer in layers]
        super().__init__(layers[0].batch_first if batch_first is None else batch_first, stateful)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"Stacked: dropout must be in [0, 1), got {dropout}")
        for i, (below, above) in enumerate(zip(layers, layers[1:])):
            if below.output_size != above.input_size:
                raise ValueError(
                    f"Stacked: layer {i} outputs {below.output_size} features but layer {i + 1} "
                    f"expects {above.input_size}"
                )
        self.layers = nn.ModuleList(layers)
        self.dropout = float(dropout)
        self.input_size = layers[0].input_size
        self.output_size = layers[-1].output_size
        self.num_states = sum(layer.num_states for layer in layers)

    @property
    def backend(self) -> Backend:
        return combine([layer.backend for layer in self.layers])

    def init_state(
        self,
        batch_size: int,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> st.LayerState:
        return st.join([layer.init_state(batch_size, device, dtype) for layer in self.layers])

    def _run(
        self, x: Tensor, state: st.LayerState | None, lengths: Tensor | None
    ) -> tuple[Tensor, st.LayerState]:
        counts = [layer.num_states for layer in self.layers]
        states = st.split(state, counts) if state is not None else [None] * len(counts)
        finals = []
        for i, (layer, s) in enumerate(zip(self.layers, states)):
            if i > 0 and self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)
            x, final = layer._run(x, s, lengths)
            finals.append(final)
        return x, st.join(finals)

    def extra_repr(self) -> str:
        return f"dropout={self.dropout}" if self.dropout else ""
