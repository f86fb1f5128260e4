"""Summarization recipe: oracle labels, training, budgets, document order, errors."""

import csv
import json
import random
from pathlib import Path

import pytest

from rnnkit.data import DataError
from rnnkit.data.documents import Document, read_documents
from rnnkit.tasks.summarize import (
    SummarizeDataConfig,
    default_budget,
    evaluate_summarizer,
    lead_summary,
    load_summarizer,
    summarize_file,
    train_summarizer,
)
from rnnkit.training import TrainerConfig

FILLER = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda".split()
NEWS = "minister budget tax bank rates profits".split()


def _document(rng: random.Random) -> dict:
    """Filler sentences and one news sentence (anywhere); the headline repeats the news."""
    n = rng.randint(3, 6)
    sentences = [" ".join(rng.choices(FILLER, k=rng.randint(4, 8))).capitalize() + "."
                 for _ in range(n)]  # fmt: skip
    news = rng.sample(NEWS, 3)
    sentences.insert(rng.randint(0, n), "The " + " ".join(news) + " moved today.")
    return {"text": " ".join(sentences), "headline": " ".join(news)}


def _write(path: Path, n: int, seed: int) -> Path:
    rng = random.Random(seed)
    path.write_text("\n".join(json.dumps(_document(rng)) for _ in range(n)) + "\n")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("summarize")
    data = SummarizeDataConfig(data=str(_write(root / "train.jsonl", 80, 0)),
                               valid=str(_write(root / "dev.jsonl", 20, 1)),
                               summary_key="headline")  # fmt: skip
    model = {"embedding_size": 16, "hidden_size": 16, "position_size": 4, "dropout": 0.0}
    trainer = TrainerConfig(max_epochs=4, batch_size=8, lr=1e-2, log_every=1000,
                            progress=False, seed=1)  # fmt: skip
    train_summarizer(data, model, trainer, root / "run")
    return root / "run", _write(root / "test.jsonl", 30, 2)


@pytest.mark.parametrize("monitor", ["rouge1", "loss"])
def test_the_kept_model_is_the_best_by_the_monitor(tmp_path, monitor):
    dev = _write(tmp_path / "dev.jsonl", 20, 1)
    data = SummarizeDataConfig(data=str(_write(tmp_path / "train.jsonl", 40, 0)), valid=str(dev),
                               summary_key="headline")  # fmt: skip
    model = {"embedding_size": 8, "hidden_size": 8, "position_size": 4, "dropout": 0.0}
    trainer = TrainerConfig(max_epochs=3, batch_size=8, lr=1e-2, log_every=1000, progress=False,
                            seed=1, monitor=monitor)  # fmt: skip
    result = train_summarizer(data, model, trainer, tmp_path / "run")
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    monitored = [float(r["monitored"]) for r in rows if r["split"] == "valid"]
    assert len(monitored) == 3
    if monitor == "loss":  # nothing decoded: the loss alone decides
        assert "rouge1" not in result.best_valid
        assert result.best_valid_loss == pytest.approx(min(monitored), rel=1e-5)
        return
    kept = evaluate_summarizer(tmp_path / "run", dev)["rouge1"]  # the exported model on dev
    assert kept == pytest.approx(result.best_valid["rouge1"], abs=0.01)
    assert kept == pytest.approx(max(monitored), abs=0.01)


def test_learns_to_pick_the_news_sentence_over_lead(trained):
    run, test = trained
    metrics = evaluate_summarizer(run, test)
    assert metrics["budget"] == {"max_sentences": 1, "max_words": None}  # headlines: 1
    # the news sentence is the oracle's pick (R1 = 2/3 against its headline)
    assert metrics["rouge1"] == metrics["oracle"]["rouge1"] == pytest.approx(66.67)
    assert metrics["lead"]["rouge1"] < 30.0


def test_summaries_keep_document_order_and_budgets(trained):
    run, test = trained
    docs = read_documents(test, summary_key="headline")
    summarizer = load_summarizer(run)
    two = summarizer.select(docs, max_sentences=2)
    assert all(len(idx) == 2 and idx == sorted(idx) for idx in two)
    within = summarizer.select(docs, max_words=14)  # fills the budget, skipping what overflows
    for doc, idx in zip(docs, within):
        assert idx == sorted(idx)
        assert len(idx) == 1 or sum(len(doc.sentences[i].split()) for i in idx) <= 14
    assert any(len(idx) >= 2 for idx in within)
    short = summarize_file(run, test, max_words=14)
    assert short == [" ".join(d.sentences[i] for i in idx) for d, idx in zip(docs, within)]
    assert summarize_file(run, test)[0] in docs[0].sentences


def test_default_budget_is_the_median_reference_length():
    docs = [Document("A b. C d.", s) for s in ["One.", "One. Two.", "One. Two. Three."]]
    assert default_budget(docs) == 2
    assert lead_summary(docs[0], 1, None) == "A b."


def test_bad_lines_name_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "Fine."}\n{"body": "x"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2: missing \"text\""):
        read_documents(path)
    path.write_text('{"text": "Fine."}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:1: missing \"summary\""):
        read_documents(path, require_summary=True)
