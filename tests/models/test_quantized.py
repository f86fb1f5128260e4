"""int8 weights with per-row scales: the error bound, tied tensors, and a directory round trip."""

import torch

from rnnkit.models import LanguageModel
from rnnkit.models.quantized import dequantize_rows, dequantize_state, quantize_rows, quantize_state


def test_each_weight_within_half_a_step():
    w = torch.randn(7, 30) * torch.logspace(-3, 1, 7)[:, None]  # rows of very different sizes
    w[3] = 0.0
    q, scale = quantize_rows(w)
    assert q.dtype == torch.int8 and scale.shape == (7,)
    error = (dequantize_rows(q, scale) - w).abs()
    assert (error <= scale[:, None] / 2 + 1e-7).all()
    assert q.abs().amax(dim=1)[[0, 1, 2, 4, 5, 6]].eq(127).all()  # the full range is used
    assert dequantize_rows(q, scale)[3].eq(0).all()


def test_state_round_trip_keeps_vectors_and_ties():
    model = LanguageModel(11, embedding_size=6, hidden_size=8, num_layers=2, tie_weights=True)
    stored, tied = quantize_state(model)
    assert tied == {"decoder.weight": "embed.weight"}
    assert stored["int8/layers.0.weight_hh_l0"].dtype == torch.int8
    assert stored["layers.0.bias_ih_l0"].dtype == torch.float32  # vectors stay float
    state = dequantize_state(stored, {"tied": tied})
    other = LanguageModel(11, embedding_size=6, hidden_size=8, num_layers=2, tie_weights=True)
    other.load_state_dict(state)
    assert other.decoder.weight is other.embed.weight
    for name, value in model.state_dict().items():
        assert torch.allclose(other.state_dict()[name], value, atol=value.abs().max() / 254 + 1e-7)
