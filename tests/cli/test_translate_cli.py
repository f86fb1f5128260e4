"""Sequence to sequence from the command line: train translate, translate, evaluate, errors."""

import io
import json
import random
from pathlib import Path

import pytest

from rnnkit.cli.main import main
from rnnkit.data.placeholders import find_placeholders

LEXICON = {"open": "ouvrir", "save": "enregistrer", "file": "fichier", "new": "nouveau",
           "folder": "dossier", "error": "erreur", "cannot": "impossible", "the": "le"}  # fmt: skip
TINY = ["--data.level=word", "--model.embedding_size=24", "--model.hidden_size=48",
        "--model.encoder_layers=1", "--model.decoder_layers=1", "--model.dropout=0.0",
        "--trainer.batch_size=16", "--trainer.lr=0.01", "--trainer.log_every=1000",
        "--trainer.max_epochs=25", "--seed=1"]  # fmt: skip


def _pairs(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        words = [rng.choice(list(LEXICON)) for _ in range(rng.randint(1, 4))]
        src, tgt = list(words), [LEXICON[w] for w in words]
        if rng.random() < 0.5:  # a placeholder the translation must keep
            p = rng.choice(["%s", "%d", "{name}", str(rng.randint(0, 9999))])
            k = rng.randint(0, len(src))
            src.insert(k, p)
            tgt.insert(k, p)
        rows.append(" ".join(src) + "\t" + " ".join(tgt))
    return rows


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("translate")
    (root / "train.tsv").write_text("\n".join(_pairs(400, 0)) + "\n", encoding="utf-8")
    (root / "dev.tsv").write_text("\n".join(_pairs(40, 1)) + "\n", encoding="utf-8")
    out = root / "run"
    argv = ["train", "translate", "--data", str(root / "train.tsv"), "--valid",
            str(root / "dev.tsv"), "--out", str(out)]  # fmt: skip
    assert main([*argv, *TINY]) == 0
    return out, root / "dev.tsv"


def test_evaluate_reports_bleu_and_chrf(trained, capsys) -> None:
    out, dev = trained
    capsys.readouterr()
    assert main(["evaluate", str(out), "--data", str(dev), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert set(metrics) == {"bleu", "chrf", "repeated_phrases", "examples"}
    assert metrics["examples"] == 40 and metrics["repeated_phrases"] == 0
    assert metrics["bleu"] > 60, metrics
    assert main(["evaluate", str(out), "--data", str(dev), "--beam", "1"]) == 0
    assert "BLEU" in capsys.readouterr().out


def test_translate_keeps_unseen_placeholders(trained, capsys, monkeypatch) -> None:
    out, _ = trained
    # 73519 and {user} never occur in training: masking carries them over anyway
    sources = ["cannot open the file %s", "save 73519 new folder", "open {user} folder"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(sources) + "\n"))
    capsys.readouterr()
    assert main(["translate", str(out), "--input", "-", "--beam", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for source, line in zip(sources, lines):
        assert find_placeholders(line) == find_placeholders(source), (source, line)
    assert lines[0] == "impossible ouvrir le fichier %s"


def test_n_best_and_attention_heatmaps(trained, tmp_path, capsys, monkeypatch) -> None:
    out, _ = trained
    monkeypatch.setattr("sys.stdin", io.StringIO("open the file\nsave %d\n"))
    png = tmp_path / "att.png"
    argv = ["translate", str(out), "--input", "-", "--beam", "3", "--n-best", "2"]
    assert main([*argv, "--attention", str(png)]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [r[0] for r in rows] == ["0", "0", "1", "1"]
    assert float(rows[0][1]) >= float(rows[1][1])
    assert png.read_bytes()[:4] == b"\x89PNG" and (tmp_path / "att_2.png").is_file()


def test_separate_vocabularies_and_bpe(tmp_path, capsys) -> None:
    (tmp_path / "t.tsv").write_text("\n".join(_pairs(60, 2)) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    argv = ["train", "translate", "--data", str(tmp_path / "t.tsv"), "--out", str(out),
            "--data.share_vocab=false", "--model.copy=false", "--data.level=bpe",
            "--data.vocab_size=300",
            "--model.attention=additive", "--model.embedding_size=8", "--model.hidden_size=8",
            "--trainer.max_steps=3", "--trainer.log_every=1000"]  # fmt: skip
    assert main(argv) == 0
    assert (out / "model" / "source_tokenizer.json").is_file()
    (tmp_path / "in.txt").write_text("open the file\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["translate", str(out), "--input", str(tmp_path / "in.txt"), "--beam", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_bad_input_names_file_and_line(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("open\touvrir\nsave\n", encoding="utf-8")
    assert main(["train", "translate", "--data", str(bad), "--out", str(tmp_path / "r")]) == 1
    assert f"{bad}:2: expected source<TAB>target, found no TAB" in capsys.readouterr().err
