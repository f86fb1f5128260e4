"""The Elman (simple) recurrent cell. Elman, "Finding structure in time", Cognitive Science 1990.

    h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)

The state is h_t itself. ``act`` is ``tanh`` (default) or ``relu`` for PyTorch's fused kernel;
any name from ``rnnkit.cells.activations`` runs on the generic path.
"""

from __future__ import annotations

from torch import Tensor

from rnnkit.cells.affine import AffineCell
from rnnkit.cells.base import State


class ElmanCell(AffineCell):
    """Elman RNN cell; parameters as ``torch.nn.RNNCell``.

    Args: see ``AffineCell``.

    Shape:
        x_t (N, H_in), state (N, H) -> h_t (N, H), new state (N, H).

    Example:
        >>> cell = ElmanCell(8, 16, activation="relu")
        >>> h, s = cell(torch.randn(4, 8))
    """

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, **kwargs) -> None:
        super().__init__(input_size, hidden_size, **kwargs)
        self.reset_parameters()

    def step(
        self, xp_t: Tensor, state: State, recurrent_mask: Tensor | None = None
    ) -> tuple[Tensor, State]:
        h = self._act(xp_t + self.project_hidden(state, recurrent_mask))
        return h, h

    def fused_kernel(self) -> tuple[str | None, str]:
        if self.overrides_math(ElmanCell):
            return None, f"{type(self).__name__} overrides ElmanCell's equations"
        if self.activation in ("tanh", "relu"):
            return f"rnn_{self.activation}", f"Elman with {self.activation}"
        return None, f"activation {self.activation!r}"
