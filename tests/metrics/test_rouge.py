"""ROUGE through rouge-score, and the greedy oracle."""

import pytest

from rnnkit.metrics.rouge import greedy_oracle, rouge_metrics


def test_rouge_identical_and_disjoint():
    same = rouge_metrics(["the cat sat on the mat"], ["the cat sat on the mat"])
    assert same == {"rouge1": 100.0, "rouge2": 100.0, "rougeL": 100.0, "documents": 1}
    none = rouge_metrics(["dogs bark loudly"], ["the cat sat"])
    assert none["rouge1"] == none["rouge2"] == none["rougeL"] == 0.0


def test_rouge_hand_computed_and_averaged():
    # 2 of 3 unigrams shared both ways: F1 = 2/3; 1 of 2 bigrams: F1 = 1/2
    one = rouge_metrics(["the cat ran"], ["the cat sat"])
    assert one["rouge1"] == pytest.approx(66.67) and one["rouge2"] == 50.0
    two = rouge_metrics(["the cat ran", "x"], ["the cat sat", "y"])
    assert two["rouge1"] == pytest.approx(33.33) and two["documents"] == 2


def test_rouge_lengths_must_match():
    with pytest.raises(ValueError, match="2 candidates but 1 references"):
        rouge_metrics(["a", "b"], ["a"])


def test_oracle_picks_the_best_sentence_then_stops():
    sentences = ["Rain fell all day.", "The cat sat on the mat.", "Dogs bark."]
    assert greedy_oracle(sentences, "the cat sat on the mat") == [1]
    assert greedy_oracle(sentences, "nothing in common") == []


def test_oracle_adds_sentences_in_document_order_up_to_the_limit():
    sentences = ["Markets fell sharply.", "Weather was fine.", "Oil prices rose again."]
    reference = "oil prices rose and markets fell"
    assert greedy_oracle(sentences, reference) == [0, 2]
    assert greedy_oracle(sentences, reference, max_sentences=1) == [2]  # the larger gain first
