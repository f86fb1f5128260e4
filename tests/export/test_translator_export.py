"""Translator graphs: the encoder's memory and first state and each decoder step's logits equal
the PyTorch model's (attention kinds, input feeding, bridges; padded sources at two batch
sizes), and an exported translator translates and scores as the model it came from."""

import pytest
import torch

from rnnkit.export import to_onnx
from rnnkit.export.recurrent import ExportError
from rnnkit.export.translator import translator_export
from rnnkit.models import Seq2Seq
from tests.export.test_export_commands import cli

CONFIGS = [
    {"attention": "general"},
    {"attention": "additive", "cell": "gru", "decoder_layers": 1},
    {"attention": "dot", "bidirectional": False, "input_feeding": False},
    {"attention": "none", "bidirectional": False, "cell": "rnn"},
    {"attention": "general", "copy": True, "coverage": True, "shared": True},
    {"attention": "additive", "copy": True, "input_feeding": False, "shared": True},
]


def _runtime(model, tmp_path):
    import json

    from rnnkit.export.translator_runtime import OnnxSeq2Seq

    graphs, info = translator_export(model)
    for name, graph in graphs.items():
        (tmp_path / name).write_bytes(graph.SerializeToString())
    config = {"model": model.get_config(), "export": json.loads(json.dumps(info))}
    return OnnxSeq2Seq(tmp_path, config)


@pytest.mark.parametrize("options", CONFIGS)
@pytest.mark.parametrize("batch", [1, 3])
def test_decoder_steps_match(options, batch, tmp_path):
    options = dict(options)
    target_size = 17 if options.pop("shared", False) else 13  # copying: one vocabulary
    model = Seq2Seq(17, target_size, embedding_size=6, hidden_size=8, attention_size=5,
                    **options).eval()  # fmt: skip
    if model.config.copy:
        with torch.no_grad():  # a gate far from 1/2, so copying weighs in the mixture
            model.decoder.gate.linear.bias.fill_(-1.0)
    onnx_model = _runtime(model, tmp_path)
    source = torch.randint(2, 17, (batch, 6))
    lengths = torch.tensor([6, 2, 4][:batch])
    targets = torch.randint(2, 13, (batch, 4))
    with torch.no_grad():
        want, got = model.encode(source, lengths), onnx_model.encode(source, lengths)
        tokens = model.first_tokens(batch)
        for t in range(targets.shape[1]):
            logits_want, want = model.step(tokens, want)
            logits_got, got = onnx_model.step(tokens, got)
            torch.testing.assert_close(logits_got, logits_want, atol=1e-4, rtol=0)
            tokens = targets[:, t]


def test_copying_with_separate_vocabularies_refused():
    model = Seq2Seq(17, 13, embedding_size=6, hidden_size=8, copy=True)
    with pytest.raises(ExportError, match="separate source and target vocabularies"):
        translator_export(model)


def test_exported_translator_commands(runs, tmp_path):
    out = to_onnx(runs["translate"], tmp_path / "translate-onnx")
    data = str(runs["translate"].parent / "translate.tsv")
    for command in (["translate", "--input", data, "--beam", "2", "--n-best", "2"],
                    ["evaluate", "--data", data, "--beam", "2", "--json"]):  # fmt: skip
        code, got, err = cli(command[0], str(out), *command[1:])
        assert code == 0, err
        want = cli(command[0], str(runs["translate"]), *command[1:])[1]
        if command[0] == "evaluate":
            assert got == want
            continue
        # n-best lines "index<TAB>score<TAB>text": the same hypotheses; the scores, printed to
        # four decimals, may round apart where the graph's sums differ in the last float bits
        rows = [line.split("\t") for line in got.splitlines()]
        expected = [line.split("\t") for line in want.splitlines()]
        assert [(r[0], r[2]) for r in rows] == [(r[0], r[2]) for r in expected]
        assert [float(r[1]) for r in rows] == pytest.approx([float(r[1]) for r in expected],
                                                            abs=2e-4)  # fmt: skip
