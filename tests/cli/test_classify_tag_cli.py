"""Classification and tagging from the command line: train, evaluate, predict, errors."""

import io
import json
import random
from pathlib import Path

import pytest

from rnnkit.cli.main import main

POS_WORDS = ["great", "fine", "superb", "lovely", "fun"]
NEG_WORDS = ["awful", "dull", "bad", "boring", "weak"]
FILLER = ["the", "film", "was", "a", "plot", "and", "acting", "truly", "very"]
TINY = ["--model.embedding_size=16", "--model.hidden_size=16", "--trainer.batch_size=8",
        "--trainer.log_every=1000", "--trainer.lr=0.01", "--seed=1"]  # fmt: skip


def _sentences(n, seed):
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        label = rng.choice(["pos", "neg"])
        words = [*rng.sample(FILLER, 4), rng.choice(POS_WORDS if label == "pos" else NEG_WORDS)]
        rng.shuffle(words)
        rows.append((label, " ".join(words)))
    return rows


@pytest.fixture
def tsv(tmp_path: Path) -> tuple[Path, Path]:
    paths = []
    for name, n, seed in (("train", 120, 0), ("dev", 40, 1)):
        path = tmp_path / f"{name}.tsv"
        path.write_text("".join(f"{lab}\t{text}\n" for lab, text in _sentences(n, seed)))
        paths.append(path)
    return paths[0], paths[1]


def test_classify_train_evaluate_predict(tsv, tmp_path, capsys, monkeypatch):
    train, dev = tsv
    out = tmp_path / "clf"
    argv = ["train", "classify", "--data", str(train), "--valid", str(dev), "--out", str(out)]
    assert main([*argv, *TINY, "--trainer.max_epochs=8"]) == 0
    assert "stopped" in capsys.readouterr().out
    assert main(["evaluate", str(out), "--data", str(dev), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert set(metrics) == {"accuracy", "macro_f1", "examples", "member_accuracy",
                            "linear_accuracy"}  # fmt: skip
    assert len(metrics["member_accuracy"]) == 5  # the default: five, and a linear model
    assert metrics["linear_accuracy"] > 0.9
    assert metrics["accuracy"] > 0.9 and metrics["examples"] == 40

    assert main(["evaluate", str(out), "--data", str(dev), "--report"]) == 0
    report = capsys.readouterr().out
    assert "pos" in report and "neg" in report

    assert main(["predict", str(out), "--data", str(dev)]) == 0
    lines = capsys.readouterr().out.splitlines()
    gold = [line.split("\t")[0] for line in dev.read_text().splitlines()]
    assert len(lines) == 40 and sum(a == b for a, b in zip(lines, gold)) >= 36

    monkeypatch.setattr("sys.stdin", io.StringIO("a truly superb film\nboring and dull\n"))
    assert main(["predict", str(out), "--data", "-"]) == 0
    assert capsys.readouterr().out.splitlines() == ["pos", "neg"]


def test_classify_ensemble_trains_evaluates_predicts_and_resumes(tsv, tmp_path, capsys):
    train, dev = tsv
    out = tmp_path / "ens"
    argv = ["train", "classify", "--data", str(train), "--valid", str(dev), "--out", str(out),
            *TINY, "--model.ensemble=3"]  # fmt: skip
    assert main([*argv, "--trainer.max_epochs=3"]) == 0
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["model_type"] == "classifier_ensemble" and config["model"]["ensemble"] == 3
    assert main([*argv, "--trainer.max_epochs=8", "--resume"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out), "--data", str(dev), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["accuracy"] > 0.9 and len(metrics["member_accuracy"]) == 3
    assert main(["evaluate", str(out), "--data", str(dev)]) == 0
    text = capsys.readouterr().out
    assert "ensemble members alone: accuracy" in text and "linear model alone: accuracy" in text
    assert main(["predict", str(out), "--data", str(dev)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 40


def test_classify_jsonl_multi_label_and_unseen_labels(tmp_path, capsys):
    rows = [{"label": ["a", "b"] if i % 3 == 0 else ["a"], "text": f"x{i % 3} y z"}
            for i in range(30)]  # fmt: skip
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    dev = tmp_path / "dev.jsonl"
    dev.write_text(json.dumps({"label": ["c"], "text": "x1 y"}) + "\n" + json.dumps(rows[0]) + "\n")
    out = tmp_path / "ml"
    argv = ["train", "classify", "--data", str(train), "--valid", str(dev), "--out", str(out)]
    assert main([*argv, *TINY, "--data.multi_label=true", "--trainer.max_steps=5"]) == 0
    assert "never seen in training" in capsys.readouterr().err
    assert main(["evaluate", str(out), "--data", str(dev), "--json"]) == 0
    assert 0.0 <= json.loads(capsys.readouterr().out)["accuracy"] <= 0.5  # "c" is never right


def test_malformed_rows_name_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("pos\tgood film\nthis line has no tab\n")
    code = main(["train", "classify", "--data", str(bad), "--out", str(tmp_path / "r"), *TINY])
    assert code == 1  # a data error (2 is for usage errors)
    assert f"{bad}:2" in capsys.readouterr().err


def test_computed_keys_are_refused(tsv, tmp_path, capsys):
    code = main(["train", "classify", "--data", str(tsv[0]), "--out", str(tmp_path / "r"),
                 "--model.num_classes=3"])  # fmt: skip
    assert code == 2 and "model.num_classes is set from the data" in capsys.readouterr().err


def _conll(n, seed):
    """Entities: capitalised names are PER (B-/I-), 'in X' cities are LOC."""
    rng = random.Random(seed)
    names, cities = ["Ann Lee", "Bob", "Cy Young"], ["Paris", "Oslo"]
    out = []
    for _ in range(n):
        name, city = rng.choice(names).split(), rng.choice(cities)
        tokens = [*name, "lives", "in", city, "."]
        tags = ["B-PER"] + ["I-PER"] * (len(name) - 1) + ["O", "O", "B-LOC", "O"]
        out.append("".join(f"{t}\tX\t{g}\n" for t, g in zip(tokens, tags)))
    return "\n".join(out)


def test_tag_train_evaluate_predict(tmp_path, capsys):
    train, dev = tmp_path / "train.conll", tmp_path / "dev.conll"
    train.write_text(_conll(60, 0))
    dev.write_text(_conll(10, 1))
    out = tmp_path / "tagger"
    argv = ["train", "tag", "--data", str(train), "--valid", str(dev), "--out", str(out)]
    assert main([*argv, *TINY, "--trainer.max_epochs=6", "--model.char_hidden_size=8"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out), "--data", str(dev), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert {"accuracy", "precision", "recall", "f1", "tokens"} <= set(metrics)
    assert metrics["f1"] > 0.9 and metrics["accuracy"] > 0.9

    assert main(["predict", str(out), "--data", str(dev)]) == 0
    written = capsys.readouterr().out.split("\n\n")
    first = [line.split("\t") for line in written[0].splitlines()]
    assert len(written) >= 10 and all(len(cols) == 4 for cols in first)
    assert [c[3] for c in first] == [c[2] for c in first]  # the added column is the prediction


def test_tag_without_crf_and_chars_resumes(tmp_path, capsys):
    train = tmp_path / "train.conll"
    train.write_text(_conll(40, 0))
    out = tmp_path / "t"
    argv = ["train", "tag", "--data", str(train), "--out", str(out), *TINY,
            "--model.crf=false", "--model.num_chars=0"]  # fmt: skip
    assert main([*argv, "--trainer.max_steps=4", "--trainer.checkpoint_every=2"]) == 0
    assert main([*argv, "--trainer.max_steps=8", "--resume"]) == 0
    assert "after 8 steps" in capsys.readouterr().out
    config = json.loads((out / "model" / "config.json").read_text())["model"]
    assert config["crf"] is False and config["num_chars"] == 0
