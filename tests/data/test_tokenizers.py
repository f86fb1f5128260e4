"""Tokenizers: round trips, specials, PTB <unk>, save/load through tokenizer.json, errors."""

from __future__ import annotations

import json

import pytest

from rnnkit.data import (
    BPETokenizer,
    CharTokenizer,
    DataError,
    TextTokenizer,
    Tokenizer,
    WordTokenizer,
    build_tokenizer,
    load_tokenizer,
)

TEXT = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
    "All:\nSpeak, speak.\n\nFirst Citizen:\nYou are all resolved rather to die than to famish?\n"
)
PTB = " the <unk> rose N % in march\n the company said <unk> <unk> shares\n"
ODD = "Tabs\tand  double  spaces, ünïcödé, 日本語, emoji 😀, <eos> and <unk>\r\n\n  end "


@pytest.fixture(scope="module")
def tokenizers() -> dict[str, Tokenizer]:
    return {
        "char": CharTokenizer.train(TEXT),
        "word": WordTokenizer.train(TEXT),
        "bpe": BPETokenizer.train(TEXT * 3 + ODD, vocab_size=300),
    }


def test_char_round_trip_and_unknown() -> None:
    tok = CharTokenizer.train(TEXT)
    assert tok.level == "char"
    assert tok.vocab_size == len(set(TEXT)) + 2
    ids = tok.encode(TEXT)
    assert len(ids) == len(TEXT) and tok.unk_id not in ids
    assert tok.decode(ids) == TEXT
    assert [tok.id_to_token(i) for i in tok.encode("speak")] == list("speak")
    assert tok.encode("Z") == [tok.unk_id]  # 'Z' never seen
    assert tok.token_to_id("Z") == tok.unk_id


def test_char_min_freq_drops_rare_characters() -> None:
    tok = CharTokenizer.train("aaab", min_freq=2)
    assert tok.encode("ab") == [tok.token_to_id("a"), tok.unk_id]
    assert tok.vocab_size == 3


def test_word_eos_per_newline_and_decode() -> None:
    tok = WordTokenizer.train("a b\nb c\n")
    ids = tok.encode("a b\nb c\n")
    assert [tok.id_to_token(i) for i in ids] == ["a", "b", "<eos>", "b", "c", "<eos>"]
    assert tok.decode(ids) == "a b\nb c\n"
    assert tok.decode(tok.encode("a  b\n\nc")) == "a b\n\nc"  # whitespace normalised
    assert tok.encode("a zebra")[1] == tok.unk_id


def test_word_round_trip_on_normalised_text() -> None:
    tok = WordTokenizer.train(TEXT)
    assert tok.decode(tok.encode(TEXT)) == TEXT  # TEXT has single spaces only


def test_ptb_unk_is_the_unk_id_not_a_word() -> None:
    tok = WordTokenizer.train(PTB)
    ids = tok.encode(PTB)
    assert tok.token_to_id("<unk>") == tok.unk_id
    assert ids.count(tok.unk_id) == 3 and ids.count(tok.eos_id) == 2
    # specials once each, then the 9 distinct real words: <unk> is not counted as a new word
    assert tok.vocab_size == 2 + 9
    assert [tok.id_to_token(i) for i in range(tok.vocab_size)].count("<unk>") == 1
    assert tok.decode(ids) == PTB.replace("\n ", "\n").lstrip()


def test_word_min_freq_and_max_size() -> None:
    text = "a a a b b c\n"
    assert WordTokenizer.train(text, min_freq=2).vocab_size == 2 + 2
    top = WordTokenizer.train(text, max_size=1)
    assert top.vocab_size == 3 and top.id_to_token(2) == "a"  # the most frequent word


@pytest.mark.parametrize("text", [TEXT, ODD, "", "x", "\n\n", "Ωμέγα and 😀😀"])
def test_bpe_round_trip_any_text(tokenizers, text: str) -> None:
    tok = tokenizers["bpe"]
    assert tok.decode(tok.encode(text)) == text


def test_bpe_vocab_and_specials(tokenizers) -> None:
    tok = tokenizers["bpe"]
    assert tok.level == "bpe"
    assert 258 < tok.vocab_size <= 300
    assert {tok.unk_id, tok.eos_id} == {0, 1}
    assert len(tok.encode(TEXT)) < len(TEXT.encode()) / 2  # merges actually compress
    assert tok.encode("<eos>") == [tok.eos_id]
    assert tok.token_to_id(tok.id_to_token(100)) == 100
    with pytest.raises(ValueError, match="vocab_size must be >= 258"):
        BPETokenizer.train(TEXT, vocab_size=100)


@pytest.mark.parametrize("level", ["char", "word", "bpe"])
def test_save_load_round_trip(tokenizers, tmp_path, level: str) -> None:
    tok = tokenizers[level]
    tok.save(tmp_path / "tok")
    saved = json.loads((tmp_path / "tok" / "tokenizer.json").read_text(encoding="utf-8"))
    assert saved["type"] == level
    again = load_tokenizer(tmp_path / "tok")
    assert type(again) is type(tok) and again.vocab_size == tok.vocab_size
    probe = TEXT + "unseen Zebra"
    assert again.encode(probe) == tok.encode(probe)
    assert (again.unk_id, again.eos_id) == (tok.unk_id, tok.eos_id)
    assert load_tokenizer(tmp_path / "tok" / "tokenizer.json").encode(probe) == tok.encode(probe)


def test_load_errors(tmp_path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").write_text('{"type": "sentencepiece"}')
    with pytest.raises(DataError, match=r"unknown tokenizer type 'sentencepiece'.*'char'"):
        load_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").write_text("not json")
    with pytest.raises(DataError, match=r"not a valid tokenizer\.json"):
        load_tokenizer(tmp_path)


def test_build_tokenizer_dispatches_and_rejects_unknown_level() -> None:
    assert isinstance(build_tokenizer("char", TEXT), CharTokenizer)
    word = build_tokenizer("word", TEXT, min_freq=2)
    assert (
        isinstance(word, WordTokenizer) and word.vocab_size < WordTokenizer.train(TEXT).vocab_size
    )
    with pytest.raises(ValueError, match=r"unknown level 'sub'.*\['char', 'word', 'text', 'bpe'\]"):
        build_tokenizer("sub", TEXT)


def test_empty_training_text_and_bad_ids() -> None:
    with pytest.raises(DataError, match=r"CharTokenizer\.train: expected a non-empty"):
        CharTokenizer.train("   ")
    tok = CharTokenizer.train("ab")
    with pytest.raises(IndexError, match=r"id 99 is out of range \[0, 4\)"):
        tok.decode([99])


def test_text_tokenizer_splits_punctuation_lowercases_and_round_trips_through_json(tmp_path):
    tok = TextTokenizer.train("It's GOOD, isn't it?\nYes.")
    assert TextTokenizer.split("It's GOOD, isn't it?") == ["it's", "good", ",", "isn't", "it", "?"]
    assert tok.decode(tok.encode("good, yes.")) == "good , yes ."
    cased = TextTokenizer.train("Good good", lowercase=False)
    assert cased.encode("Good") != cased.encode("good")
    cased.save(tmp_path)
    loaded = load_tokenizer(tmp_path)
    assert isinstance(loaded, TextTokenizer) and loaded.lowercase is False
    assert loaded.encode("Good good") == cased.encode("Good good")
