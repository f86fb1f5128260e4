"""PyTorch's own exporter (torch.onnx.export, dynamo) on modules holding rnnkit layers: each
recurrent operator becomes ONNX's LSTM / GRU / RNN, batch and length stay dynamic, and
onnxruntime gives PyTorch's outputs and final states with lengths at other sizes; layers with
no ONNX operator are refused by name."""

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.export import torch_onnx
from rnnkit.export.recurrent import ExportError

pytest.importorskip("onnxscript")
ort = pytest.importorskip("onnxruntime")


class Wrapper(torch.nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x, lengths):
        out, state = self.layer(x, lengths=lengths)
        parts = list(state) if isinstance(state, tuple) else [state]
        return (out, *parts)


def _export(module, *args):
    batch, steps = torch.export.Dim("batch"), torch.export.Dim("steps")
    shapes = ({0: batch, 1: steps}, {0: batch})[: len(args)]
    return torch_onnx(module.eval(), args, dynamic_shapes=shapes, verbose=False)


CASES = {
    "lstm": (lambda: rnnkit.LSTM(6, 10, batch_first=True), "LSTM"),
    "peephole bidirectional stack": (
        lambda: rnnkit.LSTM(
            6, 10, batch_first=True, peephole=True, num_layers=2, bidirectional=True
        ),
        "LSTM",
    ),
    "gru reset after": (lambda: rnnkit.GRU(6, 10, batch_first=True, bidirectional=True), "GRU"),
    "gru reset before": (lambda: rnnkit.GRU(6, 10, batch_first=True, reset_after=False), "GRU"),
    "rnn relu stack": (
        lambda: rnnkit.RNN(6, 10, batch_first=True, nonlinearity="relu", num_layers=2),
        "RNN",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_layers_export_onto_onnx_operators(case):
    make, op = CASES[case]
    torch.manual_seed(0)
    model = Wrapper(make()).eval()
    program = _export(model, torch.randn(3, 5, 6), torch.tensor([5, 3, 2]))
    ops = {node.op_type for node in program.model_proto.graph.node}
    assert op in ops and not ops & {"Loop", "Scan"}
    session = ort.InferenceSession(program.model_proto.SerializeToString())
    names = [i.name for i in session.get_inputs()]
    for n, steps in [(2, 4), (4, 9)]:
        x = torch.randn(n, steps, 6)
        lengths = torch.tensor([steps] + [max(1, steps - 2 - k) for k in range(n - 1)])
        with torch.no_grad():
            want = model(x, lengths)
        got = session.run(None, dict(zip(names, [x.numpy(), lengths.numpy()])))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w.numpy(), atol=1e-5, rtol=1e-5)


def test_language_model_exports_whole():
    torch.manual_seed(0)
    model = rnnkit.models.LanguageModel(20, embedding_size=8, hidden_size=12, num_layers=2)

    class Logits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, tokens):
            return self.model(tokens)[0]

    program = _export(Logits(), torch.randint(20, (2, 7)))
    session = ort.InferenceSession(program.model_proto.SerializeToString())
    tokens = torch.randint(20, (3, 11))
    with torch.no_grad():
        want = model(tokens)[0]
    (got,) = session.run(None, {session.get_inputs()[0].name: tokens.numpy()})
    np.testing.assert_allclose(got, want.numpy(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "layer, words",
    [
        (lambda: rnnkit.LSTM(6, 10, batch_first=True, layer_norm=True), "layer_norm=True"),
        (lambda: rnnkit.MinGRU(6, 10, batch_first=True), "MinGRU"),
    ],
)
def test_layers_without_an_onnx_operator_are_refused(layer, words):
    with pytest.raises(ExportError, match=words):
        _export(Wrapper(layer()), torch.randn(3, 5, 6), torch.tensor([5, 3, 2]))
