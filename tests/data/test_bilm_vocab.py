"""BiLMVocab: boundaries, normalisation (PTB numbers, case), characters, JSON round trip."""

import pytest

from rnnkit.data.bilm_vocab import BiLMVocab
from rnnkit.data.vocab import Vocab


def test_sentences_get_boundaries_and_unknowns():
    vocab = BiLMVocab.build([["the", "cat"], ["the", "dog"]])
    assert vocab.words.tokens[:5] == ["<pad>", "<unk>", "<s>", "</s>", "the"]
    assert vocab.encode(["the", "emu"])["words"] == [2, 4, 1, 3]
    batch = vocab.collate([vocab.encode(["the"]), vocab.encode(["the", "cat", "dog"])])
    assert batch["words"].tolist() == [[2, 4, 3, 0, 0], [2, 4, 5, 6, 3]]
    assert batch["lengths"].tolist() == [3, 5] and "chars" not in batch


def test_ptb_normalisation_maps_cased_text_with_digits():
    ptb = [["pierre", "<unk>", "N", "years", "old"], ["mr.", "N"]]
    vocab = BiLMVocab.build(ptb, lowercase=True, number_token="N")
    assert "N" in vocab.words and "n" not in vocab.words and "<unk>" not in vocab.words.tokens[4:]
    forms = [vocab.normalize(t) for t in ["Pierre", "1990", "3.5", "1,000", "N", "Mr.", "-"]]
    assert forms == ["pierre", "N", "N", "N", "N", "mr.", "-"]
    assert (
        vocab.encode(["Pierre", "61", "Years"])["words"]
        == vocab.encode(["pierre", "N", "years"])["words"]
    )


def test_characters_are_padded_per_sentence():
    vocab = BiLMVocab.build([["ab", "abc"]], chars=True, max_word_length=2)
    ids, lengths = vocab.encode(["abc", "z"])["chars"]
    assert ids.tolist() == [[2, 0], [4, 5], [1, 0], [3, 0]]  # <s>, "ab" (cut), "z" unknown, </s>
    assert lengths.tolist() == [1, 2, 1, 1]
    batch = vocab.collate([vocab.encode(["a"]), vocab.encode(["abc", "ab"])])
    assert batch["chars"].shape == (2, 4, 2) and batch["char_lengths"][0].tolist() == [1, 1, 1, 0]


def test_json_round_trip_and_bad_tables():
    vocab = BiLMVocab.build([["A", "b", "7"]], chars=True, lowercase=True, number_token="N")
    twin = BiLMVocab.from_dict(vocab.to_dict())
    assert twin.to_dict() == vocab.to_dict()
    assert twin.encode(["a", "9"])["words"] == vocab.encode(["A", "9"])["words"]
    with pytest.raises(ValueError, match="must start with"):
        BiLMVocab(Vocab(["<unk>", "<eos>", "x"]))
