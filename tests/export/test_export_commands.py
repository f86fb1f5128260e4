"""``rnnkit export`` then the usual commands on the folder: the same greedy text, beam text,
metrics and predictions as the model it came from, run on onnxruntime."""

import io
import json
from contextlib import redirect_stderr, redirect_stdout

import pytest

import rnnkit
from rnnkit.cli.main import main
from rnnkit.export import to_onnx
from rnnkit.export.runtime import OnnxLanguageModel
from tests.tiny_runs import LM_TEXT


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def lm_export(runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "lm-onnx"
    code, text, err = cli("export", str(runs["lm"]), "--format", "onnx", "--out", str(out))
    assert code == 0, err
    assert "model.onnx, step.onnx" in text
    return out


def test_folder_holds_graphs_tokenizer_config(lm_export):
    names = {p.name for p in lm_export.iterdir()}
    assert {"model.onnx", "step.onnx", "tokenizer.json", "config.json", "manifest.json"} <= names
    assert "model.safetensors" not in names
    assert json.loads((lm_export / "config.json").read_text())["export"]["format"] == "onnx"


def test_generation_same_as_pytorch(runs, lm_export):
    native, exported = rnnkit.load(runs["lm"]), rnnkit.load(lm_export)
    assert isinstance(exported.model, OnnxLanguageModel)
    for prompt in ("line 1", "the cat sat on"):
        want = native.generate(prompt, 25, greedy=True)
        got = exported.generate(prompt, 25, greedy=True)
        assert got.tokens == want.tokens
        assert max(abs(a - b) for a, b in zip(got.logprobs, want.logprobs)) < 1e-4
        assert exported.generate(prompt, 12, beam=3).tokens == native.generate(
            prompt, 12, beam=3).tokens  # fmt: skip
        sampled = dict(temperature=0.9, top_k=5, seed=3)
        assert exported.generate(prompt, 20, **sampled).text == native.generate(
            prompt, 20, **sampled).text  # fmt: skip


def test_generate_and_evaluate_commands(runs, lm_export, tmp_path):
    args = ["--prompt", "line", "--max-tokens", "20", "--greedy"]
    assert cli("generate", str(lm_export), *args)[:2] == cli("generate", str(runs["lm"]), *args)[:2]
    data = tmp_path / "held.txt"
    data.write_text(LM_TEXT[:600])
    got = json.loads(cli("evaluate", str(lm_export), "--data", str(data), "--json")[1])
    want = json.loads(cli("evaluate", str(runs["lm"]), "--data", str(data), "--json")[1])
    assert got["tokens"] == want["tokens"]
    assert got["perplexity"] == pytest.approx(want["perplexity"], rel=1e-4)


def test_classifier_predict_and_evaluate(runs, tmp_path):
    out = to_onnx(runs["classify"], tmp_path / "clf-onnx")
    data = str(runs["classify"].parent / "classify.tsv")
    code, got, err = cli("predict", str(out), "--data", data)
    assert code == 0, err
    assert got == cli("predict", str(runs["classify"]), "--data", data)[1]
    got = json.loads(cli("evaluate", str(out), "--data", data, "--json")[1])
    want = json.loads(cli("evaluate", str(runs["classify"]), "--data", data, "--json")[1])
    assert len(want.pop("member_accuracy")) == 5  # the default is an ensemble of five and a
    assert want.pop("linear_accuracy") >= 0.9  # linear model, which the export runs as one
    assert got == want  # graph: its members are not scored alone
    native, exported = rnnkit.load(runs["classify"]), rnnkit.load(out)
    texts = ["the film was superb", "dull", "a plot and the film was awful and bad"]
    for a, b in zip(native.classify(texts, batch_size=2), exported.classify(texts, batch_size=3)):
        assert a.labels == b.labels
        assert max(abs(a.probabilities[k] - b.probabilities[k]) for k in a.probabilities) < 1e-4


def test_unexported_task_and_existing_out_refused(runs, lm_export):
    code, _, err = cli("export", str(runs["bilm"]), "--out", str(lm_export.parent / "t"))
    assert code == 1 and "'bilm' model is not exported" in err
    code, _, err = cli("export", str(runs["lm"]), "--out", str(lm_export))
    assert code == 1 and "already exists" in err and "Traceback" not in err


def test_runtime_option(runs, lm_export):
    args = ["--prompt", "line", "--max-tokens", "15", "--greedy"]
    native = cli("generate", str(runs["lm"]), *args)
    assert cli("generate", str(runs["lm"]), *args, "--runtime", "onnxruntime")[:2] == native[:2]
    code, _, err = cli("generate", str(lm_export), *args, "--runtime", "torch")
    assert code == 2 and "runs on onnxruntime only" in err
