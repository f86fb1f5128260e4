"""Decoding a trained pointer-generator summarizer: summaries by beam search, and ROUGE.

``AbstractiveSummarizer.generate`` encodes documents in length-sorted batches and runs
``rnnkit.decoding.beam_search`` with the summary rules (``min_length``: no end before that many
tokens; ``no_repeat_ngram_size``: no n-gram twice, 3 by default, which stops the loops a
recurrent decoder falls into; ``no_adjacent_repeats``: no word or phrase twice in a row, copied
words included). Token ids past the vocabulary are the document's own
out-of-vocabulary words, copied (``rnnkit.tasks.abstractive``). The summary is the tokens
joined by spaces (lower-cased when the model lower-cases). ``evaluate_abstractive`` scores
ROUGE-1/2/L F1 with Lead and the oracle beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rnnkit.data import TextTokenizer
from rnnkit.data.documents import Document
from rnnkit.decoding import NoAdjacentRepeat, beam_search
from rnnkit.metrics.rouge import rouge_metrics
from rnnkit.models import Seq2Seq
from rnnkit.tasks.abstractive import AbstractiveEncoder, Source
from rnnkit.tasks.summarize import (
    SummarizeDataConfig,
    lead_summary,
    oracle_summary,
    read_summaries,
)
from rnnkit.training.evaluation import model_device, to_device

#: tokens that end a sentence of a generated summary (``max_sentences`` cuts after them)
SENTENCE_ENDS = frozenset({".", "!", "?"})


def first_sentences(words: list[str], max_sentences: int | None) -> list[str]:
    """The words of a generated summary up to the end of its ``max_sentences``-th sentence
    (the K-th ``.``, ``!`` or ``?`` token); all of them with None or fewer sentences.

    Example:
        >>> first_sentences("tax cuts planned . bank rates rise .".split(), 1)
        ['tax', 'cuts', 'planned', '.']
    """
    if max_sentences is None:
        return words
    ends = 0
    for i, word in enumerate(words):
        if word in SENTENCE_ENDS:
            ends += 1
            if ends == max_sentences:
                return words[: i + 1]
    return words


@dataclass
class Generated:
    """One document's summary: its ``text``, ``tokens`` and beam ``score`` (log-probability
    over the length penalty)."""

    text: str
    tokens: list[str]
    score: float


class AbstractiveSummarizer:
    """A trained pointer-generator with its vocabulary and decoding defaults.

    Example:
        >>> summarizer = load_summarizer("runs/bbc-abstractive")
        >>> summarizer.summarize([Document(article)])  # doctest: +SKIP
        ['ad sales boost time warner profit']
    """

    def __init__(self, model: Seq2Seq, encoder: AbstractiveEncoder, meta: dict[str, Any]):
        self.model, self.encoder = model.eval(), encoder
        self.summary_sentences = int(meta.get("summary_sentences", 1))
        self.summary_tokens = int(meta.get("summary_tokens", 10))
        self._adjacent: NoAdjacentRepeat | None = None

    @classmethod
    def from_parts(
        cls, directory: str | Path, model: Any, tokenizer: Any, meta: dict[str, Any]
    ) -> AbstractiveSummarizer:
        if not isinstance(model, Seq2Seq) or not isinstance(tokenizer, TextTokenizer):
            raise ValueError(f"{directory}: not an abstractive summarizer")
        cfg = SummarizeDataConfig.from_dict(meta["data"])
        return cls(model, AbstractiveEncoder(tokenizer, cfg, model.config.copy), meta)

    def defaults(self) -> tuple[int, int]:
        """``(min_length, max_length)`` in tokens: the configured minimum (default: half the
        median training reference), at most three times the median reference plus 10."""
        cfg = self.encoder.cfg
        low = cfg.min_length if cfg.min_length is not None else self.summary_tokens // 2
        return low, 3 * self.summary_tokens + 10

    @torch.no_grad()
    def generate(
        self,
        documents: Sequence[Document],
        beam: int = 5,
        max_length: int | None = None,
        min_length: int | None = None,
        no_repeat_ngram_size: int | None = None,
        length_penalty: float = 1.0,
        no_adjacent_repeats: bool | None = None,
    ) -> list[Generated]:
        """A summary per document, in input order, each independent of the others.

        Args:
            beam: beam size (1: greedy).
            max_length, min_length: output tokens (defaults: ``defaults()``).
            no_repeat_ngram_size: default the model's (``data.no_repeat_ngram_size``, 3).
            length_penalty: alpha of the GNMT length penalty.
            no_adjacent_repeats: forbid a word or phrase twice in a row; default the model's
                (``data.no_adjacent_repeats``).
        """
        low, high = self.defaults()
        max_length = high if max_length is None else max_length
        min_length = min(low if min_length is None else min_length, max_length)
        ngram = self.encoder.cfg.no_repeat_ngram_size
        ngram = ngram if no_repeat_ngram_size is None else no_repeat_ngram_size
        adjacent = self.encoder.cfg.no_adjacent_repeats
        adjacent = adjacent if no_adjacent_repeats is None else no_adjacent_repeats
        rules = [self.adjacent_rule()] if adjacent else []
        sources = [self.encoder.source(d) for d in documents]
        order = sorted(range(len(sources)), key=lambda i: len(sources[i].ids))
        out: list[Generated | None] = [None] * len(sources)
        eos, size = self.encoder.tokenizer.eos_id, self.encoder.cfg.eval_batch_size
        device = model_device(self.model)
        for start in range(0, len(order), size):
            chunk = order[start : start + size]
            batch = to_device(self.encoder.collate_sources([sources[i] for i in chunk]), device)
            state = self.model.encode(batch["source"], batch["source_lengths"],
                                      batch["source_ids"], int(batch["extra"]))  # fmt: skip
            first = self.model.first_tokens(len(chunk), device)
            hyps = beam_search(self.model, state, first,
                               max_length, beam, eos_id=eos, length_penalty=length_penalty,
                               min_length=min_length, rules=rules,
                               no_repeat_ngram_size=ngram)  # fmt: skip
            for row, i in enumerate(chunk):
                best = hyps[row][0]
                words = self.words(best.tokens, sources[i])
                out[i] = Generated(" ".join(words), words, best.score)
        return [g for g in out if g is not None]

    def adjacent_rule(self) -> NoAdjacentRepeat:
        """``NoAdjacentRepeat`` over the word vocabulary (built once)."""
        if self._adjacent is None:
            tokenizer = self.encoder.tokenizer
            special = {tokenizer.eos_id, tokenizer.unk_id}
            texts = ["" if i in special else tokenizer.vocab.to_token(i)
                     for i in range(tokenizer.vocab_size)]  # fmt: skip
            self._adjacent = NoAdjacentRepeat.from_texts(texts, words=True)
        return self._adjacent

    def words(self, ids: Sequence[int], source: Source) -> list[str]:
        """Token strings of output ids: vocabulary words, or the source's copied OOV words."""
        vocab, size = self.encoder.tokenizer.vocab, self.encoder.tokenizer.vocab_size
        eos, unk = self.encoder.tokenizer.eos_id, self.encoder.tokenizer.unk_id
        out = []
        for i in map(int, ids):
            if i >= size:  # an id past the batch's OOV words of this document: never likely
                out.append(source.oov[i - size] if i - size < len(source.oov)
                           else vocab.to_token(unk))  # fmt: skip
            elif i != eos:
                out.append(vocab.to_token(i))
        return out

    def summarize(
        self,
        documents: Sequence[Document],
        max_sentences: int | None = None,
        max_words: int | None = None,
        beam: int = 5,
    ) -> list[str]:
        """The generated summary of each document; ``max_words`` caps its tokens and
        ``max_sentences`` keeps its first sentences (``first_sentences``)."""
        generated = self.generate(documents, beam=beam, max_length=max_words)
        return [" ".join(first_sentences(g.tokens, max_sentences)) for g in generated]


def evaluate_abstractive(
    summarizer: AbstractiveSummarizer,
    path: str | Path,
    max_sentences: int | None = None,
    max_words: int | None = None,
    beam: int = 5,
) -> dict[str, Any]:
    """ROUGE-1/2/L F1 x 100 of the generated summaries of a JSONL file, with Lead and the
    oracle at ``max_sentences`` (default: the model's sentence budget, which the generated
    summaries are not cut to)."""
    documents = read_summaries(summarizer.encoder.cfg, str(path), require_summary=True)
    references = [d.summary or "" for d in documents]
    outputs = summarizer.summarize(documents, max_sentences, max_words, beam=beam)
    metrics = rouge_metrics(outputs, references)
    sentences = summarizer.summary_sentences if max_sentences is None else max_sentences
    metrics["lead"] = rouge_metrics([lead_summary(d, sentences, None) for d in documents],
                                    references)  # fmt: skip
    metrics["oracle"] = rouge_metrics([oracle_summary(d, sentences) for d in documents],
                                      references)  # fmt: skip
    metrics["budget"] = {"max_sentences": sentences, "max_words": None}
    low, high = summarizer.defaults()
    metrics["decoding"] = {
        "beam": beam,
        "min_length": low,
        "max_length": high if max_words is None else max_words,
        "no_repeat_ngram_size": summarizer.encoder.cfg.no_repeat_ngram_size,
        "no_adjacent_repeats": summarizer.encoder.cfg.no_adjacent_repeats,
    }
    metrics["mean_words"] = round(sum(len(o.split()) for o in outputs) / len(outputs), 2)
    return metrics
