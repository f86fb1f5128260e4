"""Abstractive summarization recipe: model options per type, extended ids of OOV words."""

import pytest
import torch

from rnnkit.data import TextTokenizer
from rnnkit.data.documents import Document
from rnnkit.tasks.abstractive import AbstractiveEncoder
from rnnkit.tasks.summarize import SummarizeDataConfig
from rnnkit.tasks.summarize_model import split_model_options


def test_model_options_per_type():
    kind, options = split_model_options({"type": "abstractive", "hidden_size": 32,
                                         "coverage": False})  # fmt: skip
    assert kind == "abstractive"
    assert options["hidden_size"] == 32 and options["copy"] and not options["coverage"]
    assert "position_size" not in options and "type" not in options
    assert split_model_options({"hidden_size": 8}) == ("extractive", {"hidden_size": 8})
    with pytest.raises(ValueError, match=r"model\.attention applies to --model\.type=abstractive"):
        split_model_options({"attention": "dot"})
    with pytest.raises(ValueError, match=r"model\.max_positions applies to --model\.type=extr"):
        split_model_options({"type": "abstractive", "max_positions": 4})


def _encoder(copy: bool, **cfg) -> AbstractiveEncoder:
    tokenizer = TextTokenizer.train("the cup was won by the team and the fans .\n")
    return AbstractiveEncoder(tokenizer, SummarizeDataConfig(**cfg), copy)


def test_oov_words_get_extended_ids_per_document():
    enc = _encoder(True)
    v, unk, eos = enc.tokenizer.vocab_size, enc.tokenizer.unk_id, enc.tokenizer.eos_id
    source = enc.source(Document("Zorv won the cup.\nZorv and Kell won."))
    assert source.oov == ["zorv", "kell"]
    words = "zorv won the cup . zorv and kell won .".split()
    assert source.extended[:-1] == [v if w == "zorv" else v + 1 if w == "kell"
                                    else enc.tokenizer.vocab.to_id(w) for w in words]  # fmt: skip
    assert source.ids.count(unk) == 3 and source.ids[-1] == source.extended[-1] == eos
    kell_abba_won = [v + 1, unk, enc.tokenizer.vocab.to_id("won")]
    assert enc.target("Kell Abba won", source) == kell_abba_won
    assert _encoder(False).target("Kell won", source)[0] == unk  # no copying: unk
    batch = enc.collate([(source, [v + 1]), (enc.source(Document("The cup.")), [5])])
    assert int(batch["extra"]) == 2 and batch["source_ids"].shape == batch["source"].shape
    assert batch["target_in"][0].tolist() == [eos, v + 1]
    assert batch["target_out"][1].tolist() == [5, eos]


def test_source_and_summary_are_cut():
    enc = _encoder(True, max_source_tokens=3, max_summary_tokens=2)
    source = enc.source(Document("the cup was won by the team ."))
    assert len(source.ids) == 4  # 3 tokens and <eos>
    assert enc.target("the team won", source) == enc.tokenizer.encode("the team")
    assert torch.equal(enc.collate_sources([source])["source"][0], torch.tensor(source.ids))
