"""Summarization from the command line: train summarize, summarize, evaluate, errors."""

import io
import json
from pathlib import Path

import pytest

from rnnkit.cli.main import main
from tests.tasks.test_summarize import _write

TINY = ["--model.type=extractive", "--model.embedding_size=16", "--model.hidden_size=16",
        "--model.position_size=4", "--model.dropout=0.0", "--trainer.batch_size=8",
        "--trainer.lr=0.01", "--trainer.max_epochs=4", "--trainer.log_every=1000",
        "--seed=1"]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("summarize_cli")
    train, dev = _write(root / "train.jsonl", 80, 0), _write(root / "dev.jsonl", 20, 1)
    code = main(["train", "summarize", "--data", str(train), "--valid", str(dev),
                 "--summary-key", "headline", "--out", str(root / "run"), *TINY])  # fmt: skip
    assert code == 0
    return root / "run", _write(root / "test.jsonl", 12, 2)


def test_evaluate_json_has_rouge_and_baselines(trained, capsys):
    run, test = trained
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(test), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert {"rouge1", "rouge2", "rougeL", "lead", "oracle"} <= set(metrics)
    assert metrics["rouge1"] == metrics["oracle"]["rouge1"] > metrics["lead"]["rouge1"]
    assert main(["evaluate", str(run), "--data", str(test), "--max-sentences", "2"]) == 0
    assert "at 2 sentence(s)" in capsys.readouterr().out


def test_summarize_stdin_one_json_line_per_document(trained, capsys, monkeypatch):
    run, test = trained
    lines = test.read_text().splitlines()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("\n".join(lines).encode())))
    capsys.readouterr()
    assert main(["summarize", str(run), "--input", "-", "--max-sentences", "2"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(out) == len(lines)
    for row, line in zip(out, lines):
        text = json.loads(line)["text"]
        assert "moved today." in row["summary"]
        first, second = row["summary"].split(". ", 1)  # two sentences, in document order
        assert text.index(first) < text.index(second)


def test_errors_name_the_problem(trained, tmp_path, capsys):
    run, _ = trained
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "One. Two."}\n{"txt": "x"}\n')
    assert main(["summarize", str(run), "--input", str(bad)]) == 1
    assert 'bad.jsonl:2: missing "text"' in capsys.readouterr().err
    assert main(["summarize", str(run), "--input", str(bad), "--max-words", "0"]) == 2
    assert "argument --max-words: must be >= 1, got 0" in capsys.readouterr().err
    assert main(["summarize", str(run), "--input", str(bad), "--text-key", "txt"]) == 1
    assert 'bad.jsonl:1: missing "txt"' in capsys.readouterr().err
