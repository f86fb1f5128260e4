"""What ``POST /inspect`` records for each task: the input as the model reads it, the recording
(``rnnkit.inspect``) and the task's own values, JSON-ready.

- ``lm``: the text's tokens, and after each one the top-k next tokens with their probabilities;
- ``classify``: label probabilities and, with attention pooling, each token's pooling weight;
- ``translate``: the translation (``n_best`` with ``beam`` > 1) with its attention matrix; the
  gates are recorded with the best translation fed to the decoder (teacher forcing);
- ``summarize``: the sentences, their scores and the picked ones.

Every recorder refuses an input longer than ``MAX_TOKENS`` tokens (400, field ``text``): the
recording re-runs each cell step by step in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from rnnkit.inspect import (
    Recording,
    record_classifier,
    record_lm,
    record_seq2seq,
    record_summarizer,
)
from rnnkit.serve.errors import BadRequest
from rnnkit.tasks.predictors import Predictor

MAX_TOKENS = 2000  #: most tokens (of a summarizer's document: words) one request records
MAX_TOP_K = 50


@dataclass
class Inspected:
    """One request's recording, the display string of each input token (of the first
    sequence) and the task's values (``extras``, merged into the response)."""

    recording: Recording
    tokens: list[str]
    extras: dict[str, Any] = field(default_factory=dict)


def rounded(values: Any, precision: int = 4) -> Any:
    """Nested lists of floats (or a tensor) rounded to ``precision`` decimals."""
    if isinstance(values, torch.Tensor):
        values = values.tolist()
    if isinstance(values, list):
        return [rounded(v, precision) for v in values]
    return round(values, precision) if isinstance(values, float) else values


def check_length(count: int, what: str = "tokens") -> None:
    """``BadRequest`` (field ``text``) past ``MAX_TOKENS``."""
    if count > MAX_TOKENS:
        raise BadRequest(f"text: {count} {what}; /inspect takes at most {MAX_TOKENS}", "text")


def pieces(tokenizer: Any, ids: list[int], text: str) -> list[str]:
    """The text each token adds to the decoded string (a character-level tokenizer: the
    characters of ``text``, unknown ones included; a word tokenizer: the word with its leading
    space)."""
    if tokenizer.level == "char":
        return list(text) if len(text) == len(ids) else [tokenizer.decode([i]) for i in ids]
    out, before = [], ""
    for t in range(len(ids)):
        text = tokenizer.decode(ids[: t + 1])
        out.append(text[len(before) :] if text.startswith(before) else tokenizer.decode([ids[t]]))
        before = text
    return out


def inspect_lm(predictor: Any, body: dict[str, Any]) -> Inspected:
    """A language model reading ``text``: ``top_k`` ``{"tokens", "probs"}`` (L, k), the next
    token's likeliest values after each position."""
    tokenizer = predictor.tokenizer
    ids = tokenizer.encode(body["text"])
    if not ids:
        raise BadRequest("text: gives no tokens", "text")
    check_length(len(ids))
    rec = record_lm(predictor.model, torch.tensor([ids]), top_k=body.get("top_k", 5))
    shown = pieces(tokenizer, ids, body["text"])
    rec.tokens = [shown]  # the unit statistics' text features come from these
    top_ids = rec.outputs["top_k_ids"][0].tolist()
    top = {
        "tokens": [[tokenizer.decode([i]) for i in row] for row in top_ids],
        "probs": rounded(rec.outputs["top_k_probs"][0]),
    }
    return Inspected(rec, shown, {"top_k": top})


def inspect_classifier(predictor: Any, body: dict[str, Any]) -> Inspected:
    """A classifier reading ``text``: ``labels``, ``probabilities`` (label -> p), ``label``(s)
    as ``/classify`` gives them, ``pooling`` (L,) or None, and ``pooling_mode``."""
    from rnnkit.data.labelled import TextExample

    encoder, example = predictor.encoder, TextExample(body["text"])
    ids = encoder.ids(example)
    check_length(len(ids))
    batch = encoder.collate([(ids, 0, *_bilm_item(encoder, example))])
    rec = record_classifier(predictor.model, batch["tokens"], batch["lengths"],
                            bilm=batch.get("bilm"))  # fmt: skip
    try:
        shown = encoder.tokens(example)
    except ValueError:  # a character or BPE tokenizer: the tokens as they decode
        shown = []
    if len(shown) != len(ids):
        shown = [encoder.tokenizer.decode([i]) for i in ids]
    names = encoder.labels.labels
    probs = rec.outputs["probabilities"][0].tolist()
    if predictor.model.config.multi_label:
        chosen = [n for n, p in zip(names, probs) if p > 0.5]
    else:
        chosen = [names[max(range(len(probs)), key=probs.__getitem__)]]
    pooling = rec.outputs.get("pooling")
    members = getattr(predictor.model, "members", [predictor.model])
    extras = {
        "labels": chosen,
        "probabilities": dict(zip(names, rounded(probs))),
        "pooling": None if pooling is None else rounded(pooling[0]),
        "pooling_mode": members[0].config.pooling,
    }
    return Inspected(rec, shown, extras)


def _bilm_item(encoder: Any, example: Any) -> tuple[Any, ...]:
    return () if encoder.bilm is None else (encoder.bilm.encode(encoder.tokens(example)),)


def inspect_translator(predictor: Any, body: dict[str, Any]) -> Inspected:
    """A translator on ``text``: ``translation`` as ``/translate`` gives it (with ``beam``,
    ``n_best``; attention (T, S) when the model attends) and ``target_probabilities`` (T,)."""
    from rnnkit.data.parallel import ParallelExample
    from rnnkit.tasks.predictors.translate import translation_dict

    translator = predictor.translator
    source, _, _ = translator.encoder.mask(ParallelExample(body["text"]))
    source_ids = translator.encoder.source_ids(source)
    check_length(len(source_ids))
    beam = body.get("beam", 1)
    result = predictor.translate([body["text"]], beam=beam, n_best=body.get("n_best", 1))[0]
    target = translator.encoder.target
    target_ids = [*target.encode(result.text), target.eos_id]
    check_length(len(target_ids), "output tokens")
    rec = record_seq2seq(predictor.model, torch.tensor([source_ids]),
                         torch.tensor([len(source_ids)]), torch.tensor([target_ids]))  # fmt: skip
    shown = result.source_tokens or [translator.encoder.source.decode([i]) for i in source_ids]
    rec.tokens = [shown]
    extras = {
        "translation": {**translation_dict(result), "attention": rounded(result.attention)},
        "target_probabilities": rounded(rec.outputs["target_probabilities"][0]),
    }
    return Inspected(rec, shown, extras)


def inspect_summarizer(predictor: Any, body: dict[str, Any]) -> Inspected:
    """A summarizer on the document ``text``: ``summary`` as ``/summarize`` gives it
    (``sentences``, ``scores``, ``picked``; ``max_sentences`` is its budget)."""
    from rnnkit.data.documents import Document

    kind = getattr(predictor.model, "model_type", type(predictor.model).__name__)
    if kind != "summarunner":  # an abstractive summarizer: no sentence scores to record
        raise BadRequest(f"model: /inspect takes extractive summarizers (SummaRuNNer); "
                         f"{predictor.name!r} is a {kind} model", "model")  # fmt: skip
    document = Document(body["text"].strip())
    if not document.sentences:
        raise BadRequest("text: an empty document", "text")
    encoder = predictor.summarizer.encoder
    item = encoder.item(document, labelled=False)
    check_length(sum(len(s) for s in item["ids"]), "words")
    summary = predictor.summarize([body["text"]], max_sentences=body.get("max_sentences"))[0]
    batch = encoder.collate([item])
    rec = record_summarizer(predictor.model, batch["tokens"], batch["sentence_lengths"],
                            batch["lengths"])  # fmt: skip
    summary_dict = summary.to_dict()
    summary_dict["scores"] = rounded(summary_dict["scores"])
    return Inspected(rec, list(document.sentences), {"summary": summary_dict})


RECORDERS: dict[str, Callable[[Predictor, dict[str, Any]], Inspected]] = {
    "lm": inspect_lm,
    "classify": inspect_classifier,
    "translate": inspect_translator,
    "summarize": inspect_summarizer,
}
