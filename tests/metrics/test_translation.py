"""BLEU and chrF come from sacrebleu with its signatures."""

import pytest

from rnnkit.metrics import translation_metrics


def test_perfect_and_partial_translations() -> None:
    refs = ["the cat sat on the mat", "open the file"]
    perfect = translation_metrics(refs, refs)
    assert perfect["bleu"] == 100.0 and perfect["chrf"] == 100.0 and perfect["sentences"] == 2
    partial = translation_metrics(["the cat sat on a mat", "close the file"], refs)
    assert 0 < partial["bleu"] < 100 and 0 < partial["chrf"] < 100
    assert "tok:13a" in partial["signature_bleu"] and "nc:6" in partial["signature_chrf"]


def test_counts_must_match() -> None:
    with pytest.raises(ValueError, match="1 hypotheses but 2 references"):
        translation_metrics(["a"], ["a", "b"])
