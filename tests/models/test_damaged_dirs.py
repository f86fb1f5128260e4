"""Damaged model directories are refused with a message naming the file and the problem."""

import json
import shutil
import string
from pathlib import Path

import pytest
import torch

from rnnkit.data.tokenizers import CharTokenizer
from rnnkit.errors import ModelFileError, OutputError, TrainingDiverged
from rnnkit.models import LanguageModel
from rnnkit.models.io import load_model_dir, save_model_dir

TEXT = "the quick brown fox jumps over the lazy dog\n" * 4


def _save(root: Path) -> Path:
    tok = CharTokenizer.train(TEXT)
    model = LanguageModel(vocab_size=tok.vocab_size, embedding_size=4, hidden_size=6)
    save_model_dir(root, model, tok, {"task": "lm"})
    return root / "model"


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return _save(tmp_path / "run")


def _edit_config(model_dir: Path, change) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    change(config)
    (model_dir / "config.json").write_text(json.dumps(config))


def _truncate(d):
    path = d / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-7])


def _flip(d):
    data = bytearray((d / "model.safetensors").read_bytes())
    data[-3] ^= 0x10  # a bit of the last weight: safetensors itself cannot notice
    (d / "model.safetensors").write_bytes(bytes(data))


def _newer(d):
    _edit_config(d, lambda c: c.update(rnnkit_version="99.0.0"))


def _other_tokenizer(d):
    CharTokenizer.train(string.printable).save(d)  # more ids than the model has rows
    (d / "manifest.json").unlink()  # as if copied in by hand from another model


DAMAGE = {
    "truncated weights": (_truncate, "model.safetensors: truncated"),
    "flipped bit": (_flip, "model.safetensors: damaged (its SHA-256 differs"),
    "missing config": (lambda d: (d / "config.json").unlink(), "no model here"),
    "malformed config": (
        lambda d: (d / "config.json").write_text('{"model_type": "lm",\n  "model": {,}}'),
        "config.json: line 2: not valid JSON",
    ),
    "config not an object": (lambda d: (d / "config.json").write_text("[1]"), "a JSON object"),
    "newer rnnkit": (_newer, "written by rnnkit 99.0.0, newer than this rnnkit"),
    "missing weights": (lambda d: (d / "model.safetensors").unlink(), "model.safetensors: missing"),
    "tokenizer of another model": (_other_tokenizer, "ids, but the model"),
    "garbage manifest": (lambda d: (d / "manifest.json").write_text("{"), "damaged manifest"),
}


@pytest.mark.parametrize("name", list(DAMAGE))
def test_damage_is_refused_naming_file_and_problem(model_dir, name):
    damage, message = DAMAGE[name]
    damage(model_dir)
    with pytest.raises(ModelFileError, match=message.replace("(", r"\(")):
        load_model_dir(model_dir.parent)


def test_truncated_weights_without_a_manifest_are_still_refused(model_dir):
    (model_dir / "manifest.json").unlink()
    _truncate(model_dir)
    with pytest.raises(ModelFileError, match=r"model\.safetensors: damaged or not a safetensors"):
        load_model_dir(model_dir)


def test_a_save_killed_between_its_renames_is_recovered(model_dir):
    model_dir.rename(model_dir.with_name(".model.old"))  # the new one never arrived
    _, tok, meta = load_model_dir(model_dir.parent)
    assert meta == {"task": "lm"} and tok is not None and model_dir.is_dir()


def test_non_finite_weights_are_never_saved(model_dir):
    before = (model_dir / "model.safetensors").read_bytes()
    model, tok, _ = load_model_dir(model_dir)
    with torch.no_grad():
        next(model.parameters())[0] = float("nan")
    with pytest.raises(TrainingDiverged, match="is not finite"):
        save_model_dir(model_dir.parent, model, tok)
    assert (model_dir / "model.safetensors").read_bytes() == before


def test_unwritable_directory_is_an_output_error_and_keeps_the_old_model(model_dir, tmp_path):
    model, tok, _ = load_model_dir(model_dir)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OutputError, match="could not write the model"):
        save_model_dir(blocker / "run", model, tok)
    shutil.copytree(model_dir, tmp_path / "copy")
    load_model_dir(tmp_path / "copy")
