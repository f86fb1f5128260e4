"""Predictor for a trained extractive summarizer: the picked sentences and every score."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rnnkit.data.documents import Document
from rnnkit.models.summarizer import select_sentences
from rnnkit.tasks.predictors.base import Predictor, check_texts
from rnnkit.tasks.summarize import Summarizer, load_summarizer
from rnnkit.training.evaluation import model_device, to_device


@dataclass
class Summary:
    """One document's result: its ``sentences``, each one's ``scores`` (P(in summary); None
    past the model's sentence limit), the ``picked`` indices (document order) and ``summary``
    (the picked sentences joined by spaces)."""

    summary: str
    picked: list[int]
    sentences: list[str]
    scores: list[float | None]

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary, "picked": self.picked, "sentences": self.sentences,
                "scores": self.scores}  # fmt: skip


def as_documents(texts: list[str]) -> list[Document]:
    """Each text split into sentences; an empty one is refused by its index."""
    docs = []
    for i, text in enumerate(texts):
        doc = Document(text.strip())
        if not doc.sentences:
            raise ValueError(f"documents[{i}]: empty document")
        docs.append(doc)
    return docs


def _check_budget(max_sentences: int | None, max_words: int | None) -> None:
    for name, value in (("max_sentences", max_sentences), ("max_words", max_words)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):  # fmt: skip
            raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    if max_sentences is not None and max_words is not None:
        raise ValueError("max_words: give max_sentences or max_words, not both")


class SummarizerPredictor(Predictor):
    """A trained ``SummaRuNNer`` with its tokenizer and default budget.

    Example:
        >>> summ = rnnkit.load("runs/news")
        >>> result = summ.summarize([article], max_sentences=2)[0]  # doctest: +SKIP
        >>> result.summary, result.scores
    """

    task = "summarize"
    methods = ("summarize",)

    def __init__(self, summarizer: Summarizer, path: Path, meta: dict[str, Any]) -> None:
        super().__init__(summarizer.model, path, meta)
        self.summarizer = summarizer

    @classmethod
    def load(cls, path: str | Path, meta: dict[str, Any]) -> Predictor:
        """The predictor of the model in ``path``; an abstractive model (``meta``'s
        ``summary_type``) gets an ``AbstractiveSummarizerPredictor``."""
        summarizer = load_summarizer(Path(path))
        if not isinstance(summarizer, Summarizer):
            from rnnkit.tasks.predictors.abstractive import AbstractiveSummarizerPredictor

            return AbstractiveSummarizerPredictor(summarizer, Path(path), meta)
        return cls(summarizer, Path(path), meta)

    def vocab_size(self) -> int:
        return self.summarizer.encoder.tokenizer.vocab_size

    @torch.no_grad()
    def summarize(
        self,
        documents: Sequence[str],
        max_sentences: int | None = None,
        max_words: int | None = None,
    ) -> list[Summary]:
        """Summarize each document (plain text, split into sentences) within the budget: at
        most ``max_sentences`` sentences or ``max_words`` words (default: the model's budget,
        the median length of its training references)."""
        texts = check_texts("documents", documents)
        _check_budget(max_sentences, max_words)
        if max_sentences is None and max_words is None:
            max_sentences = self.summarizer.summary_sentences
        docs = as_documents(texts)
        encoder = self.summarizer.encoder
        out: list[Summary] = []
        device = model_device(self.summarizer.model)
        for batch in encoder.batches(docs, encoder.cfg.eval_batch_size, False, labelled=False):
            probs = self.summarizer.model.predict(to_device(batch, device))  # (N, S)
            for i, n in enumerate(batch["lengths"].tolist()):
                doc = docs[len(out)]
                scores = probs[i, :n].tolist()
                words = [len(s.split()) for s in doc.sentences[:n]]
                picked = select_sentences(scores, words, max_sentences, max_words)
                padded: list[float | None] = [*scores, *[None] * (len(doc.sentences) - n)]
                out.append(Summary(" ".join(doc.sentences[j] for j in picked), picked,
                                   doc.sentences, padded))  # fmt: skip
        return out
