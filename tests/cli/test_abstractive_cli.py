"""Abstractive summarization end to end: ``train summarize --model.type=abstractive``,
``summarize``, ``evaluate``, ``rnnkit.load``; copying a word the vocabulary lacks; save/load."""

import json
import random
from pathlib import Path

import pytest

import rnnkit
from rnnkit.cli.main import main
from rnnkit.data.documents import Document, read_documents
from rnnkit.metrics.rouge import rouge_metrics
from rnnkit.models.io import load_model_dir, save_model_dir
from rnnkit.tasks.abstractive_decode import first_sentences
from rnnkit.tasks.summarize import lead_summary, load_summarizer

FILLER = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda".split()
VERBS = "wins loses leads joins".split()
TINY = ["--model.type=abstractive", "--model.embedding_size=16", "--model.hidden_size=16",
        "--model.attention_size=16", "--model.dropout=0.0", "--data.min_freq=2",
        "--trainer.batch_size=8", "--trainer.lr=0.03", "--trainer.max_epochs=6",
        "--trainer.log_every=1000", "--seed=1"]  # fmt: skip


def _name(rng: random.Random) -> str:
    """A made-up name: each is seen once, so below min_freq=2 it stays out of the vocabulary."""
    return "".join(rng.choices("bcdfgklmnprstvz", k=4)) + rng.choice(["ov", "ez", "ak", "ine"])


def _document(rng: random.Random, name: str | None = None) -> dict:
    """The sentence "<Name> <verb> the cup." then filler; the headline "<name> <verb> cup"."""
    who, verb = name or _name(rng), rng.choice(VERBS)
    filler = [" ".join(rng.choices(FILLER, k=rng.randint(4, 8))).capitalize() + "."
              for _ in range(rng.randint(2, 4))]  # fmt: skip
    return {"text": f"{who.capitalize()} {verb} the cup. " + " ".join(filler),
            "headline": f"{who} {verb} cup"}  # fmt: skip


def _write(path: Path, n: int, seed: int) -> Path:
    rng = random.Random(seed)
    path.write_text("\n".join(json.dumps(_document(rng)) for _ in range(n)) + "\n")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("abstractive_cli")
    train, dev = _write(root / "train.jsonl", 40, 0), _write(root / "dev.jsonl", 8, 1)
    code = main(["train", "summarize", "--data", str(train), "--valid", str(dev),
                 "--summary-key", "headline", "--out", str(root / "run"), *TINY])  # fmt: skip
    assert code == 0
    return root / "run", _write(root / "test.jsonl", 12, 2)


def test_evaluate_reports_rouge_beside_lead_and_oracle(trained, capsys):
    run, test = trained
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(test), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert {"rouge1", "rouge2", "rougeL", "lead", "oracle"} <= set(metrics)
    # the headline is 3 of the first sentence's 4 words: Lead-1 is good, a copying model exact
    assert metrics["lead"]["rouge1"] == pytest.approx(85.71, abs=0.01)
    assert metrics["rouge1"] > 95.0
    assert main(["evaluate", str(run), "--data", str(test), "--beam", "1"]) == 0
    assert "model: generated, beam 1" in capsys.readouterr().out


def test_an_unseen_name_is_copied_into_the_summary(trained, capsys, tmp_path):
    run, _ = trained
    summarizer = load_summarizer(run)
    name = "qwzxyov"
    assert name not in summarizer.encoder.tokenizer.vocab  # out of the vocabulary
    doc = _document(random.Random(5), name)
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(doc) + "\n")
    capsys.readouterr()
    assert main(["summarize", str(run), "--input", str(path)]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary.split()[0] == name
    assert summary == doc["headline"]


def test_rnnkit_load_summarizes_like_the_cli(trained, capsys):
    run, test = trained
    documents = [json.loads(line)["text"] for line in test.read_text().splitlines()]
    capsys.readouterr()
    assert main(["summarize", str(run), "--input", str(test)]) == 0
    cli = [json.loads(line)["summary"] for line in capsys.readouterr().out.splitlines()]
    predictor = rnnkit.load(run)
    assert predictor.task == "summarize" and predictor.info()["model_type"] == "seq2seq"
    results = predictor.summarize(documents)
    assert [r.summary for r in results] == cli
    assert results[0].picked == [] and results[0].to_dict()["sentences"]
    alone = [predictor.summarize([d])[0].summary for d in documents[:4]]
    assert alone == cli[:4]  # a document's summary does not depend on its batch
    first = predictor.summarize(documents[:4], max_sentences=1)
    assert [r.summary for r in first] == [" ".join(first_sentences(c.split(), 1)) for c in cli[:4]]
    with pytest.raises(ValueError, match=r"^max_sentences: expected an integer >= 1"):
        predictor.summarize(documents[:1], max_sentences=0)
    assert len(predictor.summarize(documents[:1], max_words=2)[0].summary.split()) == 2


def test_max_sentences_keeps_the_first_sentences_written():
    words = "tax cuts planned ! bank rates rise . more later".split()
    assert first_sentences(words, 1) == ["tax", "cuts", "planned", "!"]
    assert first_sentences(words, 2) == words[:8]
    assert first_sentences(words, 3) == words == first_sentences(words, None)


def test_save_load_roundtrip_gives_the_same_summaries(trained, tmp_path):
    run, test = trained
    model, tokenizer, meta = load_model_dir(run)
    save_model_dir(tmp_path / "copy", model, tokenizer, meta)
    docs = [Document(json.loads(line)["text"]) for line in test.read_text().splitlines()]
    before = load_summarizer(run).generate(docs, beam=3)
    after = load_summarizer(tmp_path / "copy").generate(docs, beam=3)
    assert [g.text for g in after] == [g.text for g in before]
    assert [g.score for g in after] == pytest.approx([g.score for g in before])


def test_bad_options_are_refused_in_one_line(trained, tmp_path, capsys):
    run, test = trained
    out = str(tmp_path / "x")
    base = ["train", "summarize", "--data", str(test), "--summary-key", "headline", "--out", out]
    assert main([*base, "--model.type=abstractive", "--model.position_size=4"]) == 2
    assert "model.position_size applies to --model.type=extractive only" in capsys.readouterr().err
    assert main([*base, "--model.type=extractive", "--model.copy=false"]) == 2
    assert "model.copy applies to --model.type=abstractive only" in capsys.readouterr().err
    assert main([*base, "--model.type=neural"]) == 2
    assert "model.type must be one of" in capsys.readouterr().err
    assert main(["summarize", str(run), "--input", str(test), "--max-sentences", "0"]) == 2
    assert "--max-sentences: must be >= 1, got 0" in capsys.readouterr().err


def test_max_sentences_cuts_generated_summaries_and_sets_the_baselines(trained, capsys):
    run, test = trained
    capsys.readouterr()
    assert main(["summarize", str(run), "--input", str(test)]) == 0
    full = [json.loads(line)["summary"] for line in capsys.readouterr().out.splitlines()]
    assert main(["summarize", str(run), "--input", str(test), "--max-sentences", "1"]) == 0
    cut = [json.loads(line)["summary"] for line in capsys.readouterr().out.splitlines()]
    assert cut == [" ".join(first_sentences(f.split(), 1)) for f in full]
    assert main(["evaluate", str(run), "--data", str(test), "--max-sentences", "2", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    documents = read_documents(str(test), "text", "headline", True)
    leads = [lead_summary(d, 2, None) for d in documents]
    assert metrics["lead"] == rouge_metrics(leads, [d.summary for d in documents])


def test_serve_summarizes_with_the_abstractive_predictor(trained):
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from rnnkit.serve.app import build_app

    run, test = trained
    predictor = rnnkit.load(run)
    text = json.loads(test.read_text().splitlines()[0])["text"]
    with TestClient(build_app([predictor])) as client:
        response = client.post("/summarize", json={"documents": [text]})
        assert response.status_code == 200
        assert response.json()["results"] == [predictor.summarize([text])[0].to_dict()]
        cut = client.post("/summarize", json={"documents": [text], "max_sentences": 1})
        assert cut.status_code == 200
        assert cut.json()["results"] == [predictor.summarize([text], 1)[0].to_dict()]


def test_beam_is_checked_and_only_for_abstractive_models(trained, tmp_path, capsys):
    run, test = trained
    assert main(["summarize", str(run), "--input", str(test), "--beam", "0"]) == 2
    assert "--beam: must be >= 1, got 0" in capsys.readouterr().err
    extractive = tmp_path / "extractive.jsonl"
    extractive.write_text(test.read_text())
    code = main(["train", "summarize", "--data", str(extractive), "--summary-key", "headline",
                 "--out", str(tmp_path / "ext"), "--model.hidden_size=4",
                 "--model.embedding_size=4", "--model.position_size=2",
                 "--trainer.max_epochs=1"])  # fmt: skip
    assert code == 0
    capsys.readouterr()
    assert main(["summarize", str(tmp_path / "ext"), "--input", str(test), "--beam", "2"]) == 2
    assert "--beam applies to abstractive summarizers only" in capsys.readouterr().err


def test_beam_rules_default_to_the_model_config(trained, monkeypatch):
    import rnnkit.tasks.abstractive_decode as module

    run, test = trained
    seen = []
    real = module.beam_search

    def spy(*args, **kwargs):
        adjacent = any(isinstance(r, module.NoAdjacentRepeat) for r in kwargs["rules"])
        seen.append((kwargs["no_repeat_ngram_size"], adjacent))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "beam_search", spy)
    summarizer = load_summarizer(run)
    docs = [Document(json.loads(test.read_text().splitlines()[0])["text"])]
    with_rules = summarizer.generate(docs, beam=2)
    without = summarizer.generate(docs, beam=2, no_repeat_ngram_size=0, no_adjacent_repeats=False)
    assert seen == [(3, True), (0, False)]
    words = with_rules[0].tokens
    assert all(a != b for a, b in zip(words, words[1:]))
    assert without[0].text  # the rules off still decode
