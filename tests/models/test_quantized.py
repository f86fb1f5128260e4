"""int8 weights with per-row scales (per-class for n-gram tables): the error bound, tied tensors,
and a directory round trip."""

import torch

from rnnkit.models import ClassifierEnsemble, LanguageModel
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


def test_ngram_tables_get_one_scale_per_class():
    clf = ClassifierEnsemble(30, ensemble=1, num_classes=3, ngram_buckets=40, linear_weight=1.0,
                             linear_buckets=50, embedding_size=4, hidden_size=5)  # fmt: skip
    for table in (clf.members[0].ngrams.weight, clf.linear.weight):
        with torch.no_grad():
            table.copy_(torch.randn(table.shape) * torch.tensor([0.01, 1.0, 30.0]))
    stored, _ = quantize_state(clf)
    for name, rows in (("members.0.ngrams.weight", 70), ("linear.weight", 80)):
        assert f"int8/{name}" not in stored
        q, scale = stored[f"int8c/{name}"], stored[f"scalec/{name}"]
        assert q.dtype == torch.int8 and q.shape == (rows, 3) and scale.shape == (3,)
        assert q.abs().amax(dim=0).eq(127).all()  # each class uses the full range
    state = dequantize_state(stored, {})
    for name in ("members.0.ngrams.weight", "linear.weight"):
        error = (state[name] - clf.state_dict()[name]).abs()
        assert (error <= stored[f"scalec/{name}"] / 2 + 1e-7).all()
    assert stored["int8/members.0.embed.weight"].dtype == torch.int8  # the rest: a scale per row
    assert stored["linear.idf"].dtype == torch.float32


def test_a_directory_with_row_scaled_ngram_tables_still_loads():
    clf = ClassifierEnsemble(30, ensemble=1, num_classes=2, ngram_buckets=40, linear_weight=1.0,
                             embedding_size=4, hidden_size=5)  # fmt: skip
    with torch.no_grad():
        clf.linear.weight.copy_(torch.randn(clf.linear.weight.shape))
    stored = {}  # as written before n-gram tables had a scale per class: every matrix per row
    for name, tensor in clf.state_dict().items():
        if tensor.dim() == 2 and name.endswith("weight"):
            stored[f"int8/{name}"], stored[f"scale/{name}"] = quantize_rows(tensor)
        else:
            stored[name] = tensor.clone()
    other = ClassifierEnsemble(30, ensemble=1, num_classes=2, ngram_buckets=40, linear_weight=1.0,
                               embedding_size=4, hidden_size=5)  # fmt: skip
    other.load_state_dict(dequantize_state(stored, {}))
    step = clf.linear.weight.abs().amax(dim=1, keepdim=True) / 254 + 1e-7
    assert ((other.linear.weight - clf.linear.weight).abs() <= step).all()
