"""Locked dropout, embedding dropout and weight drop: what each mask drops and how it scales."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import rnnkit
from rnnkit.layers import LockedDropout, WeightDrop, embedding_dropout
from tests.harness import assert_states_close


def test_locked_dropout_drops_the_same_features_at_every_step():
    torch.manual_seed(0)
    x = torch.rand(3, 7, 40) + 0.5  # no zeros of its own
    out = LockedDropout(0.5).train()(x)
    ratio = out / x
    # one mask per sequence: each (sequence, feature) is 0 or 2 at every step alike
    assert torch.equal(ratio, ratio[:, :1].expand_as(ratio))
    values = set(ratio.unique().tolist())
    assert values == {0.0, 2.0}


def test_locked_dropout_is_the_identity_in_eval_and_at_zero():
    x = torch.randn(2, 5, 8)
    assert torch.equal(LockedDropout(0.5).eval()(x), x)
    assert torch.equal(LockedDropout(0.0).train()(x), x)
    with pytest.raises(ValueError, match=r"LockedDropout: p must be in \[0, 1\)"):
        LockedDropout(1.0)


def test_embedding_dropout_drops_whole_words_and_scales_the_rest():
    torch.manual_seed(0)
    embed = nn.Embedding(50, 6)
    tokens = torch.arange(50).repeat(2).view(4, 25)  # every word twice
    out = embedding_dropout(embed, tokens, 0.5, True)
    dropped = kept = 0
    for word in range(50):
        rows = out[tokens == word]
        if torch.equal(rows, torch.zeros_like(rows)):
            dropped += 1
        else:
            kept += 1
            expected = (embed.weight[word] / 0.5).expand_as(rows)
            torch.testing.assert_close(rows, expected)  # every occurrence kept, scaled 1/(1-p)
    assert dropped > 0 and kept > 0


def test_embedding_dropout_is_a_plain_lookup_in_eval():
    embed = nn.Embedding(10, 4)
    tokens = torch.tensor([[1, 2, 3], [4, 5, 6]])
    assert torch.equal(embedding_dropout(embed, tokens, 0.5, False), embed(tokens))
    assert torch.equal(embedding_dropout(embed, tokens, 0.0, True), embed(tokens))


def _spy(monkeypatch) -> dict:
    """Record the weights WeightDrop swaps in for its call."""
    seen: dict = {}
    real = torch.func.functional_call

    def record(module, params, args, kwargs=None):
        seen.update({n: t.detach().clone() for n, t in params.items()})
        return real(module, params, args, kwargs)

    monkeypatch.setattr(torch.func, "functional_call", record)
    return seen


def test_weight_drop_runs_the_layer_with_dropped_recurrent_weights(monkeypatch):
    torch.manual_seed(0)
    layer = rnnkit.LSTM(4, 6, num_layers=2)
    before = {n: p.detach().clone() for n, p in layer.named_parameters()}
    drop = WeightDrop(layer, p=0.5).train()
    seen = _spy(monkeypatch)
    x = torch.randn(2, 3, 4)
    out, _ = drop(x)

    assert sorted(seen) == ["weight_hh_l0", "weight_hh_l1"]
    for name, w in seen.items():
        ratio = w / before[name]
        assert set(ratio.unique().tolist()) == {0.0, 2.0}, name  # DropConnect, scaled by 2
    # the same forward as torch.nn.LSTM with those recurrent weights
    reference = nn.LSTM(4, 6, num_layers=2, batch_first=True)
    reference.load_state_dict({**before, **seen})
    assert_states_close(out, reference(x)[0])
    assert not torch.allclose(out, layer(x)[0])
    # the layer's own parameters are untouched
    for name, p in layer.named_parameters():
        assert torch.equal(p, before[name]), name


def test_weight_drop_is_the_layer_itself_in_eval():
    layer = rnnkit.GRU(4, 6)
    drop = WeightDrop(layer, p=0.5).eval()
    x = torch.randn(2, 3, 4)
    assert torch.equal(drop(x)[0], layer(x)[0])
    with pytest.raises(ValueError, match="has no weight_hh parameters"):
        WeightDrop(nn.Linear(3, 3), p=0.5)
