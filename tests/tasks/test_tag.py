"""Sequence tagging task: the model kept by a monitored validation metric."""

import csv
import random

import pytest

from rnnkit.tasks.tag import TagDataConfig, evaluate_tagger, train_tagger
from rnnkit.training import TrainerConfig

TAGS = {"the": "DET", "a": "DET", "cat": "NOUN", "dog": "NOUN", "runs": "VERB", "sleeps": "VERB"}


def _write(path, n, seed):
    """Sentences of DET NOUN VERB; "fish" is a NOUN or a VERB at random (some noise)."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        words = [rng.choice(["the", "a"]), rng.choice(["cat", "dog", "fish"]),
                 rng.choice(["runs", "sleeps", "fish"])]  # fmt: skip
        tags = [TAGS.get(w, rng.choice(["NOUN", "VERB"])) for w in words]
        lines += [f"{w} {t}" for w, t in zip(words, tags)] + [""]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def test_monitor_accuracy_keeps_the_most_accurate_epoch(tmp_path):
    dev = _write(tmp_path / "dev.conll", 20, 1)
    data = TagDataConfig(data=str(_write(tmp_path / "train.conll", 40, 0)), valid=str(dev))
    options = {"embedding_size": 8, "hidden_size": 8, "num_chars": 0, "crf": False}
    trainer = TrainerConfig(max_epochs=4, batch_size=8, lr=1e-2, progress=False, seed=1,
                            monitor="accuracy")  # fmt: skip
    result = train_tagger(data, options, trainer, tmp_path / "out")
    rows = list(csv.DictReader((tmp_path / "out" / "log.csv").open()))
    logged = [float(r["monitored"]) for r in rows if r["split"] == "valid"]
    kept = evaluate_tagger(tmp_path / "out", dev)["accuracy"]
    assert len(logged) == 4
    assert kept == pytest.approx(result.best_valid["accuracy"], abs=1e-5) == max(logged)
