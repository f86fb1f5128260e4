"""Tagger graph: emissions equal the PyTorch tagger's (character BiLSTM or CNN, padding at two
batch sizes), and an exported tagger tags and scores as the model it came from."""

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

import rnnkit
from rnnkit.export import to_onnx
from rnnkit.export.tagger import tagger_graph
from rnnkit.models import SequenceTagger
from tests.export.test_export_commands import cli


@pytest.mark.parametrize("options", [{"char_encoder": "lstm"}, {"char_encoder": "cnn"},
                                     {"num_chars": 0, "cell": "gru"}])  # fmt: skip
@pytest.mark.parametrize(("batch", "length"), [(1, 3), (4, 7)])
def test_emissions_match(options, batch, length):
    options = {"num_chars": 12, **options}
    model = SequenceTagger(30, num_tags=5, embedding_size=6, hidden_size=7, char_embedding_size=4,
                           char_hidden_size=3, **options).eval()  # fmt: skip
    graph = ort.InferenceSession(tagger_graph(model).SerializeToString())
    words = torch.randint(2, 30, (batch, length))
    lengths = torch.tensor([length, *torch.randint(1, length + 1, (batch - 1,)).tolist()])
    chars = torch.randint(1, 12, (batch, length, 6))
    char_lengths = torch.randint(1, 7, (batch, length))
    feed = {"input_ids": words.numpy(), "lengths": lengths.numpy()}
    if options["num_chars"]:
        feed.update(char_ids=chars.numpy(), char_lengths=char_lengths.numpy())
    got = graph.run(None, feed)[0]
    for i in range(batch):
        n = int(lengths[i])
        extra = (chars[i : i + 1, :n], char_lengths[i : i + 1, :n]) if options["num_chars"] else ()
        with torch.no_grad():
            want = model(words[i : i + 1, :n], torch.tensor([n]), *extra)
        np.testing.assert_allclose(got[i, :n], want[0].numpy(), atol=1e-5, rtol=0)


def test_exported_tagger_commands(runs, tmp_path):
    out = to_onnx(runs["tag"], tmp_path / "tag-onnx")
    assert "crf" in json.loads((out / "config.json").read_text())["export"]
    data = str(runs["tag"].parent / "tag.conll")
    for command in (["predict", "--data", data], ["evaluate", "--data", data, "--json"]):
        code, got, err = cli(command[0], str(out), *command[1:])
        assert code == 0, err
        assert got == cli(command[0], str(runs["tag"]), *command[1:])[1]
    texts = ["John lives in Paris .", "Mary lives in Rome"]
    assert [t.tags for t in rnnkit.load(out).tag(texts)] == [
        t.tags for t in rnnkit.load(runs["tag"]).tag(texts)]  # fmt: skip
