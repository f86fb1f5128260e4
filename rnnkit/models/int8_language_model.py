"""A language model loaded from int8 weights, whose batch-1 generation step runs on int8.

Everything reads float32 weights s Q (``rnnkit.models.quantized``), so training, evaluation and
batched steps are the ``LanguageModel``'s own. A step of one sequence with no gradient (what
generation runs, token by token) goes to the native int8 kernel (``rnnkit.kernels.int8_step``)
when every layer is a plain LSTM (one direction, sigmoid/tanh, no peepholes, projection or layer
norm): the embedding row, each LSTM level and the output layer, with int8 weights widened to
float in registers; the result equals the float step with weights s Q up to the order of the
sums. Other configurations, and machines where the kernel does not build, take the float step.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.kernels import int8_step
from rnnkit.layers import LSTM
from rnnkit.models.language_model import LanguageModel
from rnnkit.models.quantized import quantize_rows


def _plain_lstm(layer: nn.Module) -> LSTM | None:
    layer = getattr(layer, "layer", layer) if type(layer).__name__ == "WeightDrop" else layer
    if not isinstance(layer, LSTM) or layer.bidirectional or layer.go_backwards:
        return None
    for cell in layer.cells:
        plain = (not cell.peephole and not cell.layer_norm and not cell.proj_size
                 and cell.activation == "tanh" and cell.recurrent_activation == "sigmoid"
                 and cell.bias_ih is not None)  # fmt: skip
        if not plain:
            return None
    return layer


class Int8LanguageModel(LanguageModel):
    """``LanguageModel`` with the int8 batch-1 step; built by ``load_model_dir`` for a
    quantized directory. ``int8_step`` says whether the step runs on int8 (and why not)."""

    def prepare_int8(self) -> None:
        """Pack the int8 weights for the step (call after the weights are loaded)."""
        self._stack: int8_step.Int8LSTMStack | None = None
        self.int8_step = "off: the native int8 kernel does not build here"
        if not int8_step.available():
            return
        layers = [_plain_lstm(layer) for layer in self.layers]
        if any(layer is None for layer in layers):
            self.int8_step = "off: the layers are not all plain one-direction LSTMs"
            return
        levels = []
        with torch.no_grad():
            for layer in layers:
                for cell in layer.cells:  # type: ignore[union-attr]
                    q_ih, s_ih = quantize_rows(cell.weight_ih)
                    q_hh, s_hh = quantize_rows(cell.weight_hh)
                    levels.append((q_ih, s_ih, q_hh, s_hh, (cell.bias_ih + cell.bias_hh).float()))
            self._stack = int8_step.Int8LSTMStack(levels)
            self._decoder = quantize_rows(self.decoder.weight)
            self._decoder_bias = self.decoder.bias.detach().float().contiguous()
        self._levels = [layer.num_layers for layer in layers]  # type: ignore[union-attr]
        self.int8_step = "on: batch-1 steps without gradient run the native int8 kernel"

    def step(self, tokens: Tensor, state: list | None) -> tuple[Tensor, list]:
        """One token per sequence: tokens (N,) -> logits (N, V), new state."""
        stack = getattr(self, "_stack", None)
        if stack is None or tokens.shape[0] != 1 or torch.is_grad_enabled() or self.training:
            return super().step(tokens, state)
        x = self.embed.weight[tokens[0]]
        h, c = self._flat(state, x.dtype)
        h, c = stack.step(x, h, c)
        logits = int8_step.int8_gemv(*self._decoder, self._decoder_bias, h[-1])
        return logits[None], self._nested(h, c)

    def _flat(self, state: list | None, dtype: torch.dtype) -> tuple[list[Tensor], list[Tensor]]:
        if state is None:
            sizes = [s for layer in self.layers for s in _sizes(layer)]
            zeros = [torch.zeros(n, dtype=dtype) for n in sizes]
            return zeros, [z.clone() for z in zeros]
        h = [hk[i, 0] for hk, _ in state for i in range(hk.shape[0])]
        c = [ck[i, 0] for _, ck in state for i in range(ck.shape[0])]
        return h, c

    def _nested(self, h: list[Tensor], c: list[Tensor]) -> list[Any]:
        out, k = [], 0
        for levels in self._levels:
            out.append((torch.stack(h[k : k + levels])[:, None],
                        torch.stack(c[k : k + levels])[:, None]))  # fmt: skip
            k += levels
        return out


def _sizes(layer: nn.Module) -> list[int]:
    lstm = _plain_lstm(layer)
    assert lstm is not None
    return [lstm.hidden_size] * lstm.num_layers
