"""Recorders for rnnkit's task models: the cells' traces plus what each task shows.

- language model: the top-k next-token distribution at every position;
- classifier: class probabilities and, with attention pooling, the weight of every token;
- translator (``Seq2Seq``): the attention matrix target x source under teacher forcing;
- summarizer (``SummaRuNNer``): each sentence's probability of being extracted.

``inspect_text`` takes raw text and a tokenizer (a language model's or a classifier's) and keeps
the token strings, which is what a web page or a notebook shows.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.inspect.recording import Recording, record, run_recorded


def record_lm(
    model: nn.Module,
    tokens: Tensor,
    state: list | None = None,
    top_k: int = 5,
    tokenizer: Any = None,
) -> Recording:
    """Record a ``LanguageModel`` reading ``tokens``; ``outputs`` gets the top-k next tokens.

    Args:
        model: a ``LanguageModel``.
        tokens: token ids (N, L).
        state: the state to start from (as ``model(tokens, state)`` takes it).
        top_k: next tokens kept per position (``top_k_ids``, ``top_k_probs`` (N, L, k)).
        tokenizer: when given, ``top_k_tokens`` holds their strings.
    """
    _check_tokens("record_lm", tokens)
    rec = record(model, tokens, state)
    probs = torch.softmax(rec.outputs.pop("output").float(), dim=-1)  # (N, L, V)
    top = probs.topk(min(top_k, probs.shape[-1]), dim=-1)
    rec.outputs["top_k_ids"], rec.outputs["top_k_probs"] = top.indices, top.values
    if tokenizer is not None:
        rec.tokens = [[tokenizer.id_to_token(int(i)) for i in row] for row in tokens]
        rec.top_k_tokens = [
            [[tokenizer.id_to_token(int(i)) for i in ids] for ids in row] for row in top.indices
        ]
    return rec


def record_classifier(
    model: nn.Module,
    tokens: Tensor,
    lengths: Tensor | None = None,
    tokenizer: Any = None,
    bilm: dict[str, Tensor] | None = None,
) -> Recording:
    """Record a ``TextClassifier`` (or a ``ClassifierEnsemble``): ``probabilities`` (N, C)
    (sigmoid per label for a multi-label model) and, with ``pooling="attention"``, ``pooling``
    (N, L): the attention-pooling weight of every token (0 at padding and past the encoder's
    ``encoder_length``; for an ensemble, the mean over its members, whose cells are traced as
    ``members.K.layers...``). ``bilm`` holds the biLM's inputs of a model trained with biLM
    features (the ``"bilm"`` of its batches)."""
    _check_tokens("record_classifier", tokens)
    if lengths is None:
        lengths = torch.full((tokens.shape[0],), tokens.shape[1], dtype=torch.long)
    rec = record(model, tokens, lengths, bilm)
    logits = rec.outputs.pop("output")
    multi = bool(getattr(getattr(model, "config", None), "multi_label", False))
    rec.outputs["probabilities"] = torch.sigmoid(logits) if multi else logits.softmax(-1)
    pools = [getattr(m, "pool", None) for m in getattr(model, "members", [model])]
    weights = [p.last_weights for p in pools if getattr(p, "mode", None) == "attention"]
    if weights and all(w is not None for w in weights):  # an ensemble's: the members' mean
        pooling = torch.stack(weights).mean(0).nan_to_num(0.0)  # (N, L'), L' <= L
        rec.outputs["pooling"] = F.pad(pooling, (0, tokens.shape[1] - pooling.shape[1]))
    if tokenizer is not None:
        rec.tokens = _strings(tokenizer, tokens, lengths)
    return rec


def record_seq2seq(
    model: nn.Module,
    source: Tensor,
    source_lengths: Tensor,
    target: Tensor,
    source_tokenizer: Any = None,
    target_tokenizer: Any = None,
) -> Recording:
    """Record a ``Seq2Seq`` reading ``source`` and producing ``target`` (teacher forcing:
    step t is fed ``bos`` then target[:t]): ``attention`` (N, T, S), row t for target token t,
    0 at padded source positions (absent without attention), ``target_probabilities`` (N, T)
    the probability of each target token; the encoder's and the decoder's cells are traced."""
    _check_tokens("record_seq2seq", source)
    _check_tokens("record_seq2seq", target)
    bos = model.first_tokens(target.shape[0], target.device)[:, None]
    target_in = torch.cat([bos, target[:, :-1]], dim=1)
    rec, (logits, weights) = run_recorded(model, source, source_lengths, target_in)
    rec.outputs["target_probabilities"] = logits.softmax(-1).gather(-1, target[..., None])[..., 0]
    if weights is not None:
        rec.outputs["attention"] = weights
    if source_tokenizer is not None:
        rec.tokens = _strings(source_tokenizer, source, source_lengths)
    if target_tokenizer is not None:
        rec.target_tokens = [[target_tokenizer.id_to_token(int(i)) for i in r] for r in target]
    return rec


def record_summarizer(
    model: nn.Module, tokens: Tensor, sentence_lengths: Tensor, lengths: Tensor
) -> Recording:
    """Record a ``SummaRuNNer``: ``sentence_scores`` (N, S), each sentence's probability of
    being picked (0 for padding sentences); traces of the word- and sentence-level layers."""
    rec = record(model, tokens, sentence_lengths, lengths)
    rec.outputs["sentence_scores"] = torch.sigmoid(rec.outputs.pop("output"))
    return rec


def inspect_text(model: nn.Module, tokenizer: Any, text: str, top_k: int = 5) -> Recording:
    """Record a language model or a classifier reading ``text`` (one sequence).

    Args:
        model: a ``LanguageModel`` or a ``TextClassifier``.
        tokenizer: the model's tokenizer (``rnnkit.models.io.load_model_dir`` returns both).
        text: the input.
        top_k: next tokens kept per position (language models).

    Example:
        >>> model, tokenizer, _ = load_model_dir("runs/demo")
        >>> rec = inspect_text(model, tokenizer, "ROMEO.\\nBut soft")
        >>> rec.to_dict(signals=["c"])["traces"][0]["signals"]["c"][0][3][:4]
    """
    ids = tokenizer.encode(text)
    if not ids:
        raise ValueError("inspect_text: the text gives no tokens")
    tokens = torch.tensor([ids], dtype=torch.long)
    kind = getattr(model, "model_type", None)
    if kind == "language_model":
        return record_lm(model, tokens, top_k=top_k, tokenizer=tokenizer)
    if kind in ("text_classifier", "classifier_ensemble"):
        return record_classifier(model, tokens, tokenizer=tokenizer)
    raise ValueError(
        f"inspect_text: expected a language model or a text classifier, got {kind!r}; "
        "use record_seq2seq / record_summarizer / record for other models"
    )


def _check_tokens(owner: str, tokens: Tensor) -> None:
    if not isinstance(tokens, Tensor) or tokens.dim() != 2 or tokens.is_floating_point():
        shape = tuple(tokens.shape) if isinstance(tokens, Tensor) else type(tokens).__name__
        raise ValueError(f"{owner}: expected token ids of shape (N, L), got {shape}")


def _strings(tokenizer: Any, tokens: Tensor, lengths: Tensor) -> list[list[str]]:
    return [
        [tokenizer.id_to_token(int(i)) for i in row[: int(n)]] for row, n in zip(tokens, lengths)
    ]
