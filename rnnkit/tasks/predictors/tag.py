"""Predictor for a trained sequence tagger: a tag per token, and the entity spans they mark."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnkit.data import TextTokenizer
from rnnkit.data.conll import TaggedSentence
from rnnkit.metrics.tagging import bio_to_spans, bioes_to_bio
from rnnkit.models import SequenceTagger
from rnnkit.tasks.predictors.base import Predictor
from rnnkit.tasks.tag import TaggingEncoder, load_tagger, tag_sentences


@dataclass
class Span:
    """Tokens ``start`` to ``end`` (exclusive) form an entity of ``type``; ``text`` joins them
    with spaces."""

    type: str
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "start": self.start, "end": self.end, "text": self.text}


@dataclass
class Tagging:
    """One sentence's result: its tokens, a tag per token, and the spans of BIO/BIOES tags
    (empty for other tag sets, e.g. part-of-speech)."""

    tokens: list[str]
    tags: list[str]
    spans: list[Span] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "tags": self.tags,
                "spans": [s.to_dict() for s in self.spans]}  # fmt: skip


def tag_spans(tokens: Sequence[str], tags: Sequence[str]) -> list[Span]:
    """Entity spans of BIO or BIOES tags; none when the tags are not of that form."""
    if not any(t[:2] in ("B-", "I-", "E-", "S-") for t in tags):
        return []
    try:
        spans = bio_to_spans(bioes_to_bio(tags) if any(t[:2] in ("E-", "S-") for t in tags)
                             else tags)  # fmt: skip
    except ValueError:  # tags of another scheme (e.g. BILOU): no spans rather than a guess
        return []
    return [Span(kind, a, b, " ".join(tokens[a:b])) for kind, a, b in spans]


class TaggerPredictor(Predictor):
    """A trained ``SequenceTagger`` with its word, character and tag tables.

    Example:
        >>> tagger = rnnkit.load("runs/ner")
        >>> tagger.tag(["John lives in Paris ."])[0].spans  # doctest: +SKIP
        [Span(type='PER', start=0, end=1, text='John'), Span(type='LOC', ...)]
    """

    task = "tag"
    methods = ("tag",)

    def __init__(
        self, model: SequenceTagger, encoder: TaggingEncoder, path: Path, meta: dict[str, Any]
    ) -> None:
        super().__init__(model, path, meta)
        self.encoder = encoder

    @classmethod
    def load(cls, path: str | Path, meta: dict[str, Any]) -> TaggerPredictor:
        model, encoder = load_tagger(Path(path))
        return cls(model, encoder, Path(path), meta)

    def vocab_size(self) -> int:
        return len(self.encoder.words)

    def tokenize(self, text: str) -> list[str]:
        """Words and punctuation apart, case kept (``TextTokenizer.split``)."""
        return TextTokenizer.split(text, lowercase=False)

    def tag(self, texts: Sequence[str | Sequence[str]]) -> list[Tagging]:
        """Tag each input: a text (split into words and punctuation) or a list of tokens.

        An empty input gives an empty result. Batches are padded; padding does not change a
        sentence's tags.
        """
        if isinstance(texts, str) or not isinstance(texts, list | tuple):
            raise ValueError(f"texts: expected a list, got {type(texts).__name__}")
        token_lists = []
        for i, item in enumerate(texts):
            if isinstance(item, str):
                token_lists.append(self.tokenize(item))
            elif isinstance(item, list | tuple) and all(isinstance(t, str) and t for t in item):
                token_lists.append(list(item))
            else:
                raise ValueError(f"texts[{i}]: expected a string or a list of non-empty strings")
        filled = [i for i, t in enumerate(token_lists) if t]
        tags = tag_sentences(self.model, self.encoder,
                             [TaggedSentence(token_lists[i]) for i in filled])  # fmt: skip
        out = [Tagging([], []) for _ in token_lists]
        for i, row in zip(filled, tags):
            out[i] = Tagging(token_lists[i], row, tag_spans(token_lists[i], row))
        return out
