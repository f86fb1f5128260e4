"""Extractive summarization recipe: (document, summary) pairs -> oracle labels -> SummaRuNNer.

``train_summarizer`` reads JSONL documents with reference summaries, splits them into
sentences, labels the sentences with the greedy ROUGE oracle (``rnnkit.metrics.rouge``),
builds a word-and-punctuation tokenizer and trains a ``SummaRuNNer`` on batches of documents
bucketed by sentence count, writing ``OUT/model`` whenever the validation score improves
(by default ROUGE-1 of the validation summaries, ``trainer.monitor``; ``validation_rouge``).
``summarize_documents`` picks the best sentences up to a budget (k sentences or n words) and
returns them in document order; ``evaluate_summarizer`` scores ROUGE-1/2/L beside Lead-k and
the oracle at the same budget.

The default budget is the median number of sentences in the training references (one for
headlines); ``max_sentences`` / ``max_words`` override it at prediction time.

With ``model_options["type"] == "abstractive"`` (``rnnkit.tasks.summarize_model``) the same
entry points train, load and score a pointer-generator that writes the summary instead
(``rnnkit.tasks.abstractive``, ``rnnkit.tasks.abstractive_decode``).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rnnkit.config import Config
from rnnkit.data import TextTokenizer
from rnnkit.data.documents import Document, read_documents
from rnnkit.data.sentences import split_sentences
from rnnkit.metrics.rouge import greedy_oracle, rouge_metrics
from rnnkit.models.io import load_model_dir, save_model_dir
from rnnkit.models.summarizer import SummaRuNNer, select_sentences
from rnnkit.tasks.batches import Batches, shard_examples
from rnnkit.tasks.recipe import fit, split_data
from rnnkit.tasks.summarize_model import split_model_options
from rnnkit.training import TrainerConfig, TrainResult
from rnnkit.training import distributed as dist
from rnnkit.training.evaluation import model_device, to_device


@dataclass
class SummarizeDataConfig(Config):
    """Where the documents come from and how they become sentences of token ids.

    Fields:
        data / valid: JSONL files with ``text_key`` and ``summary_key`` strings per line; without
            ``valid`` a seeded ``valid_fraction`` of the training documents is held out.
        lowercase, min_freq, max_vocab: the tokenizer.
        max_document_sentences, max_sentence_words: longer documents and sentences are cut
            (only the first sentences can be extracted).
        oracle_sentences: at most this many sentences labelled 1 per document (``None``: until
            no sentence raises the oracle's ROUGE).
        summary_sentences: the default budget (``None``: the median sentence count of the
            training references).
        eval_batch_size: documents per batch for validation and prediction.
        max_source_tokens, max_summary_tokens: (abstractive) the article's first tokens read
            and the reference's first tokens learnt.
        min_length, no_repeat_ngram_size: (abstractive) beam search rules: no end before
            ``min_length`` tokens (``None``: half the median training reference length), no
            n-gram of this size twice (0: off).
        no_adjacent_repeats: (abstractive) no phrase of 1 to 8 words said twice in a row
            ("full full"; ``rnnkit.decoding.NoAdjacentRepeat``).
    """

    data: str | None = None
    valid: str | None = None
    valid_fraction: float = 0.1
    text_key: str = "text"
    summary_key: str = "summary"
    lowercase: bool = True
    min_freq: int = 1
    max_vocab: int | None = 50000
    max_document_sentences: int = 60
    max_sentence_words: int = 60
    oracle_sentences: int | None = None
    summary_sentences: int | None = None
    eval_batch_size: int = 16
    max_source_tokens: int = 400
    max_summary_tokens: int = 100
    min_length: int | None = None
    no_repeat_ngram_size: int = 3
    no_adjacent_repeats: bool = True


class DocumentEncoder:
    """Documents -> (N, S, W) token ids, sentence lengths, document lengths, oracle labels."""

    def __init__(self, tokenizer: TextTokenizer, cfg: SummarizeDataConfig) -> None:
        self.tokenizer, self.cfg = tokenizer, cfg

    def sentence_ids(self, document: Document) -> list[list[int]]:
        cut = self.cfg.max_sentence_words
        sentences = document.sentences[: self.cfg.max_document_sentences]
        return [(self.tokenizer.encode(s) or [self.tokenizer.unk_id])[:cut] for s in sentences]

    def item(self, document: Document, labelled: bool) -> dict[str, Any]:
        ids = self.sentence_ids(document)
        labels = [0.0] * len(ids)
        if labelled and document.summary:
            chosen = greedy_oracle(document.sentences[: len(ids)], document.summary,
                                   self.cfg.oracle_sentences)  # fmt: skip
            for i in chosen:
                labels[i] = 1.0
        return {"ids": ids, "labels": labels}

    def collate(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        n = len(items)
        s = max(len(it["ids"]) for it in items)
        w = max(len(sentence) for it in items for sentence in it["ids"])
        tokens = torch.zeros(n, s, w, dtype=torch.long)
        sentence_lengths = torch.zeros(n, s, dtype=torch.long)
        labels = torch.zeros(n, s)
        for i, it in enumerate(items):
            for j, sentence in enumerate(it["ids"]):
                tokens[i, j, : len(sentence)] = torch.tensor(sentence)
                sentence_lengths[i, j] = len(sentence)
            labels[i, : len(it["labels"])] = torch.tensor(it["labels"])
        lengths = torch.tensor([len(it["ids"]) for it in items])
        return {"tokens": tokens, "sentence_lengths": sentence_lengths, "lengths": lengths,
                "labels": labels}  # fmt: skip

    def batches(
        self, documents: Sequence[Document], batch_size: int, shuffle: bool, seed: int = 0,
        labelled: bool = True,
    ) -> Batches:  # fmt: skip
        items = [self.item(d, labelled) for d in documents]
        return Batches(items, self.collate, [len(it["ids"]) for it in items], batch_size,
                       shuffle, seed)  # fmt: skip


def read_summaries(
    cfg: SummarizeDataConfig, path: str, require_summary: bool = True
) -> list[Document]:
    """The documents of the JSONL file ``path`` under the keys of ``cfg``."""
    return read_documents(path, cfg.text_key, cfg.summary_key, require_summary)


def default_budget(documents: Sequence[Document]) -> int:
    """The median number of sentences of the reference summaries (at least 1)."""
    counts = [len(split_sentences(d.summary)) for d in documents if d.summary]
    return max(1, round(statistics.median(counts))) if counts else 1


def validation_rouge(
    summarize: Callable[[nn.Module], list[str]], documents: Sequence[Document]
) -> Callable[[nn.Module], dict[str, float]]:
    """A trainer ``score``: ROUGE-1/2/L F1 (x 100) of ``summarize(model)``, the summaries of
    ``documents`` in order, against their references."""
    references = [d.summary or "" for d in documents]

    def score(model: nn.Module) -> dict[str, float]:
        metrics = rouge_metrics(summarize(model), references)
        return {key: float(metrics[key]) for key in ("rouge1", "rouge2", "rougeL")}

    return score


def train_summarizer(
    data: SummarizeDataConfig,
    model_options: dict[str, Any],
    trainer: TrainerConfig,
    out_dir: Path,
    resume: bool = False,
) -> TrainResult:
    """Train a SummaRuNNer on oracle labels, with ``model_options["type"] == "abstractive"``
    a pointer-generator (``rnnkit.tasks.abstractive``), with ``"auto"`` both, keeping the one
    whose validation summaries score higher (``rnnkit.tasks.summarize_auto``); ``OUT/model``
    holds the best model by ``trainer.monitor`` (validation loss, or ROUGE of the validation
    summaries at the default budget)."""
    kind, model_options = split_model_options(model_options)
    if kind == "auto":
        from rnnkit.tasks.abstractive import train_abstractive
        from rnnkit.tasks.summarize_auto import train_auto

        candidates = {"extractive": train_summarizer, "abstractive": train_abstractive}
        return train_auto(data, model_options, trainer, out_dir, resume, candidates)
    if kind == "abstractive":
        from rnnkit.tasks.abstractive import train_abstractive

        return train_abstractive(data, model_options, trainer, out_dir, resume)
    out_dir = Path(out_dir)
    dist.init_from_env()
    train, valid = split_data(data, lambda path: read_summaries(data, path), trainer.seed)
    text = "\n".join(s for d in train for s in d.sentences[: data.max_document_sentences])
    tokenizer = TextTokenizer.train(text, data.min_freq, data.max_vocab, data.lowercase)
    encoder = DocumentEncoder(tokenizer, data)
    torch.manual_seed(trainer.seed)
    model = SummaRuNNer(tokenizer.vocab_size, **model_options)
    train_batches = encoder.batches(shard_examples(train), trainer.batch_size, True, trainer.seed)
    valid_batches = encoder.batches(valid, data.eval_batch_size, False)
    budget = data.summary_sentences or default_budget(train)
    meta = {"task": "summarize", "data": data.to_dict(), "summary_sentences": budget}

    def export(directory: Path) -> None:
        save_model_dir(directory, model, tokenizer, meta)

    def summarize(m: nn.Module) -> list[str]:
        return Summarizer(m, encoder, budget).summarize(valid)  # type: ignore[arg-type]

    score = validation_rouge(summarize, valid)
    return fit(model, train_batches, valid_batches, trainer, out_dir, export, resume, score)


@dataclass
class Summarizer:
    """A trained summarizer with its tokenizer and default budget (``load_summarizer``)."""

    model: SummaRuNNer
    encoder: DocumentEncoder
    summary_sentences: int

    @torch.no_grad()
    def select(
        self,
        documents: Sequence[Document],
        max_sentences: int | None = None,
        max_words: int | None = None,
    ) -> list[list[int]]:
        """Indices of the chosen sentences of each document, in document order."""
        if max_sentences is None and max_words is None:
            max_sentences = self.summary_sentences
        out: list[list[int]] = []
        cfg = self.encoder.cfg
        batches = self.encoder.batches(documents, cfg.eval_batch_size, False, labelled=False)
        device = model_device(self.model)
        for batch in batches:  # in document order
            probs = self.model.predict(to_device(batch, device))
            for i, n in enumerate(batch["lengths"].tolist()):
                words = [len(s.split()) for s in documents[len(out)].sentences[:n]]
                out.append(select_sentences(probs[i, :n].tolist(), words, max_sentences,
                                            max_words))  # fmt: skip
        return out

    def summarize(
        self,
        documents: Sequence[Document],
        max_sentences: int | None = None,
        max_words: int | None = None,
    ) -> list[str]:
        """The extractive summary of each document: chosen sentences joined by spaces."""
        chosen = self.select(documents, max_sentences, max_words)
        return [" ".join(d.sentences[i] for i in idx) for d, idx in zip(documents, chosen)]


def load_summarizer(directory: Path) -> Any:
    """A trained summarizer from its run or model directory: a ``Summarizer``, or an
    ``AbstractiveSummarizer`` for a pointer-generator (both have ``summarize``)."""
    model, tokenizer, meta = load_model_dir(Path(directory))
    if meta.get("summary_type") == "abstractive":
        from rnnkit.tasks.abstractive_decode import AbstractiveSummarizer

        return AbstractiveSummarizer.from_parts(directory, model, tokenizer, meta)
    if meta.get("task") != "summarize" or not isinstance(tokenizer, TextTokenizer):
        raise ValueError(f"{directory}: not a summarizer (task {meta.get('task')!r})")
    encoder = DocumentEncoder(tokenizer, SummarizeDataConfig.from_dict(meta["data"]))
    return Summarizer(model, encoder, int(meta["summary_sentences"]))  # type: ignore[arg-type]


def summarize_file(
    directory: Path,
    path: str | Path,
    max_sentences: int | None = None,
    max_words: int | None = None,
) -> list[str]:
    """Summaries of the documents of a JSONL file (``-``: stdin), in file order."""
    summarizer = load_summarizer(directory)
    documents = read_summaries(summarizer.encoder.cfg, str(path), require_summary=False)
    return summarizer.summarize(documents, max_sentences, max_words)


def lead_summary(document: Document, max_sentences: int | None, max_words: int | None) -> str:
    """The Lead baseline: the first sentences within the budget."""
    words = [len(s.split()) for s in document.sentences]
    scores = [-float(i) for i in range(len(document.sentences))]
    chosen = select_sentences(scores, words, max_sentences, max_words)
    return " ".join(document.sentences[i] for i in chosen)


def oracle_summary(document: Document, max_sentences: int | None) -> str:
    """The greedy ROUGE oracle's sentences (at most ``max_sentences``)."""
    chosen = greedy_oracle(document.sentences, document.summary or "", max_sentences) or [0]
    return " ".join(document.sentences[i] for i in chosen)


def evaluate_summarizer(
    directory: Path,
    path: str | Path,
    max_sentences: int | None = None,
    max_words: int | None = None,
    beam: int = 5,
) -> dict[str, Any]:
    """ROUGE-1/2/L of the model's summaries, with Lead and the oracle at the same budget
    (an abstractive model: ``max_words`` caps its output tokens, the baselines take the
    model's default sentence budget)."""
    summarizer = load_summarizer(directory)
    if not isinstance(summarizer, Summarizer):
        from rnnkit.tasks.abstractive_decode import evaluate_abstractive

        return evaluate_abstractive(summarizer, path, max_sentences, max_words, beam)
    documents = read_summaries(summarizer.encoder.cfg, str(path), require_summary=True)
    if max_sentences is None and max_words is None:
        max_sentences = summarizer.summary_sentences
    references = [d.summary or "" for d in documents]
    metrics = rouge_metrics(summarizer.summarize(documents, max_sentences, max_words), references)
    leads = [lead_summary(d, max_sentences, max_words) for d in documents]
    metrics["lead"] = rouge_metrics(leads, references)
    if max_words is None:  # the oracle is defined by a sentence count
        oracles = [oracle_summary(d, max_sentences) for d in documents]
        metrics["oracle"] = rouge_metrics(oracles, references)
    metrics["budget"] = {"max_sentences": max_sentences, "max_words": max_words}
    return metrics
