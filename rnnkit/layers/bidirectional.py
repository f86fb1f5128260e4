"""``Bidirectional``: a forward and a backward copy of a layer, outputs merged per position.

Schuster & Paliwal, "Bidirectional Recurrent Neural Networks", IEEE Trans. Signal Processing 1997.

    out_t = merge(forward(x)_t, backward(x)_t)

The backward layer reads each sequence from its own last true token (padding is skipped), so
``backward(x)_t`` summarises x_t .. x_{len-1}.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor

from rnnkit.backends import Backend, combine
from rnnkit.layers.base import SequenceLayer
from rnnkit.layers.recurrent import as_layer
from rnnkit.ops import state as st

MERGE_MODES = ("concat", "sum", "mul", "ave")


class Bidirectional(SequenceLayer):
    """Wrap any sequence layer to read both ways.

    Args:
        layer: the forward layer (``Recurrent``, a built-in ``LSTM``, a ``Stacked`` ...), or a
            cell, which is wrapped in ``Recurrent``.
        merge_mode: ``"concat"`` (default), ``"sum"``, ``"mul"`` or ``"ave"``.
        backward_layer: the backward layer; default: a copy of ``layer`` with fresh weights
            reading the other way.
        batch_first: default: the wrapped layer's.
        stateful: carry the final state into the next call.

    Shape:
        x (N, L, H_in) -> output (N, L, 2*H_out) for concat, else (N, L, H_out);
        state: the forward layer's states then the backward layer's, along K.

    Example:
        >>> bi = Bidirectional(Recurrent(GRUCell(16, 32)), merge_mode="sum")
        >>> out, h = bi(torch.randn(2, 5, 16))    # out (2, 5, 32), h (2, 2, 32)
    """

    def __init__(
        self,
        layer: SequenceLayer,
        merge_mode: str = "concat",
        backward_layer: SequenceLayer | None = None,
        batch_first: bool | None = None,
        stateful: bool = False,
    ) -> None:
        layer = as_layer(layer)
        backward_layer = None if backward_layer is None else as_layer(backward_layer)
        super().__init__(layer.batch_first if batch_first is None else batch_first, stateful)
        if merge_mode not in MERGE_MODES:
            raise ValueError(
                f"Bidirectional: merge_mode must be one of {MERGE_MODES}, got {merge_mode!r}"
            )
        if backward_layer is None:
            backward_layer = _reversed_copy(layer)
        if backward_layer.input_size != layer.input_size:
            raise ValueError(
                f"Bidirectional: backward layer takes {backward_layer.input_size} features, "
                f"forward layer {layer.input_size}"
            )
        if merge_mode != "concat" and backward_layer.output_size != layer.output_size:
            raise ValueError(
                f"Bidirectional: merge_mode={merge_mode!r} needs equal output sizes, got "
                f"{layer.output_size} and {backward_layer.output_size}"
            )
        self.forward_layer = layer
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.input_size = layer.input_size
        both = layer.output_size + backward_layer.output_size
        self.output_size = both if merge_mode == "concat" else layer.output_size
        self.num_states = layer.num_states + backward_layer.num_states

    @property
    def backend(self) -> Backend:
        return combine([self.forward_layer.backend, self.backward_layer.backend])

    def init_state(
        self,
        batch_size: int,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> st.LayerState:
        parts = (self.forward_layer, self.backward_layer)
        return st.join([p.init_state(batch_size, device, dtype) for p in parts])

    def _run(
        self, x: Tensor, state: st.LayerState | None, lengths: Tensor | None
    ) -> tuple[Tensor, st.LayerState]:
        fwd, bwd = self.forward_layer, self.backward_layer
        sf = sb = None
        if state is not None:
            sf, sb = st.split(state, [fwd.num_states, bwd.num_states])
        out_f, final_f = fwd._run(x, sf, lengths)
        out_b, final_b = bwd._run(x, sb, lengths)
        return _merge(self.merge_mode, out_f, out_b), st.join([final_f, final_b])

    def extra_repr(self) -> str:
        return f"merge_mode={self.merge_mode!r}"


def _merge(mode: str, a: Tensor, b: Tensor) -> Tensor:
    if mode == "concat":
        return torch.cat([a, b], dim=-1)
    if mode == "sum":
        return a + b
    if mode == "mul":
        return a * b
    return (a + b) * 0.5


def _reversed_copy(layer: SequenceLayer) -> SequenceLayer:
    """A copy reading the other way, with freshly initialised parameters."""
    twin = copy.deepcopy(layer)
    for module in twin.modules():
        if hasattr(module, "go_backwards"):
            module.go_backwards = not module.go_backwards
        if hasattr(module, "reset_parameters") and module is not twin:
            module.reset_parameters()
    return twin
