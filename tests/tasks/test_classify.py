"""Text classification task: what training gives the n-gram bag before the first step; the
model kept by a monitored validation metric."""

import csv
import math
import random

import pytest
import torch

from rnnkit.models.io import load_model_dir
from rnnkit.tasks.classify import evaluate_classifier, members, train_classifier
from rnnkit.tasks.defaults import resolve
from rnnkit.training import TrainerConfig


def test_training_fits_every_members_idf_on_the_training_texts(tmp_path):
    rows = [("pos", "a good film"), ("neg", "a dull film"), ("pos", "good good fun")] * 4
    for name in ("train", "dev"):
        (tmp_path / f"{name}.tsv").write_text("".join(f"{y}\t{t}\n" for y, t in rows), "utf-8")
    data = {"data": str(tmp_path / "train.tsv"), "valid": str(tmp_path / "dev.tsv")}
    cfg = resolve("classify", data=data)
    options = {**cfg.model, "embedding_size": 8, "hidden_size": 6, "ensemble": 2}
    options["ngram_buckets"] = 32
    trainer = TrainerConfig(max_steps=1, progress=False, seed=1)
    train_classifier(cfg.data, options, trainer, tmp_path / "out")
    model, tokenizer, _ = load_model_dir(tmp_path / "out" / "model")
    bags = [m.ngrams for m in members(model)]
    torch.testing.assert_close(bags[0].idf, bags[1].idf)
    idf = bags[0].idf
    film, fun = tokenizer.encode("film fun")
    expect = [math.log(13 / (1 + df)) + 1 for df in (8, 4)]  # 12 texts: film in 8, fun in 4
    torch.testing.assert_close(idf[[film, fun]], torch.tensor(expect))
    assert idf[tokenizer.unk_id].item() == 0.0  # no training text holds an unknown word


def test_monitor_accuracy_keeps_the_most_accurate_epoch(tmp_path):
    rng = random.Random(0)
    words = {"pos": "good great fine fun".split(), "neg": "dull bad poor slow".split()}
    for name, n in (("train", 60), ("dev", 30)):
        rows = []
        for _ in range(n):
            y = rng.choice(["pos", "neg"])
            noisy = rng.random() < 0.2  # some texts say the other label's words
            cue = words[("neg" if y == "pos" else "pos") if noisy else y]
            rows.append(f"{y}\tthe film was {rng.choice(cue)} {rng.choice(cue)}\n")
        (tmp_path / f"{name}.tsv").write_text("".join(rows), "utf-8")
    data = resolve("classify", data={"data": str(tmp_path / "train.tsv"),
                                     "valid": str(tmp_path / "dev.tsv")}).data  # fmt: skip
    options = {"embedding_size": 8, "hidden_size": 6, "ensemble": 1, "dropout": 0.0}
    trainer = TrainerConfig(max_epochs=4, batch_size=8, lr=3e-3, progress=False, seed=1,
                            monitor="accuracy")  # fmt: skip
    result = train_classifier(data, options, trainer, tmp_path / "out")
    rows = list(csv.DictReader((tmp_path / "out" / "log.csv").open()))
    logged = [float(r["monitored"]) for r in rows if r["split"] == "valid"]
    kept = evaluate_classifier(tmp_path / "out", tmp_path / "dev.tsv")
    assert len(logged) == 4 and {"accuracy", "macro_f1"} <= set(result.best_valid)
    assert kept["accuracy"] == pytest.approx(result.best_valid["accuracy"], abs=1e-5) == max(logged)
    assert kept["macro_f1"] == pytest.approx(result.best_valid["macro_f1"])


@pytest.mark.parametrize("linear_buckets", [0, 64])
def test_the_linear_model_is_fitted_before_the_first_step_and_scored_alone(
    tmp_path, linear_buckets
):
    rows = [("pos", "a good film"), ("neg", "a dull film"), ("pos", "good good fun"),
            ("neg", "dull and slow")] * 5  # fmt: skip
    for name in ("train", "dev"):
        (tmp_path / f"{name}.tsv").write_text("".join(f"{y}\t{t}\n" for y, t in rows), "utf-8")
    cfg = resolve("classify", data={"data": str(tmp_path / "train.tsv"),
                                    "valid": str(tmp_path / "dev.tsv")})  # fmt: skip
    options = {**cfg.model, "embedding_size": 8, "hidden_size": 6, "ensemble": 1,
               "ngram_buckets": 32, "linear_weight": 0.5,
               "linear_buckets": linear_buckets}  # fmt: skip
    trainer = TrainerConfig(max_steps=1, progress=False, seed=1)
    train_classifier(cfg.data, options, trainer, tmp_path / "out")
    model, tokenizer, _ = load_model_dir(tmp_path / "out" / "model")
    bag, linear = model.members[0].ngrams, model.linear
    if linear_buckets == 0:  # one feature layout: counted once
        torch.testing.assert_close(linear.idf, bag.idf)
    else:  # its own layout, counted on the same texts: the same word features, its own bigrams
        assert linear.idf.numel() == bag.vocab_size + 64
        torch.testing.assert_close(linear.idf[: bag.vocab_size], bag.idf[: bag.vocab_size])
        assert (linear.idf[bag.vocab_size :] > 0).sum() == (bag.idf[bag.vocab_size :] > 0).sum()
    assert model.linear.idf[tokenizer.encode("good")[0]] > 0
    good, dull = tokenizer.encode("good dull")
    pos, neg = (model.linear.weight[w] for w in (good, dull))
    assert pos[1] > pos[0] and neg[0] > neg[1]  # labels sorted: neg, pos
    scores = evaluate_classifier(tmp_path / "out", tmp_path / "dev.tsv")
    assert scores["linear_accuracy"] == 1.0 and len(scores["member_accuracy"]) == 1
