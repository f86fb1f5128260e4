"""``rnnkit import keras``: a Keras classifier becomes a model directory that predict reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("h5py")

from rnnkit.cli.main import main
from rnnkit.models.io import load_model_dir

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "keras"
WORDS = ["", "[UNK]", *"abcdefghij"]  # Keras ids 0..11: padding, unknown, ten words


def _import(tmp_path: Path, name: str, labels: str, version: str = "k3") -> int:
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(WORDS) + "\n")
    args = ["import", "keras", str(ROOT / version / f"{name}.h5"), "--task", "classify"]
    return main([*args, "--tokenizer", str(vocab), "--labels", labels, "--out", str(tmp_path)])


@pytest.mark.parametrize("version", ["k3", "k2"])
def test_classifier_directory_matches_keras(tmp_path: Path, version: str) -> None:
    assert _import(tmp_path, "classify_lstm", "neg,neu,pos", version) == 0
    model, tokenizer, meta = load_model_dir(tmp_path)
    assert meta["task"] == "classify" and tokenizer.token_to_id("c") == 4
    data = np.load(ROOT / version / "classify_lstm.io.npz")
    keras_ids, want = data["inputs"][:2], data["output_0"][:2]  # the full and end-padded rows
    ids = torch.from_numpy(keras_ids).long()
    ids = torch.where(ids == 1, 0, ids)  # Keras' unknown-word id 1 is rnnkit's <unk>, 0
    with torch.no_grad():
        probs = torch.softmax(model(ids, torch.tensor([7, 3])), dim=-1)
    np.testing.assert_allclose(probs.numpy(), want, atol=1e-5, rtol=0)


def test_predict_reads_the_directory(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert _import(tmp_path, "classify_lstm", "neg,neu,pos") == 0
    texts = tmp_path / "texts.txt"
    texts.write_text("c e g b i\nzzz a\n")
    capsys.readouterr()
    assert main(["predict", str(tmp_path), "--data", str(texts), "--format", "text"]) == 0
    lines = capsys.readouterr().out.split()
    assert len(lines) == 2 and set(lines) <= {"neg", "neu", "pos"}


def test_two_output_model_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert _import(tmp_path, "bi_none", "a,b") == 2
    err = capsys.readouterr().err
    assert "rnnkit import: a task model has one output" in err and "Traceback" not in err


def test_mixed_cells_refused(tmp_path: Path, capsys) -> None:
    assert _import(tmp_path, "bi_merges", "a,b") == 2
    assert "the recurrent layers mix cell classes" in capsys.readouterr().err


def test_a_vocabulary_that_is_not_utf8_names_its_line(tmp_path: Path, capsys) -> None:
    vocab = tmp_path / "vocab.txt"
    vocab.write_bytes(b"\na\ncaf\xe9\n")
    keras = str(ROOT / "k3" / "classify_lstm.keras")
    argv = ["import", "keras", keras, "--task", "classify", "--tokenizer", str(vocab)]
    assert main([*argv, "--labels", "neg,neu,pos", "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"{vocab}:3: " in err and "UTF-8" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_label_count_checked(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert _import(tmp_path, "classify_lstm", "neg,pos") == 2
    assert "--labels names 2 classes, the model has 3" in capsys.readouterr().err


def _import_task(tmp_path: Path, name: str, task: str, *extra: str) -> int:
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(WORDS) + "\n")
    args = ["import", "keras", str(ROOT / "k3" / f"{name}.keras"), "--task", task]
    return main([*args, "--tokenizer", str(vocab), "--out", str(tmp_path), *extra])


def test_tagger_directory_matches_keras(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert _import_task(tmp_path, "tag_bigru", "tag", "--labels", "O,B,I,E,S") == 0
    model, _, _ = load_model_dir(tmp_path)
    data = np.load(ROOT / "k3" / "tag_bigru.io.npz")
    ids = torch.from_numpy(data["inputs"][:2]).long()  # the tagger's ids are Keras' ids
    with torch.no_grad():
        probs = torch.softmax(model(ids, torch.tensor([7, 3])), dim=-1).numpy()
    want = data["output_0"][:2]
    np.testing.assert_allclose(probs[0], want[0], atol=1e-5, rtol=0)
    np.testing.assert_allclose(probs[1, :3], want[1, :3], atol=1e-5, rtol=0)
    conll = tmp_path / "in.conll"
    conll.write_text("b\nc\nd\n\ne\n")
    capsys.readouterr()
    assert main(["predict", str(tmp_path), "--data", str(conll)]) == 0
    rows = [r.split() for r in capsys.readouterr().out.strip().split("\n") if r.strip()]
    assert len(rows) == 4 and all(r[-1] in "OBIES" for r in rows)


def test_language_model_directory_matches_keras(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert _import_task(tmp_path, "lm_gru", "lm") == 0
    model, tokenizer, _ = load_model_dir(tmp_path)
    assert tokenizer.id_to_token(0) == "<unk>" and tokenizer.id_to_token(1) == "<eos>"
    data = np.load(ROOT / "k3" / "lm_gru.io.npz")
    keras_ids = torch.from_numpy(data["inputs"]).long()
    ids = torch.where(keras_ids < 2, 1 - keras_ids, keras_ids)  # Keras 0 <-> <eos>, 1 <-> <unk>
    with torch.no_grad():
        probs = torch.softmax(model(ids)[0], dim=-1).numpy()
    columns = [1, 0, *range(2, len(WORDS))]  # rnnkit id j is Keras id columns[j]
    np.testing.assert_allclose(probs, data["output_0"][..., columns], atol=1e-5, rtol=0)
    capsys.readouterr()
    args = ["generate", str(tmp_path), "--prompt", "b c", "--max-tokens", "4", "--seed", "0"]
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("b c")


def test_language_model_shape_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert _import_task(tmp_path, "classify_lstm", "lm") == 2
    err = capsys.readouterr().err
    assert "does not fit rnnkit's language model" in err and "mask_zero=False" in err
