"""``rnnkit quantize``: an int8 model directory every command loads, 1/4 of the weight bytes,
results close to the float model; and onnxruntime's dynamic quantization of an export."""

import json

import pytest

import rnnkit
from rnnkit.export import to_onnx
from tests.export.test_export_commands import cli
from tests.tiny_runs import LM_TEXT


def _size(path):
    return sum(p.stat().st_size for p in path.rglob("*.safetensors"))


def test_int8_directory_loads_everywhere(runs, tmp_path):
    out = tmp_path / "lm-int8"
    code, _, err = cli("quantize", str(runs["lm"]), "--out", str(out))
    assert code == 0, err
    config = json.loads((out / "config.json").read_text())
    assert config["quantization"]["granularity"] == "per-output-channel"
    assert _size(out) < 0.45 * _size(runs["lm"])  # tiny model: biases are a large share
    data = tmp_path / "held.txt"
    data.write_text(LM_TEXT[:600])
    got = json.loads(cli("evaluate", str(out), "--data", str(data), "--json")[1])
    want = json.loads(cli("evaluate", str(runs["lm"]), "--data", str(data), "--json")[1])
    assert got["perplexity"] == pytest.approx(want["perplexity"], rel=0.02)
    assert got["perplexity"] != want["perplexity"]  # the weights did change
    assert cli("generate", str(out), "--prompt", "line", "--max-tokens", "5")[0] == 0
    code, _, err = cli("quantize", str(out), "--out", str(tmp_path / "again"))
    assert code == 1 and "already quantized" in err


def test_int8_classifier_predicts(runs, tmp_path):
    out = tmp_path / "clf-int8"
    assert cli("quantize", str(runs["classify"]), "--out", str(out))[0] == 0
    config = json.loads((out / "config.json").read_text())
    assert config["quantization"]["granularity"] == "per-output-channel"
    # int8 for float32, the n-gram tables too (one scale per class: with a scale per row they
    # would keep 3/4 of their bytes); their idf vectors stay float32, half of what is left
    assert _size(out) < 0.6 * _size(runs["classify"] / "model")
    texts = ["the film was superb", "dull and bad"]
    native = rnnkit.load(runs["classify"]).classify(texts)
    quantized = rnnkit.load(out).classify(texts)
    for a, b in zip(native, quantized):
        assert abs(a.probabilities["pos"] - b.probabilities["pos"]) < 0.02
    assert any(a.probabilities != b.probabilities for a, b in zip(native, quantized))


def test_onnxruntime_dynamic_quantization(runs, tmp_path):
    exported = to_onnx(runs["lm"], tmp_path / "lm-onnx")
    out = tmp_path / "lm-onnx-int8"
    code, _, err = cli("quantize", str(exported), "--out", str(out))
    assert code == 0, err
    graph = (out / "step.onnx").read_bytes()
    assert b"DynamicQuantizeLSTM" in graph or b"MatMulInteger" in graph
    a = rnnkit.load(exported).generate("line", 10, greedy=True)
    b = rnnkit.load(out).generate("line", 10, greedy=True)
    assert len(b.tokens) == 10
    assert abs(a.logprobs[0] - b.logprobs[0]) < 0.1  # the first token: the same context
