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


def test_repeated_phrases_count_loops_the_source_does_not_have() -> None:
    from rnnkit.metrics import repeated_phrases

    sources = ["Save the file", "Rotate by 45 degrees", "060 m 060 s", "Open... ...",
               "Header of the page"]  # fmt: skip
    outputs = ["Enregistrer le le fichier", "Pivoter de 45 degrés", "060 060 m", "Ouvrir... ...",
               "En-tête de l'en-tête de l'en-tête"]  # fmt: skip
    # a word twice in a row (1), no repeat (0), a word the source holds twice (0), no word (0),
    # a two-word phrase twice in a row (1)
    assert repeated_phrases(sources, outputs) == 2
    assert repeated_phrases(["a b"], ["De la de la"]) == 1  # compared lowercased
    assert repeated_phrases(["save save"], ["enregistrer enregistrer"]) == 0  # as its source
