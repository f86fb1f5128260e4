"""Summarizer graph: sentence logits equal SummaRuNNer's (novelty through the Scan, padding
sentences and empty sentences, two batch sizes), and an exported summarizer summarizes and
scores as the model it came from."""

import numpy as np
import onnxruntime as ort
import pytest
import torch

from rnnkit.export import to_onnx
from rnnkit.export.summarizer import summarizer_graph
from rnnkit.models import SummaRuNNer
from tests.export.test_export_commands import cli


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize(("batch", "sentences"), [(1, 3), (3, 6)])
def test_sentence_logits_match(cell, batch, sentences):
    model = SummaRuNNer(30, cell=cell, embedding_size=6, hidden_size=5, position_size=3,
                        max_positions=4, position_bins=3).eval()  # fmt: skip
    graph = ort.InferenceSession(summarizer_graph(model).SerializeToString())
    tokens = torch.randint(1, 30, (batch, sentences, 5))
    sentence_lengths = torch.randint(0, 6, (batch, sentences))
    sentence_lengths[:, 0] = 3
    lengths = torch.tensor([sentences, 2, 4][:batch])
    feed = {"input_ids": tokens.numpy(), "sentence_lengths": sentence_lengths.numpy(),
            "lengths": lengths.numpy()}  # fmt: skip
    got = graph.run(["logits"], feed)[0]
    with torch.no_grad():
        want = model(tokens, sentence_lengths, lengths).numpy()
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    np.testing.assert_allclose(got[np.isfinite(want)], want[np.isfinite(want)], atol=1e-5)


def test_exported_summarizer_commands(runs, tmp_path):
    out = to_onnx(runs["summarize"], tmp_path / "summarize-onnx")
    data = str(runs["summarize"].parent / "summarize.jsonl")
    for command in (["summarize", "--input", data], ["evaluate", "--data", data, "--json"]):
        code, got, err = cli(command[0], str(out), *command[1:])
        assert code == 0, err
        assert got == cli(command[0], str(runs["summarize"]), *command[1:])[1]
