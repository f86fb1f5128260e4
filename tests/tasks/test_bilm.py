"""biLM recipe: train on text, embed lines, write vectors; taggers and classifiers that use it
train, save, and load and predict without the biLM's own directory."""

import io
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.tasks.bilm import (
    BiLMDataConfig,
    embed_texts,
    evaluate_bilm,
    load_bilm,
    read_sentences,
    text_tokens,
    train_bilm,
)
from rnnkit.tasks.classify import ClassifyDataConfig, predict_classifier, train_classifier
from rnnkit.tasks.embed import read_embeddings, write_embeddings
from rnnkit.tasks.tag import TagDataConfig, load_tagger, predict_tagger, train_tagger
from rnnkit.training import TrainerConfig

TAGS = {"the": "DT", "a": "DT", "cat": "NN", "dog": "NN", "mat": "NN", "sat": "VBD",
        "ran": "VBD", "on": "IN", "by": "IN"}  # fmt: skip
TINY = {"embedding_size": 8, "hidden_size": 8}


def _lines(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = (["the", "a"], ["cat", "dog"], ["sat", "ran"], ["on", "by"])
    return [" ".join([*(rng.choice(w) for w in words), "the", "mat"]) for _ in range(n)]


def _trainer(steps: int) -> TrainerConfig:
    return TrainerConfig(max_steps=steps, batch_size=8, lr=1e-2, progress=False, log_every=1000)


@pytest.fixture(scope="module")
def bilm_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bilm")
    (root / "text.txt").write_text("\n".join(_lines(80, 0)) + "\n")
    data = BiLMDataConfig(data=str(root / "text.txt"), max_length=4)
    train_bilm(data, {**TINY, "input": "char", "char_hidden_size": 8}, _trainer(20), root / "run")
    return root / "run"


def test_training_writes_a_loadable_biLM(bilm_dir):
    model, vocab, cfg = load_bilm(bilm_dir)
    assert model.config.input == "char" and vocab.chars is not None and cfg.max_length == 4
    text = bilm_dir.parent / "text.txt"
    assert all(len(s) <= 4 for s in read_sentences(text, cfg))  # lines cut into chunks
    metrics = evaluate_bilm(bilm_dir, text)
    assert metrics["perplexity"] < len(vocab.words) and metrics["tokens"] > 0


def test_embed_texts_layers_and_independence(bilm_dir):
    lines = ["the cat sat on the mat", "", "a dog ran"]
    top = embed_texts(bilm_dir, lines)
    assert [v.shape for v in top] == [(6, 16), (0, 16), (3, 16)] and top[0].dtype == np.float32
    for i, line in enumerate(lines):  # the same vectors alone as beside other lines
        np.testing.assert_allclose(embed_texts(bilm_dir, [line])[0], top[i], atol=1e-6)
    layer0, mixed = embed_texts(bilm_dir, lines, layer=0), embed_texts(bilm_dir, lines, mix=True)
    np.testing.assert_allclose(layer0[0][:, :8], layer0[0][:, 8:])
    assert not np.allclose(mixed[0], top[0])
    assert text_tokens(bilm_dir, lines)[2] == ["a", "dog", "ran"]
    with pytest.raises(ValueError, match="not both"):
        embed_texts(bilm_dir, lines, layer=1, mix=True)


@pytest.mark.parametrize("fmt", ["npz", "npy", "safetensors", "jsonl"])
def test_write_and_read_embeddings(fmt, tmp_path):
    vectors = [np.arange(12, dtype=np.float32).reshape(4, 3), np.ones((2, 3), np.float32)]
    path = tmp_path / f"out.{fmt}"
    write_embeddings(vectors, path, tokens=[list("abcd"), ["x", "y"]])
    back = read_embeddings(path)
    assert len(back) == 2 and all(np.array_equal(a, b) for a, b in zip(back, vectors))
    if fmt == "npz":
        with np.load(path, allow_pickle=False) as z:
            assert z["vectors"].shape == (6, 3) and z["offsets"].tolist() == [0, 4, 6]


def test_write_embeddings_to_a_stream_is_json_lines():
    stream = io.StringIO()
    write_embeddings([np.zeros((1, 2), np.float32)], stream, tokens=[["hi"]])
    assert json.loads(stream.getvalue()) == {"tokens": ["hi"], "vectors": [[0.0, 0.0]]}
    with pytest.raises(ValueError, match="binary format"):
        write_embeddings([], io.StringIO(), fmt="npz")


def test_tagger_with_biLM_features_stands_alone(bilm_dir, tmp_path, capsys):
    lines = _lines(40, 1)
    conll = "\n\n".join("\n".join(f"{w}\t{TAGS[w]}" for w in line.split()) for line in lines)
    (tmp_path / "train.conll").write_text(conll + "\n")
    bilm_copy = tmp_path / "bilm"
    shutil.copytree(bilm_dir, bilm_copy)
    data = TagDataConfig(data=str(tmp_path / "train.conll"), bilm=str(bilm_copy))
    train_tagger(data, {**TINY, "bilm_mode": "layer", "bilm_layer": 1}, _trainer(4), tmp_path / "t")
    shutil.rmtree(bilm_copy)  # the tagger carries the biLM's weights and tables itself
    model, encoder = load_tagger(tmp_path / "t")
    assert model.bilm is not None and model.bilm.layer == 1 and encoder.bilm is not None
    sentences, tags = predict_tagger(tmp_path / "t", tmp_path / "train.conll")
    assert [len(t) for t in tags] == [len(s.tokens) for s in sentences]
    assert main(["evaluate", str(tmp_path / "t"), "--data", str(tmp_path / "train.conll"),
                 "--json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["tokens"] == 240


def test_classifier_with_biLM_features_stands_alone(bilm_dir, tmp_path):
    rows = [f"{'pos' if 'cat' in line else 'neg'}\t{line}" for line in _lines(40, 2)]
    (tmp_path / "train.tsv").write_text("\n".join(rows) + "\n")
    bilm_copy = tmp_path / "bilm"
    shutil.copytree(bilm_dir, bilm_copy)
    data = ClassifyDataConfig(data=str(tmp_path / "train.tsv"), bilm=str(bilm_copy))
    train_classifier(data, {**TINY, "bilm_finetune": True}, _trainer(4), tmp_path / "c")
    shutil.rmtree(bilm_copy)
    labels = predict_classifier(tmp_path / "c", tmp_path / "train.tsv")
    assert len(labels) == 40 and {x[0] for x in labels} <= {"pos", "neg"}


def test_evaluate_bilm_refuses_an_empty_text_by_name(bilm_dir, tmp_path):
    (tmp_path / "empty.txt").write_text("  \n \t \n")
    with pytest.raises(ValueError, match=r"empty\.txt: the file is empty"):
        evaluate_bilm(bilm_dir, tmp_path / "empty.txt")
