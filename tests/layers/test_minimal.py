"""MinGRU / MinLSTM: the parallel scan against the equations step by step, lengths, directions,
gradients, long sequences, save/load, and use through ``make_layer`` in the task models."""

import pytest
import torch

from rnnkit import MinGRU, MinLSTM
from rnnkit.layers import make_layer
from rnnkit.layers.minimal import MinRecurrent
from rnnkit.layers.scan import LinearRecurrence, parallel_scan_log
from tests.harness import (
    assert_states_close,
    check_gradcheck,
    check_lengths_match_alone,
    check_save_load,
    check_step_vs_sequence,
    grads_of,
)


def _g(x):
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def reference(layer: MinRecurrent, x, h):
    """The paper's equations written out, one step at a time, in linear space."""
    w, b = layer.linear.weight, layer.linear.bias
    outs = []
    for t in range(x.shape[1]):
        parts = (x[:, t] @ w.T + b).chunk(2 if layer.kind == "gru" else 3, dim=-1)
        if layer.kind == "gru":
            z = torch.sigmoid(parts[0])
            h = (1 - z) * h + z * _g(parts[1])
        else:
            f, i = torch.sigmoid(parts[0]), torch.sigmoid(parts[1])
            h = f / (f + i) * h + i / (f + i) * _g(parts[2])
        outs.append(h)
    return torch.stack(outs, 1)


@pytest.mark.parametrize("scan", ["log", "sequential", "native"])
@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_scan_equals_the_equations_from_any_initial_state(kind, scan):
    torch.manual_seed(0)
    layer = MinRecurrent(kind, 5, 7, scan=scan).double()
    x = torch.randn(3, 11, 5, dtype=torch.double) * 2
    h0 = torch.randn(3, 7, dtype=torch.double)  # negative entries too
    out, h = layer(x, h0[None])
    assert_states_close(out, reference(layer, x, h0), atol=1e-10)
    assert_states_close(h[0], out[:, -1], atol=0)


def test_scan_primitive_matches_a_loop():
    torch.manual_seed(0)
    a, b = torch.rand(2, 9, 4, dtype=torch.double), torch.rand(2, 9, 4, dtype=torch.double)
    h0 = torch.randn(2, 4, dtype=torch.double)
    h, outs = h0, []
    for t in range(9):
        h = a[:, t] * h + b[:, t]
        outs.append(h)
    assert_states_close(parallel_scan_log(a.log(), b.log(), h0), torch.stack(outs, 1), atol=1e-12)
    time_major = LinearRecurrence.apply(a.transpose(0, 1), b.transpose(0, 1), h0)
    assert_states_close(time_major.transpose(0, 1), torch.stack(outs, 1), atol=1e-12)
    inputs = [t.clone().requires_grad_(True) for t in (a.transpose(0, 1), b.transpose(0, 1), h0)]
    assert torch.autograd.gradcheck(LinearRecurrence.apply, inputs)


@pytest.mark.parametrize("scan", ["log", "sequential", "native"])
@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
def test_step_by_step_equals_the_sequence(cls, scan):
    torch.manual_seed(0)
    check_step_vs_sequence(cls(6, 8, num_layers=2, scan=scan), torch.randn(3, 12, 6))


@pytest.mark.parametrize("scan", ["log", "sequential", "native"])
@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_lengths_match_each_sequence_alone(cls, go_backwards, scan):
    torch.manual_seed(0)
    layer = cls(6, 8, num_layers=2, bidirectional=True, go_backwards=go_backwards, scan=scan)
    check_lengths_match_alone(layer, torch.randn(4, 9, 6), [9, 5, 1, 7])


@pytest.mark.parametrize("scan", ["log", "sequential", "native"])
@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
def test_gradcheck_and_scan_gradients_equal_the_step_loop(cls, scan):
    torch.manual_seed(0)
    layer = cls(3, 4, bidirectional=True, scan=scan)
    x = torch.randn(2, 5, 3)
    check_gradcheck(layer, x, lengths=torch.tensor([5, 3]))
    uni = cls(3, 4, scan=scan).double()

    def steps(m, inp):
        state, outs = None, []
        for t in range(inp.shape[1]):
            o, state = m(inp[:, t : t + 1], state)
            outs.append(o)
        return torch.cat(outs, 1)

    xd = x.double()
    for a, b in zip(grads_of(uni, xd, lambda m, i: m(i)[0]), grads_of(uni, xd, steps)):
        assert_states_close(a, b, atol=1e-10)


@pytest.mark.parametrize("scan", ["log", "sequential", "native"])
def test_long_sequences_stay_accurate_in_float32(scan):
    torch.manual_seed(0)
    layer = MinGRU(4, 8, scan=scan)
    x = torch.randn(2, 2000, 4) * 3
    out32, _ = layer(x)
    out64, _ = layer.double()(x.double())
    assert torch.isfinite(out32).all()
    torch.testing.assert_close(out32.double(), out64, atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize("scan", ["log", "sequential", "native"])
def test_min_lstm_stays_finite_when_both_gates_saturate(scan):
    # f and i pre-activations far below zero (both sigmoids underflow in float32, where
    # f / (f + i) is 0/0), and far apart in sign: every path, sequence and step, stays finite
    # and agrees with float64
    torch.manual_seed(0)
    layer = MinLSTM(3, 4, scan=scan)
    with torch.no_grad():  # pre-activations of units 0-2: f, i both low; f low, i high; f high
        linear = layer.stack.layers[0].linear  # rows [f | i | h~], 4 units each
        linear.weight.mul_(20.0)
        linear.bias[[0, 4, 1, 5, 2, 6]] = torch.tensor([-200.0, -200, -200, 200, 200, -200])
    x = torch.randn(2, 6, 3)
    out32, _ = layer(x)
    step32, _ = layer(x[:, :1])
    wide = MinLSTM(3, 4, scan=scan).double()
    wide.load_state_dict(layer.state_dict())
    out64, _ = wide(x.double())
    q = x.double() @ wide.stack.layers[0].linear.weight.T + wide.stack.layers[0].linear.bias
    assert ((q[..., 0] < -110) & (q[..., 4] < -110)).all(), "unit 0's gates are not saturated"
    assert torch.isfinite(out32).all() and torch.isfinite(step32).all()
    torch.testing.assert_close(out32.double(), out64, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(step32.double(), out64[:, :1], atol=1e-4, rtol=1e-4)


def test_save_load_and_make_layer(tmp_path):
    layer = make_layer("mingru", 6, 8, num_layers=2, bidirectional=True)
    assert isinstance(layer, MinGRU) and layer.output_size == 16
    assert layer.backend.kind == "scan" and "(native)" in layer.backend.reason  # CPU, with cc
    assert "(sequential)" in MinGRU(6, 8, scan="sequential").backend.reason
    assert "(log)" in MinGRU(6, 8, scan="log").backend.reason
    with pytest.raises(ValueError, match="scan must be one of"):
        MinGRU(6, 8, scan="parallel")
    check_save_load(layer, torch.randn(2, 7, 6), tmp_path)
    assert isinstance(make_layer("minlstm", 6, 8), MinLSTM)
    with pytest.raises(TypeError):
        make_layer("mingru", 6, 8, peephole=True)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_task_models_run_with_min_cells(cell):
    from rnnkit.models import LanguageModel, Seq2Seq, TextClassifier

    torch.manual_seed(0)
    tokens = torch.randint(2, 20, (3, 6))
    clf = TextClassifier(20, num_classes=2, cell=cell, embedding_size=8, hidden_size=6)
    loss, _ = clf.forward_loss({"tokens": tokens, "lengths": torch.tensor([6, 4, 2]),
                                "labels": torch.tensor([0, 1, 1])})  # fmt: skip
    loss.backward()
    lm = LanguageModel(20, cell=cell, embedding_size=8, hidden_size=8, num_layers=2)
    assert lm(tokens)[0].shape == (3, 6, 20)
    s2s = Seq2Seq(20, 20, cell=cell, embedding_size=8, hidden_size=8)
    batch = {"source": tokens, "source_lengths": torch.tensor([6, 4, 2]), "target_in": tokens,
             "target_out": tokens}  # fmt: skip
    assert torch.isfinite(s2s.forward_loss(batch)[0])  # the decoder's step loop (input feeding)
