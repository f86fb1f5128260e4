"""Summary quality: ROUGE-1/2/L through ``rouge-score``, and the greedy ROUGE oracle.

ROUGE-N (Lin 2004) is the F1 of n-gram overlap between a candidate and a reference summary;
ROUGE-L the F1 of their longest common subsequence. Texts are tokenized by ``rouge-score``'s
default tokenizer (lower-cased, non-alphanumerics dropped) with its Porter stemmer, and the
per-document F1 is averaged over documents, on a 0-100 scale.

The oracle (Nallapati et al. 2017) labels the sentences an extractive summarizer should pick:
starting from nothing, add the sentence that most raises (R1 + R2) / 2 F1 against the
reference, until no sentence raises it or ``max_sentences`` are chosen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

ROUGE_KEYS = ("rouge1", "rouge2", "rougeL")


@lru_cache(maxsize=1)
def _scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(list(ROUGE_KEYS), use_stemmer=True)


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    from rouge_score import tokenizers

    return tokenizers.DefaultTokenizer(use_stemmer=True)


def rouge_metrics(candidates: Sequence[str], references: Sequence[str]) -> dict[str, Any]:
    """``{"rouge1", "rouge2", "rougeL", "documents"}``: mean F1 x 100 over document pairs.

    Example:
        >>> rouge_metrics(["the cat sat"], ["the cat sat"])["rouge1"]
        100.0
    """
    if len(candidates) != len(references):
        raise ValueError(
            f"rouge_metrics: {len(candidates)} candidates but {len(references)} references"
        )
    if not candidates:
        raise ValueError("rouge_metrics: no documents")
    totals = dict.fromkeys(ROUGE_KEYS, 0.0)
    for candidate, reference in zip(candidates, references):
        scores = _scorer().score(reference, candidate)
        for key in ROUGE_KEYS:
            totals[key] += scores[key].fmeasure
    out: dict[str, Any] = {k: round(100 * v / len(candidates), 2) for k, v in totals.items()}
    out["documents"] = len(candidates)
    return out


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _f1(overlap: int, candidate: int, reference: int) -> float:
    if overlap == 0:
        return 0.0
    precision, recall = overlap / candidate, overlap / reference
    return 2 * precision * recall / (precision + recall)


def _gain(chosen: list[list[str]], ref: tuple[Counter, Counter]) -> float:
    """(R1 + R2) / 2 F1 of the concatenated ``chosen`` sentences' tokens."""
    tokens = [t for sentence in chosen for t in sentence]
    total = 0.0
    for n, ref_grams in zip((1, 2), ref):
        cand = _ngrams(tokens, n)
        overlap = sum((cand & ref_grams).values())
        total += _f1(overlap, sum(cand.values()), sum(ref_grams.values()))
    return total / 2


def greedy_oracle(
    sentences: Sequence[str], reference: str, max_sentences: int | None = None
) -> list[int]:
    """Indices (in document order) of the sentences the greedy ROUGE oracle picks.

    Example:
        >>> greedy_oracle(["Rain fell.", "The cat sat on the mat.", "Dogs bark."], "a cat sat")
        [1]
    """
    tokenize = _tokenizer().tokenize
    tokens = [tokenize(s) for s in sentences]
    ref_tokens = tokenize(reference)
    ref = (_ngrams(ref_tokens, 1), _ngrams(ref_tokens, 2))
    chosen: list[int] = []
    best = 0.0
    limit = len(sentences) if max_sentences is None else min(max_sentences, len(sentences))
    while len(chosen) < limit:
        scores = [
            (_gain([tokens[j] for j in sorted([*chosen, i])], ref), -i)
            for i in range(len(sentences))
            if i not in chosen
        ]
        score, neg_i = max(scores)
        if score <= best:
            break
        best = score
        chosen.append(-neg_i)
    return sorted(chosen)
