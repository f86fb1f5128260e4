"""Language model graphs: logits and states equal the PyTorch model's for every exported cell,
at two batch sizes and two lengths with padding, and the step graph equals ``model.step``."""

import numpy as np
import onnxruntime as ort
import pytest
import torch

from rnnkit.export.lm import lm_graphs
from rnnkit.models import LanguageModel

pytestmark = pytest.mark.filterwarnings("ignore::rnnkit.FusedPathWarning")

CONFIGS = [
    ("lstm", {}),
    ("lstm", {"peephole": True}),
    ("lstm", {"num_layers": 2, "bidirectional": True}),
    ("gru", {}),
    ("gru", {"reset_after": False}),
    ("rnn", {"activation": "relu"}),
    ("lstm", {"recurrent_activation": "hard_sigmoid"}),
]


def _sessions(model):
    graphs = lm_graphs(model)
    return [
        ort.InferenceSession(graphs[n].SerializeToString()) for n in ("model.onnx", "step.onnx")
    ]


def _model(cell, options, vocab=13):
    sizes = dict(embedding_size=6, hidden_size=8, num_layers=2, tie_weights=False)
    return LanguageModel(vocab, cell=cell, cell_options=options, init_range=None, **sizes).eval()


def _flat(state):
    return [t for layer in state for t in (layer if isinstance(layer, tuple) else (layer,))]


@pytest.mark.parametrize(("cell", "options"), CONFIGS)
@pytest.mark.parametrize(("batch", "length"), [(1, 5), (4, 9)])
def test_sequence_graph_matches_padded(cell, options, batch, length):
    model = _model(cell, options)
    sequence, _ = _sessions(model)
    ids = torch.randint(13, (batch, length))
    lengths = torch.tensor([length, *torch.randint(1, length + 1, (batch - 1,)).tolist()])
    out = sequence.run(None, {"input_ids": ids.numpy(), "lengths": lengths.numpy()})
    for i in range(batch):
        n = int(lengths[i])
        with torch.no_grad():
            logits, state = model(ids[i : i + 1, :n])
        np.testing.assert_allclose(out[0][i, :n], logits[0].numpy(), atol=1e-4, rtol=0)
        for got, want in zip(out[1:], _flat(state)):  # the state at each sequence's own end
            np.testing.assert_allclose(got[:, i], want[:, 0].numpy(), atol=1e-4, rtol=0)


@pytest.mark.parametrize(("cell", "options"), CONFIGS[:4])
def test_step_graph_matches_model_step(cell, options):
    model = _model(cell, options)
    _, step = _sessions(model)
    ids = torch.randint(13, (3, 6))
    feed = {i.name: np.zeros([3 if not isinstance(d, int) else d for d in i.shape], np.float32)
            for i in step.get_inputs() if i.name != "input_ids"}  # fmt: skip
    state = None
    for t in range(ids.shape[1]):
        out = step.run(None, {"input_ids": ids[:, t].numpy(), **feed})
        with torch.no_grad():
            logits, state = model.step(ids[:, t], state)
        np.testing.assert_allclose(out[0], logits.numpy(), atol=1e-4, rtol=0)
        names = [o.name.replace("new_", "") for o in step.get_outputs()[1:]]
        feed = dict(zip(names, out[1:]))
