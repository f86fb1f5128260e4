"""Shared base of the built-in cells, whose gate pre-activations are affine in x_t and h_{t-1}.

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh,    a_t in R^{G*H}

G is the number of gate blocks (1 for Elman, 3 for GRU, 4 for LSTM), stacked in PyTorch's order
so that ``torch.nn.RNN`` / ``GRU`` / ``LSTM`` parameters load unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.cells.activations import get_activation
from rnnkit.cells.base import RecurrentCell
from rnnkit.cells.init import MATRIX_ONLY, check_initializer, initialize


class AffineCell(RecurrentCell):
    """A cell with ``weight_ih`` (G*H, H_in), ``weight_hh`` (G*H, H_out) and two biases (G*H).

    Args:
        input_size: H_in.
        hidden_size: H.
        bias: learn ``bias_ih`` and ``bias_hh``.
        activation: name of the candidate/output nonlinearity (default ``"tanh"``).
        kernel_initializer: initializer of ``weight_ih`` (see ``rnnkit.cells.init``).
        recurrent_initializer: initializer of ``weight_hh``.
        bias_initializer: initializer of the biases.
        dropout, recurrent_dropout: see ``RecurrentCell``.
    """

    gates: int = 1
    projects_input = True

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        activation: str = "tanh",
        kernel_initializer: str = "pytorch",
        recurrent_initializer: str = "pytorch",
        bias_initializer: str = "pytorch",
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
    ) -> None:
        super().__init__(input_size, hidden_size, dropout, recurrent_dropout)
        name = type(self).__name__
        self.bias = bias
        self.activation = activation
        self._act = get_activation(name, activation)
        self.kernel_initializer = check_initializer(name, kernel_initializer)
        self.recurrent_initializer = check_initializer(name, recurrent_initializer)
        self.bias_initializer = check_initializer(name, bias_initializer)
        if bias_initializer in MATRIX_ONLY:
            raise ValueError(
                f"{name}: bias_initializer {bias_initializer!r} needs a matrix; "
                "for biases choose 'pytorch', 'zeros' or 'ones'"
            )
        g = self.gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(g, input_size))
        self.weight_hh = nn.Parameter(torch.empty(g, self.output_size))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(g))
            self.bias_hh = nn.Parameter(torch.empty(g))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)

    def reset_parameters(self) -> None:
        """Initialise weights and biases with the configured initializers."""
        h, g = self.hidden_size, self.gates
        initialize(self.weight_ih, self.kernel_initializer, h, g)
        initialize(self.weight_hh, self.recurrent_initializer, h, g)
        if self.bias:
            initialize(self.bias_ih, self.bias_initializer, h, g)
            initialize(self.bias_hh, self.bias_initializer, h, g)

    def _reference(self) -> Tensor:
        # by name: inside a stack the parameters are the stack's (rnnkit.layers.flat_names)
        return self.weight_hh  # type: ignore[no-any-return]

    def project_input(self, x: Tensor) -> Tensor:
        """W_ih x + b_ih: (..., H_in) -> (..., G*H)."""
        return F.linear(x, self.weight_ih, self.bias_ih)

    def project_hidden(self, h: Tensor, recurrent_mask: Tensor | None = None) -> Tensor:
        """W_hh h + b_hh, with recurrent dropout on h: (N, H_out) -> (N, G*H)."""
        if recurrent_mask is not None:
            h = h * recurrent_mask
        return F.linear(h, self.weight_hh, self.bias_hh)

    def fused_kernel(self) -> tuple[str | None, str]:
        """``(kernel, reason)``: the PyTorch fused kernel this cell matches, or None and why not."""
        return None, f"{type(self).__name__} has no fused kernel"

    def fused_weights(self) -> list[Tensor]:
        """Parameters in the order PyTorch's fused kernels take them."""
        weights = [self.weight_ih, self.weight_hh]
        if self.bias:
            weights += [self.bias_ih, self.bias_hh]
        return weights

    def overrides_math(self, base: type) -> bool:
        """True if a subclass replaced the equations of ``base`` (then no fused kernel applies)."""
        return _overrides_math(type(self), base)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "bias": self.bias,
            "activation": self.activation,
            "kernel_initializer": self.kernel_initializer,
            "recurrent_initializer": self.recurrent_initializer,
            "bias_initializer": self.bias_initializer,
        }


_OVERRIDES: dict[tuple[type, type], bool] = {}  # a plain dict, which torch.compile reads


def _overrides_math(cls: type, base: type) -> bool:
    """Whether ``cls`` replaced any of ``base``'s equations (asked on every call of a layer,
    so answered once per class)."""
    found = _OVERRIDES.get((cls, base))
    if found is None:
        names = ("forward", "step", "project_input", "project_hidden")
        found = any(getattr(cls, n) is not getattr(base, n) for n in names)
        _OVERRIDES[(cls, base)] = found
    return found
