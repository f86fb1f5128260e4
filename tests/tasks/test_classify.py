"""Text classification task: what training gives the n-gram bag before the first step."""

import math

import torch

from rnnkit.models.io import load_model_dir
from rnnkit.tasks.classify import members, train_classifier
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
