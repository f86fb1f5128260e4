"""Predictor for a trained abstractive summarizer (pointer-generator): generated summaries."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnkit.tasks.abstractive_decode import AbstractiveSummarizer, first_sentences
from rnnkit.tasks.predictors.base import Predictor, check_texts
from rnnkit.tasks.predictors.summarize import Summary, as_documents


def _positive(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value < 1):  # fmt: skip
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")


class AbstractiveSummarizerPredictor(Predictor):
    """A trained pointer-generator with its vocabulary and decoding defaults.

    ``summarize`` returns the same ``Summary`` objects as the extractive predictor; the
    summary is written by the model, so ``picked`` is empty and every sentence score None.

    Example:
        >>> summ = rnnkit.load("runs/bbc-abstractive")
        >>> summ.summarize([article])[0].summary  # doctest: +SKIP
        'ad sales boost time warner profit'
    """

    task = "summarize"
    methods = ("summarize",)

    def __init__(self, summarizer: AbstractiveSummarizer, path: Path, meta: dict[str, Any]):
        super().__init__(summarizer.model, path, meta)
        self.summarizer = summarizer

    def vocab_size(self) -> int:
        return self.summarizer.encoder.tokenizer.vocab_size

    def summarize(
        self,
        documents: Sequence[str],
        max_sentences: int | None = None,
        max_words: int | None = None,
        beam: int = 5,
    ) -> list[Summary]:
        """Generate a summary of each document (plain text) by beam search.

        Args:
            max_sentences: keep the first K sentences the model writes (up to its K-th
                ``.``, ``!`` or ``?``; default: all of them).
            max_words: the most output tokens (default: three times the median training
                reference plus 10).
            beam: beam size (1: greedy).
        """
        texts = check_texts("documents", documents)
        _positive("max_sentences", max_sentences)
        _positive("max_words", max_words)
        _positive("beam", beam)
        docs = as_documents(texts)
        generated = self.summarizer.generate(docs, beam=beam, max_length=max_words)
        return [Summary(" ".join(first_sentences(g.tokens, max_sentences)), [], d.sentences,
                        [None] * len(d.sentences)) for g, d in zip(generated, docs)]  # fmt: skip
