"""``Recurrent``: runs one cell over time, in one direction (Keras' ``RNN(cell)`` layer)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.backends import dispatch
from rnnkit.cells.base import RecurrentCell
from rnnkit.layers.base import SequenceLayer
from rnnkit.layers.routed import Routed
from rnnkit.ops import state as st


class Recurrent(Routed):
    """Run any cell over a sequence.

    Standard built-in cells run on a fast path (PyTorch's fused kernel, rnnkit's sequence
    functions, a step); any other cell, including a user-defined one, runs the generic loop.
    ``rnnkit.backends.dispatch`` picks; ``layer.backend`` says which ran.

    Args:
        cell: a cell obeying the contract (``rnnkit.cells.RecurrentCell``).
        batch_first: input and output are (N, L, H) (True, the default) or (L, N, H).
        go_backwards: read each sequence from its last true token to its first. Unlike Keras,
            outputs stay aligned with the input positions, so a backward layer's output at t
            summarises x_t .. x_{len-1}.
        stateful: carry the final state into the next call (see ``SequenceLayer``).

    Shape:
        x (N, L, H_in) -> output (N, L, H_out); state (1, N, S) per state tensor.

    Example:
        >>> layer = Recurrent(LSTMCell(32, 64))
        >>> out, (h, c) = layer(torch.randn(4, 10, 32))   # out (4, 10, 64), h and c (1, 4, 64)
    """

    num_states = 1

    def __init__(
        self,
        cell: nn.Module,
        batch_first: bool = True,
        go_backwards: bool = False,
        stateful: bool = False,
    ) -> None:
        super().__init__(batch_first, stateful)
        self.cell = cell
        self.go_backwards = go_backwards
        self.input_size = cell.input_size
        self.output_size = getattr(cell, "output_size", cell.hidden_size)

    @property
    def layer_name(self) -> str:
        return f"Recurrent({type(self.cell).__name__})"

    # a stack of one cell, as the dispatch reads stacks
    num_layers = 1
    bidirectional = False
    dropout = 0.0

    @property
    def cells(self) -> list[nn.Module]:
        return [self.cell]

    def init_state(
        self,
        batch_size: int,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> st.LayerState:
        return st.stack_cells([self.cell.init_state(batch_size, device, dtype)])

    def _run(
        self, x: Tensor, state: st.LayerState | None, lengths: Tensor | None
    ) -> tuple[Tensor, st.LayerState]:
        return dispatch.route(self, x, state, lengths).run(x, state, lengths)

    def extra_repr(self) -> str:
        flags = [f"batch_first={self.batch_first}"]
        if self.go_backwards:
            flags.append("go_backwards=True")
        if self.stateful:
            flags.append("stateful=True")
        return ", ".join(flags)


def as_layer(layer_or_cell: nn.Module) -> SequenceLayer:
    """A sequence layer as is; a cell wrapped in ``Recurrent`` (so wrappers take cells too)."""
    if isinstance(layer_or_cell, SequenceLayer):
        return layer_or_cell
    if isinstance(layer_or_cell, RecurrentCell) or hasattr(layer_or_cell, "state_size"):
        return Recurrent(layer_or_cell)
    raise TypeError(
        f"expected a sequence layer or a recurrent cell, got {type(layer_or_cell).__name__}"
    )
