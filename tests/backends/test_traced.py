"""Traced calls: torch.compile, torch.export, FakeTensors and torch.func take traceable paths
(rnnkit's registered operators, PyTorch's fused op or the generic loop), name them in
``layer.backend``, and give eager's numbers.

Compiling costs seconds per graph on a small CPU, so the configurations here are compiled with
the ``aot_eager`` backend (Dynamo's graph capture and AOTAutograd's forward/backward split, the
parts that meet rnnkit's code) and one representative model with Inductor;
``benchmarks/compat.py`` runs the whole matrix with Inductor.
"""

from __future__ import annotations

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.export import Dim

import rnnkit
from rnnkit.cells import ElmanCell
from rnnkit.models import LanguageModel
from tests.harness import assert_states_close

LENGTHS = torch.tensor([5, 2, 4])

CONFIGS = {
    "lstm-bi2": (lambda: rnnkit.LSTM(4, 6, 2, bidirectional=True), "operator lstm_layer"),
    "lstm-peephole": (lambda: rnnkit.LSTM(4, 6, peephole=True), "operator lstm_layer"),
    "lstm-layernorm": (lambda: rnnkit.LSTM(4, 6, layer_norm=True), "operator ln_lstm_layer"),
    "lstm-proj": (lambda: rnnkit.LSTM(4, 6, proj_size=3), "traced"),
    "gru": (lambda: rnnkit.GRU(4, 6), "operator gru_layer"),
    "gru-reset-before": (lambda: rnnkit.GRU(4, 6, reset_after=False), "operator gru_sequence"),
    "rnn-relu-stacked": (lambda: rnnkit.RNN(4, 6, 2, "relu"), "operator elman_sequence"),
    "mingru-bi": (lambda: rnnkit.MinGRU(4, 6, bidirectional=True), "op, traced"),
    "minlstm": (lambda: rnnkit.MinLSTM(4, 6), "op, traced"),
    "user-cell": (lambda: rnnkit.layers.Recurrent(_SoftsignCell(4, 6)), "generic loop (traced)"),
}  # fmt: skip


class _SoftsignCell(ElmanCell):
    """A user-defined cell: no fused kernel, no operator; the generic loop runs it."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size, activation="softsign")


def _out_and_grads(layer, x, lengths):
    x = x.detach().clone().requires_grad_(True)
    layer.zero_grad(set_to_none=True)
    out, state = layer(x, lengths=lengths)
    loss = out.pow(2).sum() + sum(t.pow(2).sum() for t in _flat(state))
    loss.backward()
    return [out, *_flat(state), x.grad, *[p.grad for p in layer.parameters()]]


def _flat(state):
    if isinstance(state, torch.Tensor):
        return [state]
    return [t for part in state for t in _flat(part)]


#: (configuration, with lengths): every path once, lengths where they take another code path
COMPILED = [("lstm-bi2", True), ("lstm-peephole", False), ("lstm-layernorm", True),
            ("lstm-proj", False), ("gru", False), ("gru-reset-before", True),
            ("rnn-relu-stacked", True), ("mingru-bi", True), ("minlstm", False),
            ("user-cell", True)]  # fmt: skip


@pytest.mark.parametrize(("name", "with_lengths"), COMPILED)
def test_compiled_forward_and_backward_equal_eager(name, with_lengths):
    make, path = CONFIGS[name]
    lengths = LENGTHS if with_lengths else None
    layer = make().train()
    x = torch.randn(3, 5, 4)
    torch._dynamo.reset()
    compiled = torch.compile(layer, backend="aot_eager", dynamic=False)
    got = _out_and_grads(compiled, x, lengths)
    assert path in layer.backend.name, layer.backend
    expected = _out_and_grads(layer, x, lengths)
    assert "traced" not in layer.backend.name and "operator" not in layer.backend.name
    assert_states_close(got, expected, atol=1e-5)


def test_inductor_compiles_a_gru_language_model_training_step():
    torch.manual_seed(0)
    lm = LanguageModel(11, cell="gru", embedding_size=8, hidden_size=8,
                                     num_layers=1, dropout=0.0)  # fmt: skip
    tokens = torch.randint(0, 11, (2, 6))
    torch._dynamo.reset()
    step = torch.compile(lambda t: torch.nn.functional.cross_entropy(
        lm(t[:, :-1])[0].reshape(-1, 11), t[:, 1:].reshape(-1)))  # fmt: skip
    loss = step(tokens)
    loss.backward()
    got = [loss.detach()] + [p.grad.clone() for p in lm.parameters()]
    assert "operator gru_layer" in lm.layers[0].backend.name
    lm.zero_grad()
    ref = torch.nn.functional.cross_entropy(lm(tokens[:, :-1])[0].reshape(-1, 11),
                                            tokens[:, 1:].reshape(-1))  # fmt: skip
    ref.backward()
    assert_states_close(got, [ref.detach()] + [p.grad for p in lm.parameters()], atol=1e-5)


EXPORTED = ["lstm-bi2", "lstm-peephole", "lstm-layernorm", "gru", "gru-reset-before",
            "rnn-relu-stacked", "mingru-bi", "minlstm"]  # fmt: skip


@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("name", EXPORTED)
def test_export_with_dynamic_batch_and_length(name, with_lengths):
    lengths = LENGTHS if with_lengths else None
    layer = CONFIGS[name][0]().eval()
    batch, steps = Dim("batch", min=1, max=64), Dim("steps", min=2, max=4096)
    if lengths is None:
        args, dims = (torch.randn(3, 5, 4),), ({0: batch, 1: steps},)
    else:
        args, dims = (torch.randn(3, 5, 4), None, LENGTHS), ({0: batch, 1: steps}, None, {0: batch})
    program = torch.export.export(layer, args, dynamic_shapes=dims)
    assert "operator" in layer.backend.name or "op, traced" in layer.backend.name
    x = torch.randn(2, 9, 4)  # another batch size and length
    again = (x,) if lengths is None else (x, None, torch.tensor([9, 3]))
    assert_states_close(program.module()(*again), layer(*again))


def test_projected_lstm_exports_with_a_fixed_length_only():
    layer = rnnkit.LSTM(4, 6, proj_size=3).eval()
    program = torch.export.export(layer, (torch.randn(3, 5, 4),),
                                  dynamic_shapes=({0: Dim("batch", min=1, max=64)},))  # fmt: skip
    x = torch.randn(7, 5, 4)
    assert_states_close(program.module()(x), layer(x))


def test_fake_tensors_propagate_shapes():
    layer = rnnkit.GRU(4, 6, num_layers=2, bidirectional=True)
    with FakeTensorMode(allow_non_fake_inputs=True) as mode:
        out, h = layer(mode.from_tensor(torch.randn(3, 7, 4)), lengths=torch.tensor([7, 2, 5]))
    assert out.shape == (3, 7, 12) and h.shape == (4, 3, 6)
    assert "run on fake tensors" in layer.backend.reason


def test_the_native_kernels_never_see_a_traced_call(monkeypatch):
    from rnnkit.kernels import gru_step

    def refuse(*args, **kwargs):
        raise AssertionError("a native kernel ran while traced")

    layer = rnnkit.GRU(4, 6)
    monkeypatch.setattr(gru_step, "forward", refuse)  # the operator's implementation calls it
    with FakeTensorMode(allow_non_fake_inputs=True) as mode:
        out, _ = layer(mode.from_tensor(torch.randn(2, 3, 4)))  # shapes from the fake only
    assert out.shape == (2, 3, 6)
