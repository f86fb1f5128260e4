"""The tables of a bidirectional LM: token strings -> word and character ids with boundaries.

A sentence of n tokens becomes n + 2 ids, ``<s> w_1 .. w_n </s>``; with characters, each token
also becomes its character ids (``<s>`` and ``</s>`` are one special character each). Tokens
are normalised before the lookup, the same way in training and in use:

- ``number_token`` (e.g. ``"N"``, the Penn Treebank LM convention): a token made of digits and
  number punctuation (``1990``, ``3.5``, ``1,000``, ``1/2``) becomes that token;
- ``lowercase``: every other token is lower-cased (the number token itself is kept, so
  PTB's ``N`` stays ``N``).

So a biLM trained on PTB text with ``lowercase=True, number_token="N"`` (idempotent there)
looks up cased text with digits, such as CoNLL POS data, in its own terms.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from torch import Tensor

from rnnkit.data.batching import pad_char_blocks, pad_sequences
from rnnkit.data.vocab import UNK, Vocab

PAD, BOS, EOS = "<pad>", "<s>", "</s>"
BILM_SPECIALS = (PAD, UNK, BOS, EOS)  # ids 0, 1, 2, 3 in both tables
UNK_ID, BOS_ID, EOS_ID = 1, 2, 3
_NUMBER = re.compile(r"[+-]?[\d.,:/-]*\d[\d.,:/-]*")


class BiLMVocab:
    """Word table (the softmax and word input), optional character table, normalisation.

    Args:
        words: the word ``Vocab`` (specials ``BILM_SPECIALS`` first).
        chars: the character ``Vocab`` (same specials), or None for word input only.
        lowercase, number_token: the normalisation (see the module docstring).
        max_word_length: characters kept per token.

    Example:
        >>> vocab = BiLMVocab.build([["The", "cat", "sat"], ["a", "cat"]], lowercase=True)
        >>> vocab.encode(["the", "dog"])["words"]          # <s> the <unk> </s>
        [2, 7, 1, 3]
    """

    def __init__(
        self,
        words: Vocab,
        chars: Vocab | None = None,
        lowercase: bool = False,
        number_token: str | None = None,
        max_word_length: int = 20,
    ) -> None:
        for name, table in (("words", words), ("chars", chars)):
            if table is not None and table.tokens[: len(BILM_SPECIALS)] != list(BILM_SPECIALS):
                raise ValueError(
                    f"BiLMVocab: the {name} table must start with {list(BILM_SPECIALS)}, "
                    f"got {table.tokens[: len(BILM_SPECIALS)]}"
                )
        self.words, self.chars = words, chars
        self.lowercase, self.number_token = lowercase, number_token
        self.max_word_length = max_word_length

    @classmethod
    def build(
        cls,
        sentences: Iterable[Sequence[str]],
        min_freq: int = 1,
        max_size: int | None = None,
        chars: bool = False,
        lowercase: bool = False,
        number_token: str | None = None,
        max_word_length: int = 20,
    ) -> BiLMVocab:
        """Count normalised tokens: the ``max_size`` most frequent seen ``min_freq`` times."""
        probe = cls(Vocab(BILM_SPECIALS, BILM_SPECIALS), None, lowercase, number_token)
        counts = Counter(probe.normalize(t) for s in sentences for t in s)
        words = Vocab.from_counts(counts, min_freq, max_size, BILM_SPECIALS)
        char_table = None
        if chars:
            char_counts: Counter[str] = Counter()
            for token, n in counts.items():
                if token not in BILM_SPECIALS:
                    for c in token:
                        char_counts[c] += n
            char_table = Vocab.from_counts(char_counts, 1, None, BILM_SPECIALS)
        return cls(words, char_table, lowercase, number_token, max_word_length)

    def normalize(self, token: str) -> str:
        """The form a token is looked up in (number mapping, then lower case)."""
        if self.number_token is not None and _NUMBER.fullmatch(token):
            return self.number_token
        if self.lowercase and token != self.number_token and token not in BILM_SPECIALS:
            return token.lower()
        return token

    def encode(self, tokens: Sequence[str]) -> dict[str, Any]:
        """One sentence: ``{"words": [<s>, ids.., </s>]}``, plus with characters
        ``"chars"``: ((n+2, C) ids, (n+2,) lengths), padded once here."""
        norm = [self.normalize(t) for t in tokens]
        item: dict[str, Any] = {"words": [BOS_ID, *self.words.to_ids(norm), EOS_ID]}
        if self.chars is not None:
            cut = self.max_word_length
            spelled = [self.chars.to_ids(t[:cut]) or [UNK_ID] for t in norm]
            item["chars"] = pad_sequences([[BOS_ID], *spelled, [EOS_ID]])
        return item

    def collate(self, items: list[dict[str, Any]]) -> dict[str, Tensor]:
        """Encoded sentences -> ``{"words" (N, L), "lengths" (N,), ["chars" (N, L, C),
        "char_lengths" (N, L)]}``, padded with id 0: a biLM batch."""
        words, lengths = pad_sequences([it["words"] for it in items])
        batch = {"words": words, "lengths": lengths}
        if self.chars is None:
            return batch
        chars, char_lengths = pad_char_blocks([it["chars"] for it in items], words.shape[1])
        return {**batch, "chars": chars, "char_lengths": char_lengths}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: both tables and the normalisation."""
        return {
            "words": self.words.to_dict(),
            "chars": None if self.chars is None else self.chars.to_dict(),
            "lowercase": self.lowercase,
            "number_token": self.number_token,
            "max_word_length": self.max_word_length,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BiLMVocab:
        chars = d.get("chars")
        return cls(
            Vocab.from_dict(d["words"]),
            None if chars is None else Vocab.from_dict(chars),
            bool(d.get("lowercase", False)),
            d.get("number_token"),
            int(d.get("max_word_length", 20)),
        )
