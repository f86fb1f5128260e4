"""biLM from the command line: train bilm, evaluate, embed (stdin, files, layers), and a tagger
trained with the biLM's vectors."""

import io
import json
from pathlib import Path

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.tasks.embed import read_embeddings
from tests.tasks.test_bilm import TAGS, _lines

TINY = ["--model.embedding_size=8", "--model.hidden_size=8", "--trainer.max_steps=20",
        "--trainer.batch_size=8", "--trainer.lr=0.01", "--trainer.log_every=1000",
        "--data.max_length=8", "--seed=1"]  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bilm_cli")
    (root / "text.txt").write_text("\n".join(_lines(80, 0)) + "\n")
    assert main(["train", "bilm", "--data", str(root / "text.txt"), "--out", str(root / "run"),
                 *TINY]) == 0  # fmt: skip
    return root / "run"


def test_evaluate_reports_perplexity(run, capsys):
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(run.parent / "text.txt"), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert set(metrics) == {"perplexity", "loss", "tokens"} and metrics["perplexity"] > 1


def test_embed_stdin_json_keeps_lines_aligned(run, capsys, monkeypatch):
    text = "the cat sat on the mat\n\na dog ran\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    capsys.readouterr()
    assert main(["embed", str(run), "--input", "-", "--layer", "1"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["tokens"] for r in rows] == [text.split("\n")[0].split(), [], ["a", "dog", "ran"]]
    assert np.asarray(rows[0]["vectors"]).shape == (6, 16) and rows[1]["vectors"] == []


@pytest.mark.parametrize("suffix", [".npz", ".npy", ".safetensors"])
def test_embed_to_files_reads_back(run, tmp_path, suffix):
    lines = tmp_path / "in.txt"
    lines.write_text("the cat sat\na dog ran by the mat\n")
    out = tmp_path / f"vectors{suffix}"
    assert main(["embed", str(run), "--input", str(lines), "--mix", "--output", str(out)]) == 0
    assert [v.shape for v in read_embeddings(out)] == [(3, 16), (6, 16)]


def test_embed_errors(run, tmp_path, capsys):
    lines = tmp_path / "in.txt"
    lines.write_text("the cat\n")
    assert main(["embed", str(run), "--input", str(lines), "--layer", "9"]) == 2
    assert "rnnkit embed:" in capsys.readouterr().err
    assert main(["embed", str(tmp_path / "nothing"), "--input", str(lines)]) == 1


def test_tagger_with_bilm_features_from_the_cli(run, tmp_path, capsys):
    sentences = ["\n".join(f"{w}\t{TAGS[w]}" for w in line.split()) for line in _lines(40, 3)]
    conll = tmp_path / "train.conll"
    conll.write_text("\n\n".join(sentences) + "\n")
    args = ["train", "tag", "--data", str(conll), "--out", str(tmp_path / "tag"),
            f"--data.bilm={run}", "--model.embedding_size=8", "--model.hidden_size=8",
            "--trainer.max_epochs=2", "--trainer.log_every=1000"]  # fmt: skip
    assert main(args) == 0
    assert main([*args[:-4], "--model.bilm_config={}", "--overwrite"]) == 2
    assert "model.bilm_config is set from the data" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "tag"), "--data", str(conll), "--json"]) == 0
