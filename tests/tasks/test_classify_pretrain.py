"""Pretraining on unlabelled text: the files it reads, and what it starts in every classifier."""

import json

import pytest
import torch

from rnnkit.data.errors import DataError
from rnnkit.data.labelled import TextExample
from rnnkit.models.io import load_model_dir
from rnnkit.tasks.classify import ClassifyDataConfig, build_classifier, members
from rnnkit.tasks.classify_pretrain import pretrain_language_model, unlabelled_texts
from rnnkit.training import TrainerConfig


def test_unlabelled_files_plain_tsv_and_jsonl(tmp_path):
    plain = tmp_path / "a.txt"
    plain.write_text("one text\nand more\n", encoding="utf-8")
    assert unlabelled_texts(plain) == ["one text\nand more\n"]
    tsv = tmp_path / "a.tsv"
    tsv.write_text("pos\tgood film\n\nneg\tdull\n", encoding="utf-8")
    assert unlabelled_texts(tsv) == ["good film", "dull"]
    jsonl = tmp_path / "a.jsonl"
    rows = [{"text": "body", "title": "head"}, {"text": "alone", "label": "x"}]
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert unlabelled_texts(jsonl) == ["head\nbody", "alone"]
    jsonl.write_text('{"text": "fine"}\n{"body": 1}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"a.jsonl:2: expected an object"):
        unlabelled_texts(jsonl)


def test_the_language_model_starts_every_member(tmp_path):
    unlabelled = tmp_path / "news.txt"
    unlabelled.write_text("the zebra ran far .\n" * 40, encoding="utf-8")
    train = [TextExample(text=t, labels=[y]) for t, y in [("a good film", "pos"),
                                                         ("a dull film", "neg")] * 10]  # fmt: skip
    options = {"embedding_size": 8, "hidden_size": 6, "ensemble": 2}
    trainer = TrainerConfig(max_steps=3, progress=False, seed=1)
    lm_dir = pretrain_language_model(unlabelled, train, lambda e: e.text, options,
                                     {"min_freq": 1, "max_vocab": None}, trainer, 30.0,
                                     tmp_path / "pretrain")  # fmt: skip
    lm, lm_tokenizer, _ = load_model_dir(lm_dir)
    cfg = ClassifyDataConfig(data="train.tsv")
    model, tokenizer, _ = build_classifier(cfg, options, train, 1, lm_dir)
    assert tokenizer.encode("zebra") == lm_tokenizer.encode("zebra") != [tokenizer.unk_id]
    for member in members(model):
        torch.testing.assert_close(member.embed.weight, lm.embed.weight)
        forward, backward = member.layers[0].weight_ih_l0, member.layers[0].weight_ih_l0_reverse
        torch.testing.assert_close(forward, lm.layers[0].weight_ih_l0)
        assert backward.shape == forward.shape and not torch.equal(backward, forward)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"pretrained_lm": "lm"}, "not both"), ({"lowercase": False}, "lower-cased")],
)
def test_refused_combinations_are_named(tmp_path, options, message):
    from rnnkit.tasks.classify import train_classifier

    data = tmp_path / "train.tsv"
    data.write_text("pos\tgood\nneg\tbad\n" * 5, encoding="utf-8")
    cfg = ClassifyDataConfig(data=str(data), unlabelled=str(data), **options)
    with pytest.raises(ValueError, match=message):
        train_classifier(cfg, {}, TrainerConfig(max_steps=1, progress=False), tmp_path / "out")
