"""Tagging metrics (token accuracy, seqeval span F1) and the BIO / BIOES span helpers."""

from __future__ import annotations

import pytest
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import IOBES, Entities

from rnnkit.metrics import bio_to_bioes, bio_to_spans, bioes_to_bio, tagging_metrics

BIO_CASES = [
    ["B-PER", "I-PER", "O", "I-LOC", "B-LOC"],
    ["I-PER", "I-LOC", "B-LOC", "I-LOC"],
    ["B-A", "B-A", "I-A", "I-B", "O", "I-B", "I-B"],
    ["O", "O"],
    [],
]


def test_span_scores_by_hand() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["O", "B-ORG"]]
    m = tagging_metrics(gold, pred)
    assert m["scheme"] == "bio"
    assert m["accuracy"] == pytest.approx(5 / 6)
    # gold spans PER, LOC, ORG; predicted PER, ORG, ORG; 2 correct
    assert (m["precision"], m["recall"], m["f1"]) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert m["per_type"]["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert m["per_type"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["per_type"]["ORG"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    )


def test_bio_reads_a_stray_inside_tag_as_a_span_start() -> None:
    m = tagging_metrics([["B-PER", "I-PER"]], [["I-PER", "I-PER"]])
    assert m["accuracy"] == 0.5 and m["f1"] == 1.0  # conlleval's reading


def test_bioes_is_strict() -> None:
    gold = [["B-PER", "E-PER", "O", "S-LOC"]]
    pred = [["I-PER", "E-PER", "O", "S-LOC"]]
    m = tagging_metrics(gold, pred)
    assert m["scheme"] == "bioes"
    assert (m["precision"], m["recall"]) == (1.0, 0.5)  # the ill-formed PER span is no span
    assert tagging_metrics(gold, pred, scheme="bio")["recall"] == 1.0  # lenient reading


def test_non_entity_tags_give_accuracy_only() -> None:
    m = tagging_metrics([["DT", "NN", "VBZ"]], [["DT", "NN", "NN"]])
    assert m == {"accuracy": pytest.approx(2 / 3), "scheme": "none"}
    assert "f1" not in tagging_metrics([["B-X"]], [["B-X"]], scheme="none")


def test_length_errors_name_the_sentence() -> None:
    with pytest.raises(ValueError, match="sentence 1 has 2 gold tags but 1 predicted"):
        tagging_metrics([["O"], ["O", "O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="2 gold sentences but 1 predicted"):
        tagging_metrics([["O"], ["O"]], [["O"]])
    with pytest.raises(ValueError, match="scheme must be one of"):
        tagging_metrics([["O"]], [["O"]], scheme="iob1")


@pytest.mark.parametrize("tags", BIO_CASES)
def test_bio_to_spans_agrees_with_seqeval(tags: list[str]) -> None:
    expected = [(kind, start, end + 1) for kind, start, end in get_entities(tags)]
    assert bio_to_spans(tags) == expected


def test_bio_to_spans_by_hand_and_bad_tags() -> None:
    tags = ["B-PER", "I-PER", "O", "I-LOC", "B-LOC"]
    assert bio_to_spans(tags) == [("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 5)]
    with pytest.raises(ValueError, match="got 'E-PER'"):
        bio_to_spans(["B-PER", "E-PER"])


def test_bio_to_bioes_by_hand() -> None:
    tags = ["B-PER", "I-PER", "I-PER", "O", "I-LOC", "B-LOC", "B-ORG", "I-ORG"]
    assert bio_to_bioes(tags) == [
        "B-PER",
        "I-PER",
        "E-PER",
        "O",
        "S-LOC",
        "S-LOC",
        "B-ORG",
        "E-ORG",
    ]


@pytest.mark.parametrize("tags", BIO_CASES)
def test_bioes_conversions_keep_the_spans(tags: list[str]) -> None:
    bioes = bio_to_bioes(tags)
    strict = [(e.tag, e.start, e.end) for e in Entities([bioes], IOBES).entities[0]]
    assert strict == bio_to_spans(tags)  # well-formed BIOES with the same spans
    back = bioes_to_bio(bioes)
    assert bio_to_spans(back) == bio_to_spans(tags)
    assert bio_to_bioes(back) == bioes  # BIO -> BIOES -> BIO is a fixed point after one trip


def test_bioes_to_bio_by_hand() -> None:
    assert bioes_to_bio(["S-PER", "B-LOC", "I-LOC", "E-LOC", "O"]) == [
        "B-PER", "B-LOC", "I-LOC", "I-LOC", "O"
    ]  # fmt: skip
    with pytest.raises(ValueError, match="got 'X'"):
        bioes_to_bio(["X"])
