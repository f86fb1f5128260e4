"""Pooling over time respects lengths: padding never changes the pooled vector."""

import pytest
import torch

from rnnkit.layers.char_encoder import CharEncoder
from rnnkit.layers.pooling import POOLING_MODES, SequencePooling, last_states


def _padded(seed=0):
    g = torch.Generator().manual_seed(seed)
    outputs = torch.randn(3, 5, 4, generator=g)
    lengths = torch.tensor([5, 2, 3])
    return outputs, lengths


def test_max_mean_last_by_hand():
    outputs, lengths = _padded()
    for mode, expect in (
        ("max", lambda o: o.max(0).values),
        ("mean", lambda o: o.mean(0)),
        ("last", lambda o: o[-1]),
    ):
        pooled = SequencePooling(mode, 4)(outputs, lengths)
        for i, n in enumerate(lengths.tolist()):
            torch.testing.assert_close(pooled[i], expect(outputs[i, :n]))


def test_last_states_bidirectional_takes_backward_first_step():
    outputs, lengths = _padded()
    pooled = last_states(outputs, lengths, num_directions=2)
    torch.testing.assert_close(pooled[1, :2], outputs[1, 1, :2])  # forward: step n-1
    torch.testing.assert_close(pooled[1, 2:], outputs[1, 0, 2:])  # backward: step 0


@pytest.mark.parametrize("mode", POOLING_MODES)
def test_padding_values_do_not_matter(mode):
    torch.manual_seed(0)
    pool = SequencePooling(mode, 4, num_directions=2)
    outputs, lengths = _padded()
    noisy = outputs.clone()
    noisy[1, 2:] = 1e3
    noisy[2, 3:] = -1e3
    torch.testing.assert_close(pool(outputs, lengths), pool(noisy, lengths))
    assert pool(outputs, lengths).shape == (3, pool.out_features)


def test_attention_weights_sum_to_one_over_real_steps():
    torch.manual_seed(0)
    pool = SequencePooling("attention", 4, attention_size=8)
    outputs, lengths = _padded()
    pool(outputs, lengths)
    w = pool.last_weights
    torch.testing.assert_close(w.sum(1), torch.ones(3))
    assert w[1, 2:].abs().max() == 0 and w[2, 3:].abs().max() == 0


def test_bad_mode_and_shape_errors():
    with pytest.raises(ValueError, match="unknown mode 'sum'"):
        SequencePooling("sum", 4)
    with pytest.raises(ValueError, match=r"expected outputs \(N, L, 4\)"):
        SequencePooling("max", 4)(torch.zeros(2, 3, 5), torch.tensor([3, 3]))


@pytest.mark.parametrize("kind", ["lstm", "cnn"])
def test_char_encoder_ignores_padding(kind):
    torch.manual_seed(0)
    enc = CharEncoder(10, kind, embedding_size=6, hidden_size=5).eval()
    chars = torch.tensor([[2, 3, 4, 0, 0], [5, 6, 0, 0, 0]])
    lengths = torch.tensor([3, 2])
    out = enc(chars, lengths)
    assert out.shape == (2, enc.out_features)
    alone = enc(chars[1:, :2], lengths[1:])
    torch.testing.assert_close(out[1:], alone, atol=1e-6, rtol=1e-5)
