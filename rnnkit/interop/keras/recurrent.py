"""Keras' recurrent layers (``SimpleRNN``, ``LSTM``, ``GRU``, ``Bidirectional``) as rnnkit layers.

The recurrence runs in rnnkit's ``RNN`` / ``LSTM`` / ``GRU`` (and ``Bidirectional``); this
module adds what Keras does around it, so outputs match Keras' exactly:

- **Masks.** A Keras mask may mark any steps (padding at the end, at the start, or holes); a
  masked step leaves the state unchanged. That equals running on the unmasked steps alone, so
  each sequence's unmasked steps are gathered to the front, rnnkit runs them with ``lengths``,
  and the outputs are put back at their positions. At a masked position Keras repeats the
  previous output of the same direction (zeros before the first), or writes zeros when
  ``zero_output_for_mask`` is set (``Bidirectional`` sets it when returning sequences).
- **go_backwards.** rnnkit keeps a backward layer's outputs aligned with the input positions;
  a Keras layer with ``go_backwards=True`` returns them in reading order (reversed), so they are
  flipped. Inside ``Bidirectional`` Keras flips them back, so they stay aligned.
- **return_sequences / return_state.** Keras returns the last output or all outputs, and with
  ``return_state`` the final states after it (``h`` for SimpleRNN and GRU, ``h, c`` for LSTM;
  forward then backward in ``Bidirectional``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.layers import GRU, LSTM, RNN, Bidirectional
from rnnkit.layers.base import SequenceLayer


class KerasRecurrent(nn.Module):
    """An rnnkit recurrent layer with Keras' masking, ordering and return conventions.

    Args:
        layer: ``rnnkit.LSTM``/``GRU``/``RNN`` (one layer), or ``rnnkit.Bidirectional`` of two.
        return_sequences, return_state: as in Keras.
        zero_output_for_mask: masked positions output zeros instead of repeating.
        merge_mode: the Bidirectional merge (None: both directions returned).

    Shape:
        x (N, L, H_in), mask (N, L) bool or None -> [output, *states]; output (N, L, H') with
        ``return_sequences`` else (N, H').
    """

    def __init__(
        self,
        layer: SequenceLayer,
        return_sequences: bool,
        return_state: bool,
        zero_output_for_mask: bool = False,
        merge_mode: str | None = "concat",
    ) -> None:
        super().__init__()
        self.layer = layer
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.zero_output_for_mask = zero_output_for_mask
        self.merge_mode = merge_mode
        self.bidirectional = isinstance(layer, Bidirectional)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[list[Tensor], Tensor | None]:
        if mask is not None and bool(mask.all()):
            mask = None
        lengths = None
        if mask is not None:
            order = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)  # unmasked first
            x = x.gather(1, order[..., None].expand(-1, -1, x.shape[-1]))
            lengths = mask.sum(dim=1)
        parts = self._directions()
        runs = [self._run(part, x, lengths) for part in parts]
        outputs = [self._place(out, mask, lengths, part) for (out, _), part in zip(runs, parts)]
        finals = [_states(final) for _, final in runs]
        if lengths is not None:  # a fully masked sequence keeps the zero state
            empty = lengths == 0
            finals = [[s.masked_fill(empty[:, None], 0.0) for s in f] for f in finals]
        if not self.return_sequences:
            outputs = [
                self._last(out, f[0], mask, part) for out, f, part in zip(outputs, finals, parts)
            ]
        if self.bidirectional and self.merge_mode is not None:
            outputs = [_merge(self.merge_mode, outputs[0], outputs[1])]
        states = [s for f in finals for s in f] if self.return_state else []
        return outputs + states, (mask if self.return_sequences else None)

    def _directions(self) -> list[SequenceLayer]:
        if self.bidirectional:
            return [self.layer.forward_layer, self.layer.backward_layer]
        return [self.layer]

    @staticmethod
    def _run(layer: SequenceLayer, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Any]:
        if lengths is None:
            return layer(x)
        return layer(x, lengths=lengths.clamp(min=1).cpu())

    def _place(
        self, out: Tensor, mask: Tensor | None, lengths: Tensor | None, part: SequenceLayer
    ) -> Tensor:
        """Compact outputs back at their positions, Keras' values at masked ones; reading order
        for a lone backward layer."""
        backward = bool(getattr(part, "go_backwards", False))
        if mask is not None:
            assert lengths is not None
            seen = mask.cumsum(dim=1)  # unmasked steps up to and including t
            if backward:  # a masked step repeats the next unmasked step's output
                index, valid = seen - mask.long(), (seen - mask.long()) < lengths[:, None]
            else:  # ... or the previous one's
                index, valid = seen - 1, seen > 0
            if self.zero_output_for_mask:
                valid = valid & mask
            index = index.clamp(0, out.shape[1] - 1)
            out = out.gather(1, index[..., None].expand(-1, -1, out.shape[-1]))
            out = out * valid[..., None].to(out.dtype)
        if backward and not self.bidirectional:
            out = out.flip(1)
        return out

    def _last(self, out: Tensor, h: Tensor, mask: Tensor | None, part: SequenceLayer) -> Tensor:
        """Keras' last output: the final h, or zeros where the last step read is masked and
        ``zero_output_for_mask`` is set."""
        if mask is None or not self.zero_output_for_mask:
            return h
        last = mask[:, 0] if getattr(part, "go_backwards", False) else mask[:, -1]
        return h * last[:, None].to(h.dtype)


def _states(final: Any) -> list[Tensor]:
    """rnnkit's final state of one direction -> Keras' list ([h] or [h, c]), each (N, H)."""
    parts = final if isinstance(final, tuple) else (final,)
    return [p[0] for p in parts]


def _merge(mode: str, a: Tensor, b: Tensor) -> Tensor:
    if mode == "concat":
        return torch.cat([a, b], dim=-1)
    if mode == "sum":
        return a + b
    if mode == "mul":
        return a * b
    return (a + b) / 2


LAYER_CLASSES: dict[str, type[SequenceLayer]] = {"SimpleRNN": RNN, "LSTM": LSTM, "GRU": GRU}
