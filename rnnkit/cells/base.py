"""The recurrent cell contract.

A recurrent cell maps one input step and the previous state to an output and a new state
(the generic recurrence of the lecture notes):

    s_t = R(s_{t-1}, x_t),    h_t = O(s_t)

Every rnnkit cell, built-in or user-written, obeys the same contract (Keras' cell API with
PyTorch's naming) so that any layer can run any cell without asking what it is:

- ``cell(x_t, state) -> (h_t, new_state)`` for one step, ``x_t`` of shape (N, H_in);
- ``cell.state_size``: a tuple with the width of each state tensor, e.g. ``(H,)`` or ``(H, H)``;
- ``cell.init_state(batch_size)``: the zero state, a tensor or a tuple of tensors (N, S_k).

Built-in cells split a step into two parts so that layers can batch the input side of the
recurrence over all time steps (one matmul instead of L):

- ``project_input(x)``: the input contribution, for a single step (N, H_in) or a whole sequence
  (N, L, H_in), giving (..., G);
- ``step(xp_t, state, recurrent_mask=None)``: the recurrence proper, given the projected input.

A user-defined cell only has to implement ``forward``; the defaults make ``project_input`` the
identity and ``step`` call ``forward``.

Dropout (Keras semantics, Gal & Ghahramani 2016): ``dropout`` drops input features and
``recurrent_dropout`` drops the previous output before the hidden-to-hidden product, each with
one mask per sequence, sampled by the layer through ``sample_masks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

State = Tensor | tuple[Tensor, ...]


@dataclass
class DropoutMasks:
    """Per-sequence dropout masks, already scaled by 1 / (1 - p).

    Shape:
        input: (N, H_in) or None; recurrent: (N, H_out) or None.
    """

    input: Tensor | None = None
    recurrent: Tensor | None = None


def _bernoulli_mask(n: int, width: int, p: float, like: Tensor) -> Tensor:
    keep = 1.0 - p
    return torch.empty(n, width, device=like.device, dtype=like.dtype).bernoulli_(keep) / keep


class RecurrentCell(nn.Module):
    """Base class of all cells: holds sizes, dropout rates and the contract's defaults.

    Args:
        input_size: features of each input step, H_in.
        hidden_size: width of the output h_t, H.
        dropout: fraction of input features dropped (one mask per sequence).
        recurrent_dropout: fraction of h_{t-1} dropped before W_hh (one mask per sequence).
    """

    #: True for cells whose ``step`` consumes ``project_input`` output (the built-in cells).
    projects_input: bool = False

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if input_size < 1 or hidden_size < 1:
            raise ValueError(
                f"{name}: input_size and hidden_size must be >= 1, "
                f"got {input_size} and {hidden_size}"
            )
        for label, p in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name}: {label} must be in [0, 1), got {p}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)

    # ----------------------------------------------------------------- contract
    @property
    def state_size(self) -> tuple[int, ...]:
        """Width of each state tensor; the default is one tensor of ``hidden_size``."""
        return (self.hidden_size,)

    @property
    def output_size(self) -> int:
        """Width of h_t (differs from ``hidden_size`` only for a projected LSTM)."""
        return self.hidden_size

    def init_state(
        self,
        batch_size: int,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> State:
        """Zero state: a tensor (N, S) for single-state cells, else a tuple of them."""
        ref = self._reference()
        device = device if device is not None else (ref.device if ref is not None else None)
        dtype = dtype if dtype is not None else (ref.dtype if ref is not None else None)
        zeros = tuple(
            torch.zeros(batch_size, s, device=device, dtype=dtype) for s in self.state_size
        )
        return zeros[0] if len(zeros) == 1 else zeros

    def _reference(self) -> Tensor | None:
        """A tensor whose device and dtype the zero state takes (the first parameter)."""
        return next(iter(self.parameters()), None)

    def forward(self, x_t: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """One step: ``(h_t, new_state)`` from x_t (N, H_in) and the previous state."""
        if state is None:
            state = self.init_state(x_t.shape[0], x_t.device, x_t.dtype)
        return self.step(self.project_input(x_t), state)

    # ------------------------------------------------------- split for layers
    def project_input(self, x: Tensor) -> Tensor:
        """Input side of the recurrence for any leading shape: (..., H_in) -> (..., G)."""
        return x

    def step(
        self, xp_t: Tensor, state: State, recurrent_mask: Tensor | None = None
    ) -> tuple[Tensor, State]:
        """Recurrence given the projected input; user cells get ``forward`` here."""
        if type(self).forward is RecurrentCell.forward:
            raise NotImplementedError(f"{type(self).__name__} must implement forward or step")
        return self(xp_t, state)

    def sample_masks(self, batch_size: int, like: Tensor) -> DropoutMasks:
        """Draw this sequence's dropout masks (only while training)."""
        if not self.training:
            return DropoutMasks()
        masks = DropoutMasks()
        if self.dropout > 0:
            masks.input = _bernoulli_mask(batch_size, self.input_size, self.dropout, like)
        if self.recurrent_dropout > 0:
            masks.recurrent = _bernoulli_mask(
                batch_size, self.output_size, self.recurrent_dropout, like
            )
        return masks

    # ------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, enough to rebuild the cell with ``from_config``."""
        return {
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RecurrentCell:
        """Rebuild a cell from ``get_config()`` output."""
        return cls(**config)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
