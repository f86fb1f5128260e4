"""Abstractive summarization recipe: (document, summary) pairs -> a pointer-generator.

``train_abstractive`` reads the same JSONL documents as the extractive recipe, builds one
word-and-punctuation vocabulary for articles and summaries (so a source word and a summary
word share an id, which copying needs), and trains a ``Seq2Seq`` with copy attention and
coverage (See, Liu & Manning 2017) by teacher forcing: the source is the article's first
``max_source_tokens`` tokens, the target the reference's first ``max_summary_tokens``.

Out-of-vocabulary words: each document numbers its source words missing from the vocabulary
V, V + 1, ... (its *extended* ids, ``source_ids``); a reference word missing from the
vocabulary is learnt as its extended id when the source holds it (the model must copy it) and
as ``<unk>`` otherwise. Decoding maps extended ids back to the document's words
(``rnnkit.tasks.abstractive_decode``).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rnnkit.data import TextTokenizer
from rnnkit.data.batching import pad_sequences
from rnnkit.data.documents import Document
from rnnkit.models import Seq2Seq
from rnnkit.models.io import save_model_dir
from rnnkit.tasks.batches import Batches, shard_examples
from rnnkit.tasks.recipe import fit, split_data
from rnnkit.tasks.summarize import (
    SummarizeDataConfig,
    default_budget,
    read_summaries,
    validation_rouge,
)
from rnnkit.training import TrainerConfig, TrainResult
from rnnkit.training import distributed as dist


@dataclass
class Source:
    """One document as the model reads it: ``ids`` (vocabulary ids, OOV as ``<unk>``),
    ``extended`` (OOV words as V + k) and ``oov`` (the words behind V, V + 1, ...)."""

    ids: list[int]
    extended: list[int]
    oov: list[str]


class AbstractiveEncoder:
    """Documents -> padded source ids, extended source ids and targets for a ``Seq2Seq``.

    The source ends with ``<eos>``; the decoder reads ``<eos> y_1 .. y_T`` (``<eos>`` doubles
    as the start symbol) and predicts ``y_1 .. y_T <eos>``. Without ``copy`` (a model that
    only generates) every target word outside the vocabulary is ``<unk>``.
    """

    def __init__(self, tokenizer: TextTokenizer, cfg: SummarizeDataConfig, copy: bool) -> None:
        self.tokenizer, self.cfg, self.copy = tokenizer, cfg, copy

    def words(self, text: str, limit: int) -> list[str]:
        """The first ``limit`` tokens of ``text`` (paragraph breaks read as spaces)."""
        return self.tokenizer.tokenize(text.replace("\n", " "))[:limit]

    def source(self, document: Document) -> Source:
        vocab, unk = self.tokenizer.vocab, self.tokenizer.unk_id
        words = self.words(document.text, self.cfg.max_source_tokens)
        ids = vocab.to_ids(words)
        oov: list[str] = []
        extended = []
        for word, i in zip(words, ids):
            if i == unk:
                if word not in oov:
                    oov.append(word)
                i = self.tokenizer.vocab_size + oov.index(word)
            extended.append(i)
        eos = self.tokenizer.eos_id
        return Source([*ids, eos], [*extended, eos], oov)

    def target(self, summary: str, source: Source) -> list[int]:
        """The reference's ids; OOV words in the source as their extended id (when copying),
        others unk."""
        words = self.words(summary, self.cfg.max_summary_tokens)
        ids = self.tokenizer.vocab.to_ids(words)
        if not self.copy:
            return ids
        unk, size = self.tokenizer.unk_id, self.tokenizer.vocab_size
        return [size + source.oov.index(w) if i == unk and w in source.oov else i
                for w, i in zip(words, ids)]  # fmt: skip

    def collate_sources(self, sources: Sequence[Source]) -> dict[str, torch.Tensor]:
        eos = self.tokenizer.eos_id
        tokens, lengths = pad_sequences([s.ids for s in sources], pad=eos)
        extended, _ = pad_sequences([s.extended for s in sources], pad=eos)
        extra = max(len(s.oov) for s in sources)
        return {"source": tokens, "source_lengths": lengths, "source_ids": extended,
                "extra": torch.tensor(extra)}  # fmt: skip

    def collate(self, items: list[tuple[Source, list[int]]]) -> dict[str, torch.Tensor]:
        batch = self.collate_sources([s for s, _ in items])
        eos = self.tokenizer.eos_id
        target_in, _ = pad_sequences([[eos, *t] for _, t in items], pad=eos)
        target_out, _ = pad_sequences([[*t, eos] for _, t in items], pad=-100)
        return {**batch, "target_in": target_in, "target_out": target_out}

    def batches(
        self, documents: Sequence[Document], batch_size: int, shuffle: bool, seed: int = 0
    ) -> Batches:
        items = []
        for document in documents:
            source = self.source(document)
            items.append((source, self.target(document.summary or "", source)))
        lengths = [len(s.ids) for s, _ in items]
        return Batches(items, self.collate, lengths, batch_size, shuffle, seed)


def summary_tokens(encoder: AbstractiveEncoder, documents: Sequence[Document]) -> int:
    """The median token count of the (truncated) references, at least 1."""
    counts = [len(encoder.words(d.summary or "", encoder.cfg.max_summary_tokens))
              for d in documents]  # fmt: skip
    return max(1, round(statistics.median(counts))) if counts else 1


def build_abstractive(
    data: SummarizeDataConfig, options: dict[str, Any], train: Sequence[Document], seed: int
) -> tuple[Seq2Seq, AbstractiveEncoder]:
    """A fresh pointer-generator and its encoder (vocabulary from the training documents)."""
    if data.max_source_tokens < 1 or data.max_summary_tokens < 1:
        raise ValueError("data.max_source_tokens and data.max_summary_tokens must be >= 1")
    lines = [" ".join(TextTokenizer.split(d.text.replace("\n", " "), data.lowercase)
                      [: data.max_source_tokens]) for d in train]  # fmt: skip
    lines += [(d.summary or "").replace("\n", " ") for d in train]
    tokenizer = TextTokenizer.train("\n".join(lines), data.min_freq, data.max_vocab,
                                    data.lowercase)  # fmt: skip
    torch.manual_seed(seed)
    size = tokenizer.vocab_size
    model = Seq2Seq(size, size, **options, share_embeddings=True, bos_id=tokenizer.eos_id,
                    unk_id=tokenizer.unk_id)  # fmt: skip
    return model, AbstractiveEncoder(tokenizer, data, model.config.copy)


def train_abstractive(
    data: SummarizeDataConfig,
    model_options: dict[str, Any],
    trainer: TrainerConfig,
    out_dir: Path,
    resume: bool = False,
) -> TrainResult:
    """Train a pointer-generator; ``OUT/model`` holds the best one by ``trainer.monitor``
    (validation loss, or ROUGE of its beam-search summaries of the validation documents)."""
    out_dir = Path(out_dir)
    dist.init_from_env()
    train, valid = split_data(data, lambda path: read_summaries(data, path), trainer.seed)
    model, encoder = build_abstractive(data, model_options, train, trainer.seed)
    train_batches = encoder.batches(shard_examples(train), trainer.batch_size, True, trainer.seed)
    valid_batches = encoder.batches(valid, data.eval_batch_size, False)
    meta = {"task": "summarize", "summary_type": "abstractive", "data": data.to_dict(),
            "summary_sentences": default_budget(train),
            "summary_tokens": summary_tokens(encoder, train)}  # fmt: skip

    def export(directory: Path) -> None:
        save_model_dir(directory, model, encoder.tokenizer, meta)

    def summarize(m: nn.Module) -> list[str]:
        from rnnkit.tasks.abstractive_decode import AbstractiveSummarizer

        summarizer = AbstractiveSummarizer(m, encoder, meta)  # type: ignore[arg-type]
        return [g.text for g in summarizer.generate(valid)]

    score = validation_rouge(summarize, valid)
    return fit(model, train_batches, valid_batches, trainer, out_dir, export, resume, score)
