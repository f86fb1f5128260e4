"""Sequence labelling metrics: token accuracy and entity-level (span) scores with seqeval.

Token accuracy counts equal tags over all tokens. For entity tags (``B-PER``, ``I-LOC``...) a
predicted span counts only if its type and both boundaries equal a gold span:

    precision = |gold spans & predicted spans| / |predicted spans|
    recall    = |gold spans & predicted spans| / |gold spans|
    f1        = 2 precision recall / (precision + recall)

BIO tags are scored in seqeval's default mode, which reads spans as the CoNLL ``conlleval``
script does (an ``I-X`` after ``O`` or after another type opens a span); BIOES and BILOU tags
in seqeval's strict mode with the IOBES / BILOU scheme. The span helpers below use the same
reading of BIO: ``bio_to_spans`` agrees with ``seqeval.metrics.sequence_labeling.get_entities``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seqeval import metrics as sq
from seqeval.scheme import BILOU, IOBES

SCHEMES: tuple[str, ...] = ("auto", "bio", "bioes", "bilou", "none")
_ENTITY_PREFIXES = ("B-", "I-", "E-", "S-", "L-", "U-")


def tagging_metrics(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], scheme: str = "auto"
) -> dict[str, Any]:
    """Token accuracy and, for entity tags, span precision / recall / F1 overall and per type.

    Args:
        gold: the true tags of each sentence.
        pred: the predicted tags, one per gold tag.
        scheme: ``"bio"``, ``"bioes"``, ``"bilou"``, ``"none"`` (token accuracy only) or
            ``"auto"``: ``"none"`` unless some tag starts with B-, I-, E-, S-, L- or U-; then
            ``"bilou"`` if some tag starts with L- or U-, ``"bioes"`` if with E- or S-, else
            ``"bio"``.

    Returns:
        ``{"accuracy", "scheme"}``, plus ``"precision", "recall", "f1"`` (micro over spans) and
        ``"per_type": {type: {"precision", "recall", "f1", "support"}}`` unless the scheme is
        ``"none"``.

    Raises:
        ValueError: the sentence counts differ, or sentence i has a different length.

    Example:
        >>> m = tagging_metrics([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])
        >>> round(m["accuracy"], 3), m["f1"]
        (0.667, 0.0)
    """
    _check_lengths(gold, pred)
    scheme = _resolve_scheme(gold, pred, scheme)
    total = sum(len(tags) for tags in gold)
    correct = sum(g == p for gt, pt in zip(gold, pred) for g, p in zip(gt, pt))
    result: dict[str, Any] = {"accuracy": correct / total if total else 0.0, "scheme": scheme}
    if scheme == "none":
        return result
    gold_lists, pred_lists = [list(s) for s in gold], [list(s) for s in pred]
    options: dict[str, Any] = {"zero_division": 0}
    if scheme != "bio":
        options.update(mode="strict", scheme=IOBES if scheme == "bioes" else BILOU)
    result["precision"] = float(sq.precision_score(gold_lists, pred_lists, **options))
    result["recall"] = float(sq.recall_score(gold_lists, pred_lists, **options))
    result["f1"] = float(sq.f1_score(gold_lists, pred_lists, **options))
    report = sq.classification_report(gold_lists, pred_lists, output_dict=True, **options)
    result["per_type"] = {
        kind: {
            "precision": float(s["precision"]),
            "recall": float(s["recall"]),
            "f1": float(s["f1-score"]),
            "support": int(s["support"]),
        }
        for kind, s in sorted(report.items())
        if not kind.endswith(" avg")
    }
    return result


def _check_lengths(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"tagging_metrics: {len(gold)} gold sentences but {len(pred)} predicted")
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(
                f"tagging_metrics: sentence {i} has {len(g)} gold tags but {len(p)} predicted"
            )


def _resolve_scheme(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], scheme: str
) -> str:
    if scheme not in SCHEMES:
        raise ValueError(f"tagging_metrics: scheme must be one of {SCHEMES}, got {scheme!r}")
    if scheme != "auto":
        return scheme
    prefixes = {tag[:2] for tags in (*gold, *pred) for tag in tags}
    if not prefixes & set(_ENTITY_PREFIXES):
        return "none"
    if prefixes & {"L-", "U-"}:
        return "bilou"
    return "bioes" if prefixes & {"E-", "S-"} else "bio"


# ------------------------------------------------------------ span helpers
def _split(tag: str, allowed: str) -> tuple[str, str]:
    """(prefix letter, type) of a tag; ``("O", "")`` for O; ValueError for other prefixes."""
    if tag == "O":
        return "O", ""
    if len(tag) > 2 and tag[1] == "-" and tag[0] in allowed:
        return tag[0], tag[2:]
    raise ValueError(f"expected O or a tag starting with one of {list(allowed)} + '-', got {tag!r}")


def bio_to_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Spans ``(type, start, end)`` of BIO tags, ``end`` exclusive, in order.

    A span opens at ``B-X``, and at ``I-X`` when the previous tag is not of type X (CoNLL's
    reading of a stray ``I-``); it runs over the following ``I-X`` tags.

    Example:
        >>> bio_to_spans(["B-PER", "I-PER", "O", "I-LOC", "B-LOC"])
        [('PER', 0, 2), ('LOC', 3, 4), ('LOC', 4, 5)]
    """
    spans: list[tuple[str, int, int]] = []
    kind, start = "", 0  # the open span's type ("" when none) and first position
    for i, tag in enumerate(tags):
        prefix, tag_type = _split(tag, "BI")
        if kind and (prefix != "I" or tag_type != kind):
            spans.append((kind, start, i))
            kind = ""
        if prefix != "O" and not kind:
            kind, start = tag_type, i
    if kind:
        spans.append((kind, start, len(tags)))
    return spans


def bio_to_bioes(tags: Sequence[str]) -> list[str]:
    """BIO -> BIOES: a one-token span becomes ``S-X``, longer ones ``B-X I-X ... E-X``.

    Example:
        >>> bio_to_bioes(["B-PER", "I-PER", "I-PER", "O", "I-LOC"])
        ['B-PER', 'I-PER', 'E-PER', 'O', 'S-LOC']
    """
    out = ["O"] * len(tags)
    for kind, start, end in bio_to_spans(tags):
        if end - start == 1:
            out[start] = f"S-{kind}"
            continue
        out[start] = f"B-{kind}"
        out[start + 1 : end - 1] = [f"I-{kind}"] * (end - start - 2)
        out[end - 1] = f"E-{kind}"
    return out


def bioes_to_bio(tags: Sequence[str]) -> list[str]:
    """BIOES -> BIO: ``S-X`` -> ``B-X``, ``E-X`` -> ``I-X``; B, I and O stay.

    Example:
        >>> bioes_to_bio(["S-PER", "B-LOC", "E-LOC", "O"])
        ['B-PER', 'B-LOC', 'I-LOC', 'O']
    """
    mapping = {"B": "B", "I": "I", "E": "I", "S": "B"}
    out = []
    for tag in tags:
        prefix, kind = _split(tag, "BIES")
        out.append("O" if prefix == "O" else f"{mapping[prefix]}-{kind}")
    return out
