"""A language model loaded from int8 weights, whose batch-1 generation step runs on int8.

Everything reads float32 weights s Q (``rnnkit.models.quantized``), so training, evaluation and
batched steps are the ``LanguageModel``'s own. A step of one sequence with no gradient (what
generation runs, token by token) goes to the native int8 kernel (``rnnkit.kernels.int8_step``)
when every layer is a plain LSTM (one direction, sigmoid/tanh, no peepholes, projection or layer
norm): the embedding row, each LSTM level and the output layer, with int8 weights widened to
float in registers; the result equals the float step with weights s Q up to the order of the
sums. Each step is one native call (the stack and the output layer) on PyTorch's threads.
Other configurations, and machines where the kernel does not build, take the float step.
"""

from __future__ import annotations

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
            q, scale = quantize_rows(self.decoder.weight)
            bias = self.decoder.bias.detach().float().contiguous()
            self._stack = int8_step.Int8LSTMStack(levels, decoder=(q, scale, bias))
        self._shapes = [(layer.num_layers, layer.hidden_size) for layer in layers]  # type: ignore[union-attr]
        self.int8_step = "on: batch-1 steps without gradient run the native int8 kernel"

    def step(self, tokens: Tensor, state: list | None) -> tuple[Tensor, list]:
        """One token per sequence: tokens (N,) -> logits (N, V), new state."""
        stack = getattr(self, "_stack", None)
        if stack is None or tokens.shape[0] != 1 or torch.is_grad_enabled() or self.training:
            return super().step(tokens, state)
        table = self.embed.weight
        if table.dtype != torch.float32 or not table.is_contiguous():
            return super().step(tokens, state)
        token = int(tokens[0])
        if not 0 <= token < table.shape[0]:  # the embedding's own error names the index
            return super().step(tokens, state)
        # raw addresses of each level's rows: no tensor is built per level
        x = table.data_ptr() + token * table.shape[1] * 4
        if state is None:
            state = self._zero_state()
        else:  # (no copies for the float32 contiguous state the step itself returns)
            state = [tuple(t.float().contiguous() for t in layer) for layer in state]
        new = [(torch.empty_like(h), torch.empty_like(c)) for h, c in state]
        logits = torch.empty(1, self.config.vocab_size)
        stack.step_addresses(x, *self._addresses(state), *self._addresses(new),
                             logits=logits.data_ptr())  # fmt: skip
        return logits, new

    def _addresses(self, state: list) -> tuple[list[int], list[int]]:
        """Addresses of each level's (H,) row of h and of c (a layer's (levels, 1, H) tensors)."""
        h: list[int] = []
        c: list[int] = []
        for (levels, size), (h_t, c_t) in zip(self._shapes, state):
            h_at, c_at = h_t.data_ptr(), c_t.data_ptr()
            for i in range(levels):
                h.append(h_at + 4 * size * i)
                c.append(c_at + 4 * size * i)
        return h, c

    def _zero_state(self) -> list:
        zeros = getattr(self, "_zeros", None)
        if zeros is None:  # read only, never written: shared by every first step
            zeros = [(torch.zeros(n, 1, h), torch.zeros(n, 1, h)) for n, h in self._shapes]
            self._zeros = zeros
        return zeros
