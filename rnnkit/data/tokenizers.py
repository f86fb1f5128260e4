"""Tokenizers: text -> ids -> text, at the character, word or byte-level BPE level.

All three share one interface (``Tokenizer``, in ``tokenizer_base.py``): ``encode``,
``decode``, ``vocab_size``, ``level``, ``unk_id``/``eos_id``, ``id_to_token``/``token_to_id``
and ``save(directory)``, which writes ``directory/tokenizer.json`` (plain JSON with a top-level
``"type"``; never pickle) that ``load_tokenizer`` reads back. Every vocabulary holds
``<unk>`` and ``<eos>``.

- ``CharTokenizer``: one id per character seen in training; decode concatenates.
- ``WordTokenizer``: whitespace-separated words, each newline is ``<eos>`` (the Penn Treebank LM
  convention; a literal ``<unk>`` in the text is the ``<unk>`` id).
- ``TextTokenizer``: words and punctuation marks as separate tokens, lower-cased by default, for
  classification and tagging (and the language models pretrained for them).
- ``BPETokenizer``: byte-level BPE (Sennrich et al. 2016; GPT-2's byte-level variant, Radford et
  al. 2019) trained by Hugging Face ``tokenizers``; any text round-trips exactly.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from rnnkit.data.errors import DataError
from rnnkit.data.tokenizer_base import FILENAME, Tokenizer
from rnnkit.data.vocab import EOS, SPECIALS, UNK, Vocab

__all__ = [
    "TOKENIZERS",
    "BPETokenizer",
    "CharTokenizer",
    "TextTokenizer",
    "Tokenizer",
    "WordTokenizer",
    "build_tokenizer",
    "load_tokenizer",
]


class _VocabTokenizer(Tokenizer):
    """Shared part of the char and word tokenizers: a ``Vocab`` table."""

    def __init__(self, vocab: Vocab) -> None:
        missing = [t for t in SPECIALS if t not in vocab]
        if missing:
            raise ValueError(f"{type(self).__name__}: the vocabulary lacks {missing}")
        self.vocab = vocab

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def id_to_token(self, i: int) -> str:
        return self.vocab.to_token(int(i))

    def token_to_id(self, token: str) -> int:
        return self.vocab.to_id(token)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.level, **self.vocab.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> _VocabTokenizer:
        return cls(Vocab.from_dict(d))


def _require_text(name: str, text: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{name}.train: expected a non-empty training text, got {text!r:.40}")


class CharTokenizer(_VocabTokenizer):
    """One id per character; unseen characters map to ``<unk>``.

    Decoding concatenates the tokens, so ``decode(encode(s)) == s`` whenever every character of
    ``s`` was seen in training (``<unk>`` decodes to the text ``"<unk>"``).

    Example:
        >>> tok = CharTokenizer.train("hello world")
        >>> tok.decode(tok.encode("hold")) == "hold", tok.encode("z") == [tok.unk_id]
        (True, True)
    """

    level: ClassVar[str] = "char"

    @classmethod
    def train(cls, text: str, min_freq: int = 1) -> CharTokenizer:
        """Build the table from the characters of ``text`` seen at least ``min_freq`` times."""
        _require_text("CharTokenizer", text)
        counts = Counter(text)
        kept = sorted(c for c, n in counts.items() if n >= min_freq)  # by code point
        return cls(Vocab([*SPECIALS, *kept]))

    def encode(self, text: str) -> list[int]:
        return self.vocab.to_ids(text)

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.vocab.to_token(int(i)) for i in ids)


class WordTokenizer(_VocabTokenizer):
    """Whitespace-separated words; each newline is the ``<eos>`` token.

    Penn Treebank language-model text already holds ``<unk>`` for rare words: it maps to the
    ``<unk>`` id (specials are never counted as words). Decoding joins words with single spaces
    and turns ``<eos>`` back into a newline, so text with single spaces and no leading or
    trailing blanks on a line round-trips exactly.

    Example:
        >>> tok = WordTokenizer.train("the cat sat\\nthe <unk> sat\\n")
        >>> tok.decode(tok.encode("the cat sat\\n"))
        'the cat sat\\n'
        >>> tok.encode("the <unk>")[1] == tok.unk_id
        True
    """

    level: ClassVar[str] = "word"

    @staticmethod
    def split(text: str) -> list[str]:
        """Word strings of ``text``, with ``<eos>`` for each newline."""
        lines = text.split("\n")
        words: list[str] = []
        for line in lines[:-1]:
            words.extend(line.split())
            words.append(EOS)
        words.extend(lines[-1].split())
        return words

    @classmethod
    def train(cls, text: str, min_freq: int = 1, max_size: int | None = None) -> WordTokenizer:
        """Keep words seen ``min_freq`` times, at most ``max_size`` of them (specials extra)."""
        _require_text("WordTokenizer", text)
        return cls(Vocab.from_counts(Counter(cls.split(text)), min_freq, max_size))

    def encode(self, text: str) -> list[int]:
        return self.vocab.to_ids(self.split(text))

    def decode(self, ids: Sequence[int]) -> str:
        out: list[str] = []
        line_start = True
        for i in ids:
            token = self.vocab.to_token(int(i))
            if token == EOS:
                out.append("\n")
                line_start = True
            else:
                out.append(token if line_start else " " + token)
                line_start = False
        return "".join(out)


class TextTokenizer(WordTokenizer):
    """Words and punctuation as separate tokens, optionally lower-cased; newlines are ``<eos>``.

    A word is a run of letters/digits/underscores, with an inner apostrophe kept (``don't``,
    ``o'clock``); every other non-space character is a token of its own. Decoding joins tokens
    with spaces (the original spacing is not kept).

    Example:
        >>> tok = TextTokenizer.train("It's good, isn't it?")
        >>> TextTokenizer.split("It's good, isn't it?", lowercase=True)
        ["it's", 'good', ',', "isn't", 'it', '?']
    """

    level: ClassVar[str] = "text"
    _PATTERN = re.compile(r"\w+(?:'\w+)*|[^\w\s]")

    def __init__(self, vocab: Vocab, lowercase: bool = True) -> None:
        super().__init__(vocab)
        self.lowercase = lowercase

    @classmethod
    def split(cls, text: str, lowercase: bool = True) -> list[str]:  # type: ignore[override]
        """Tokens of ``text``, with ``<eos>`` for each newline."""
        if lowercase:
            text = text.lower()
        lines = text.split("\n")
        words: list[str] = []
        for k, line in enumerate(lines):
            if k:
                words.append(EOS)
            words.extend(cls._PATTERN.findall(line))
        return words

    @classmethod
    def train(  # type: ignore[override]
        cls, text: str, min_freq: int = 1, max_size: int | None = None, lowercase: bool = True
    ) -> TextTokenizer:
        """Keep tokens seen ``min_freq`` times, at most ``max_size`` of them (specials extra)."""
        _require_text("TextTokenizer", text)
        counts = Counter(cls.split(text, lowercase))
        return cls(Vocab.from_counts(counts, min_freq, max_size), lowercase)

    def tokenize(self, text: str) -> list[str]:
        """The token strings of ``text`` (unknown ones included as they are)."""
        return self.split(text, self.lowercase)

    def encode(self, text: str) -> list[int]:
        return self.vocab.to_ids(self.split(text, self.lowercase))

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "lowercase": self.lowercase}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TextTokenizer:
        return cls(Vocab.from_dict(d), bool(d.get("lowercase", True)))


class BPETokenizer(Tokenizer):
    """Byte-level BPE through Hugging Face ``tokenizers``: any text round-trips exactly.

    Text is split GPT-2 style into words and whitespace runs (ByteLevel pre-tokenizer, no
    prefix space), mapped to bytes, and merged; the ByteLevel decoder undoes it, so there are no
    unknown symbols (``<unk>`` exists for the shared interface; a literal ``<unk>`` or ``<eos>``
    in the text encodes to that special id and decodes back to the same text). Token strings
    (``id_to_token``) are in the byte-level alphabet, e.g. ``"Ġthe"`` for ``" the"``.

    Args:
        hf_tokenizer: a trained ``tokenizers.Tokenizer`` holding ``<unk>`` and ``<eos>``.

    Example:
        >>> tok = BPETokenizer.train("low lower lowest " * 50, vocab_size=270)
        >>> tok.decode(tok.encode("lowest\\tnewest 😀")) == "lowest\\tnewest 😀"
        True
    """

    level: ClassVar[str] = "bpe"
    #: the 256 byte symbols plus ``<unk>`` and ``<eos>``: the smallest possible vocabulary
    MIN_VOCAB_SIZE: ClassVar[int] = 256 + len(SPECIALS)

    def __init__(self, hf_tokenizer: Any) -> None:
        missing = [t for t in SPECIALS if hf_tokenizer.token_to_id(t) is None]
        if missing:
            raise ValueError(f"BPETokenizer: the Hugging Face tokenizer lacks {missing}")
        self.hf = hf_tokenizer

    @classmethod
    def train(cls, text: str, vocab_size: int = 2000) -> BPETokenizer:
        """Learn merges on ``text`` until ``vocab_size`` ids (fewer if no pair is left)."""
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import decoders, models, pre_tokenizers, trainers

        _require_text("BPETokenizer", text)
        if vocab_size < cls.MIN_VOCAB_SIZE:
            raise ValueError(
                f"BPETokenizer: vocab_size must be >= {cls.MIN_VOCAB_SIZE} "
                f"(256 bytes + {list(SPECIALS)}), got {vocab_size}"
            )
        hf = HFTokenizer(models.BPE())
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        hf.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=list(SPECIALS),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        # lines keep their newline, so pre-tokens match those of the whole text
        hf.train_from_iterator(text.splitlines(keepends=True), trainer)
        return cls(hf)

    @property
    def vocab_size(self) -> int:
        return self.hf.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.hf.encode(text).ids

    def decode(self, ids: Sequence[int]) -> str:
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise IndexError(f"BPETokenizer: id {bad[0]} is out of range [0, {self.vocab_size})")
        return self.hf.decode(ids, skip_special_tokens=False)

    def id_to_token(self, i: int) -> str:
        token = self.hf.id_to_token(int(i))
        if token is None:
            raise IndexError(f"BPETokenizer: id {i} is out of range [0, {self.vocab_size})")
        return token

    def token_to_id(self, token: str) -> int:
        i = self.hf.token_to_id(token)
        return self.hf.token_to_id(UNK) if i is None else i

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.level, "hf_tokenizer": self.hf.to_str()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BPETokenizer:
        from tokenizers import Tokenizer as HFTokenizer

        return cls(HFTokenizer.from_str(d["hf_tokenizer"]))


TOKENIZERS: dict[str, type[Tokenizer]] = {
    "char": CharTokenizer,
    "word": WordTokenizer,
    "text": TextTokenizer,
    "bpe": BPETokenizer,
}


def build_tokenizer(level: str, text: str, **options: Any) -> Tokenizer:
    """Train the tokenizer of ``level`` on ``text``; ``options`` go to its ``train``.

    Args:
        level: ``"char"``, ``"word"``, ``"text"`` or ``"bpe"``.
        text: the training text.
        **options: e.g. ``min_freq`` (char, word, text), ``max_size`` (word, text),
            ``lowercase`` (text), ``vocab_size`` (bpe).

    Example:
        >>> build_tokenizer("word", "a b\\nb c\\n", min_freq=2).vocab_size
        3
    """
    if level not in TOKENIZERS:
        raise ValueError(
            f"build_tokenizer: unknown level {level!r}; expected one of {[*TOKENIZERS]}"
        )
    return TOKENIZERS[level].train(text, **options)  # type: ignore[attr-defined]


def load_tokenizer(directory: str | Path) -> Tokenizer:
    """Read ``directory/tokenizer.json`` written by ``Tokenizer.save``.

    Args:
        directory: the directory given to ``save`` (or the path of the JSON file itself).

    Raises:
        DataError: the file is missing, not JSON, or of an unknown ``"type"``.
    """
    path = Path(directory)
    if path.is_dir() or not path.name.endswith(".json"):
        path = path / FILENAME
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; expected a tokenizer saved with save()") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a valid tokenizer.json ({exc})") from None
    kind = d.get("type") if isinstance(d, dict) else None
    if kind not in TOKENIZERS:
        raise DataError(f"{path}: unknown tokenizer type {kind!r}; expected one of {[*TOKENIZERS]}")
    try:
        return TOKENIZERS[kind].from_dict(d)
    except Exception as exc:  # the Hugging Face parser raises a bare Exception
        raise DataError(f"{path}: malformed {kind} tokenizer ({exc!r})") from None
