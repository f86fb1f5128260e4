"""Long short-term memory cell, with optional peepholes, projection and layer normalisation.

Hochreiter & Schmidhuber, "Long Short-Term Memory", Neural Computation 1997; peepholes from
Gers & Schmidhuber, "Recurrent Nets that Time and Count", IJCNN 2000; projection from Sak et al.,
"Long Short-Term Memory Based Recurrent Neural Network Architectures for Large Vocabulary Speech
Recognition", 2014; layer normalisation from Ba et al., "Layer Normalization", 2016.

Gate order i, f, g, o as in PyTorch. With a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh:

    i_t = sigma(a^i + w_ci * c_{t-1})          (peephole term only with peephole=True)
    f_t = sigma(a^f + w_cf * c_{t-1})
    g_t = act(a^g)
    c_t = f_t * c_{t-1} + i_t * g_t
    o_t = sigma(a^o + w_co * c_t)
    h_t = o_t * act(c_t)                        (h_t = W_hr (o_t * act(c_t)) with proj_size)

With ``layer_norm=True`` the two products are normalised separately and so is the cell state:
a = LN(W_ih x_t) + b_ih + LN(W_hh h_{t-1}) + b_hh and h_t = o_t * act(LN(c_t)).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.cells.activations import get_activation
from rnnkit.cells.affine import AffineCell
from rnnkit.cells.base import State
from rnnkit.cells.parameters import cell_parameters


class LSTMCell(AffineCell):
    """LSTM cell; with defaults, parameters and results equal ``torch.nn.LSTMCell``.

    Args:
        recurrent_activation: gate nonlinearity (default ``"sigmoid"``).
        peephole: add diagonal peephole weights ``weight_ci``, ``weight_cf``, ``weight_co`` (H).
        proj_size: if > 0, project h_t to this width with ``weight_hr`` (P, H).
        layer_norm: normalise W_ih x, W_hh h and c_t (gains and biases ``layer_norm_*``).
        unit_forget_bias: add 1 to the forget-gate part of ``bias_ih`` at initialisation
            (Jozefowicz et al. 2015; Keras' default).
        Others: see ``AffineCell``.

    Shape:
        x_t (N, H_in), state (h (N, H_out), c (N, H)) -> h_t (N, H_out), (h_t, c_t);
        H_out = proj_size if proj_size > 0 else H.

    Example:
        >>> cell = LSTMCell(8, 16, peephole=True)
        >>> h, (h, c) = cell(torch.randn(4, 8))
    """

    gates = 4
    proj_size: int = 0

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        recurrent_activation: str = "sigmoid",
        peephole: bool = False,
        proj_size: int = 0,
        layer_norm: bool = False,
        unit_forget_bias: bool = False,
        **kwargs,
    ) -> None:
        name = type(self).__name__
        if not 0 <= proj_size < hidden_size:
            raise ValueError(f"{name}: proj_size must be in [0, {hidden_size}), got {proj_size}")
        self.proj_size = proj_size  # read by output_size inside AffineCell.__init__
        super().__init__(input_size, hidden_size, **kwargs)
        self.recurrent_activation = recurrent_activation
        self._ract = get_activation(name, recurrent_activation)
        self.peephole = peephole
        self.layer_norm = layer_norm
        self.unit_forget_bias = unit_forget_bias
        h = hidden_size
        if peephole:
            self.weight_ci = nn.Parameter(torch.empty(h))
            self.weight_cf = nn.Parameter(torch.empty(h))
            self.weight_co = nn.Parameter(torch.empty(h))
        if proj_size:
            self.weight_hr = nn.Parameter(torch.empty(proj_size, h))
        if layer_norm:
            for part, width in (("ih", 4 * h), ("hh", 4 * h), ("c", h)):
                self.register_parameter(
                    f"layer_norm_{part}_weight", nn.Parameter(torch.ones(width))
                )
                self.register_parameter(f"layer_norm_{part}_bias", nn.Parameter(torch.zeros(width)))
        self.reset_parameters()

    @property
    def state_size(self) -> tuple[int, ...]:
        return (self.output_size, self.hidden_size)

    @property
    def output_size(self) -> int:
        return self.proj_size or self.hidden_size

    def reset_parameters(self) -> None:
        super().reset_parameters()
        h = self.hidden_size
        bound = 1.0 / math.sqrt(h)
        with torch.no_grad():
            for name in ("weight_ci", "weight_cf", "weight_co", "weight_hr"):
                if hasattr(self, name):
                    nn.init.uniform_(getattr(self, name), -bound, bound)
            for name, p in cell_parameters(self).items():  # also when the cell sits in a stack
                if name.startswith("layer_norm_"):
                    nn.init.ones_(p) if name.endswith("weight") else nn.init.zeros_(p)
            if self.unit_forget_bias and self.bias:
                self.bias_ih[h : 2 * h] += 1.0

    def _norm(self, part: str, x: Tensor) -> Tensor:
        w = getattr(self, f"layer_norm_{part}_weight")
        return F.layer_norm(x, w.shape, w, getattr(self, f"layer_norm_{part}_bias"))

    def project_input(self, x: Tensor) -> Tensor:
        if not self.layer_norm:
            return F.linear(x, self.weight_ih, self.bias_ih)
        # b_ih folded into the norm's shift: one pass over (N, L, 4H) instead of two
        w, beta = self.layer_norm_ih_weight, self.layer_norm_ih_bias
        if self.bias_ih is not None:
            beta = beta + self.bias_ih
        return F.layer_norm(F.linear(x, self.weight_ih), w.shape, w, beta)

    def project_hidden(self, h: Tensor, recurrent_mask: Tensor | None = None) -> Tensor:
        if not self.layer_norm:
            return super().project_hidden(h, recurrent_mask)
        if recurrent_mask is not None:
            h = h * recurrent_mask
        a = self._norm("hh", F.linear(h, self.weight_hh))
        return a if self.bias_hh is None else a + self.bias_hh

    def step(
        self, xp_t: Tensor, state: State, recurrent_mask: Tensor | None = None
    ) -> tuple[Tensor, State]:
        h, c = state
        a = xp_t + self.project_hidden(h, recurrent_mask)  # (N, 4H)
        i, f, g, o = a.chunk(4, dim=-1)
        if self.peephole:
            i = i + self.weight_ci * c
            f = f + self.weight_cf * c
        c_new = self._ract(f) * c + self._ract(i) * self._act(g)
        if self.peephole:
            o = o + self.weight_co * c_new
        c_out = self._norm("c", c_new) if self.layer_norm else c_new
        h_new = self._ract(o) * self._act(c_out)
        if self.proj_size:
            h_new = F.linear(h_new, self.weight_hr)
        return h_new, (h_new, c_new)

    def fused_weights(self) -> list[Tensor]:
        return super().fused_weights() + ([self.weight_hr] if self.proj_size else [])

    def fused_kernel(self) -> tuple[str | None, str]:
        if self.overrides_math(LSTMCell):
            return None, f"{type(self).__name__} overrides LSTMCell's equations"
        if self.peephole:
            return None, "peephole connections"
        if self.layer_norm:
            return None, "layer normalisation"
        if self.activation != "tanh" or self.recurrent_activation != "sigmoid":
            return None, (
                f"activations {self.activation!r}/{self.recurrent_activation!r} "
                "(fused needs tanh/sigmoid)"
            )
        return "lstm", "standard LSTM" + (" with projection" if self.proj_size else "")

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "recurrent_activation": self.recurrent_activation,
            "peephole": self.peephole,
            "proj_size": self.proj_size,
            "layer_norm": self.layer_norm,
            "unit_forget_bias": self.unit_forget_bias,
        }
