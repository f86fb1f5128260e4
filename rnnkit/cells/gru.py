"""Gated recurrent unit. Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder
for Statistical Machine Translation", EMNLP 2014.

Gate order r, z, n as in PyTorch. With a_x = W_ih x_t + b_ih and a_h = W_hh h_{t-1} + b_hh:

    r_t = sigma(a_x^r + a_h^r)
    z_t = sigma(a_x^z + a_h^z)
    n_t = act(a_x^n + r_t * a_h^n)                                   reset_after=True
    n_t = act(a_x^n + W_hh^n (r_t * h_{t-1}) + b_hh^n)               reset_after=False
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

``reset_after=True`` is PyTorch's and cuDNN's form (and Keras' default); ``reset_after=False`` is
the original paper's, where the reset gate acts before the matrix product.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor
from torch.nn import functional as F

from rnnkit.cells.activations import get_activation
from rnnkit.cells.affine import AffineCell
from rnnkit.cells.base import State


class GRUCell(AffineCell):
    """GRU cell; with defaults, parameters and results equal ``torch.nn.GRUCell``.

    Args:
        reset_after: apply the reset gate after the hidden matmul (True) or before it (False).
        recurrent_activation: gate nonlinearity (default ``"sigmoid"``).
        Others: see ``AffineCell``.

    Shape:
        x_t (N, H_in), state (N, H) -> h_t (N, H), new state (N, H).

    Example:
        >>> cell = GRUCell(8, 16, reset_after=False)
        >>> h, s = cell(torch.randn(4, 8))
    """

    gates = 3

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        reset_after: bool = True,
        recurrent_activation: str = "sigmoid",
        **kwargs,
    ) -> None:
        super().__init__(input_size, hidden_size, **kwargs)
        self.reset_after = reset_after
        self.recurrent_activation = recurrent_activation
        self._ract = get_activation(type(self).__name__, recurrent_activation)
        self.reset_parameters()

    def step(
        self, xp_t: Tensor, state: State, recurrent_mask: Tensor | None = None
    ) -> tuple[Tensor, State]:
        h = state
        hd = h if recurrent_mask is None else h * recurrent_mask  # dropped copy for matmuls
        xr, xz, xn = xp_t.chunk(3, dim=-1)
        hsz = self.hidden_size
        if self.reset_after:
            hr, hz, hn = F.linear(hd, self.weight_hh, self.bias_hh).chunk(3, dim=-1)
            r = self._ract(xr + hr)
            z = self._ract(xz + hz)
            n = self._act(xn + r * hn)
        else:
            w_rz, w_n = self.weight_hh[: 2 * hsz], self.weight_hh[2 * hsz :]
            b_rz = b_n = None
            if self.bias_hh is not None:
                b_rz, b_n = self.bias_hh[: 2 * hsz], self.bias_hh[2 * hsz :]
            hr, hz = F.linear(hd, w_rz, b_rz).chunk(2, dim=-1)
            r = self._ract(xr + hr)
            z = self._ract(xz + hz)
            n = self._act(xn + F.linear(r * hd, w_n, b_n))
        h_new = n + z * (h - n)  # (1 - z) * n + z * h
        return h_new, h_new

    def fused_kernel(self) -> tuple[str | None, str]:
        if self.overrides_math(GRUCell):
            return None, f"{type(self).__name__} overrides GRUCell's equations"
        if not self.reset_after:
            return None, "reset_after=False"
        if self.activation != "tanh" or self.recurrent_activation != "sigmoid":
            return None, (
                f"activations {self.activation!r}/{self.recurrent_activation!r} "
                "(fused needs tanh/sigmoid)"
            )
        return "gru", "GRU with reset_after=True"

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "reset_after": self.reset_after,
            "recurrent_activation": self.recurrent_activation,
        }
