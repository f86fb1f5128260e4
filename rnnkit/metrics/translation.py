"""Translation quality: corpus BLEU and chrF through ``sacrebleu`` (its default settings).

BLEU (Papineni et al. 2002) with sacrebleu's defaults (``13a`` tokenization, ``exp``
smoothing); chrF (Popović 2015) with character 6-grams and beta 2. Both on detokenized
text, so figures are comparable with other toolkits' sacrebleu scores (Post 2018, "A Call for
Clarity in Reporting BLEU Scores"). Scores are on the 0-100 scale.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_WORD = re.compile(r"\w", re.UNICODE)


def translation_metrics(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, Any]:
    """``{"bleu", "chrf", "signature_bleu", "signature_chrf", "sentences"}`` of a corpus.

    Example:
        >>> translation_metrics(["the cat sat on the mat"], ["the cat sat on the mat"])["bleu"]
        100.0
    """
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError(
            f"translation_metrics: {len(hypotheses)} hypotheses but {len(references)} references"
        )
    bleu = sacrebleu.metrics.BLEU()
    chrf = sacrebleu.metrics.CHRF()
    refs = [list(references)]
    b = bleu.corpus_score(list(hypotheses), refs)
    c = chrf.corpus_score(list(hypotheses), refs)
    return {
        "bleu": round(b.score, 2),
        "chrf": round(c.score, 2),
        "signature_bleu": str(bleu.get_signature()),
        "signature_chrf": str(chrf.get_signature()),
        "sentences": len(hypotheses),
    }


def adjacent_repeats(text: str, longest: int = 4) -> list[tuple[str, ...]]:
    """The phrases of 1 to ``longest`` words that ``text`` says twice in a row ("de la de la",
    "points points"), each holding at least one word character (so "... ..." is none). Words
    are split on white space and compared lowercased."""
    words = text.lower().split()
    found = []
    for n in range(1, longest + 1):
        for i in range(len(words) - 2 * n + 1):
            phrase = words[i : i + n]
            if phrase == words[i + n : i + 2 * n] and any(_WORD.search(w) for w in phrase):
                found.append(tuple(phrase))
    return found


def _count(phrase: tuple[str, ...], words: list[str]) -> int:
    n = len(phrase)
    return sum(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))


def repeated_phrases(sources: Sequence[str], outputs: Sequence[str]) -> int:
    """How many outputs say a phrase twice in a row (``adjacent_repeats``) where their source
    says nothing twice in a row and does not hold that phrase twice: the loops of a decoder
    that has lost its place. (A source that repeats itself may be translated with a repeat, and
    a phrase the source holds twice, such as two equal numbers, may come out side by side.)

    Example:
        >>> repeated_phrases(["Save the file"], ["Enregistrer le le fichier"])
        1
    """
    count = 0
    for source, output in zip(sources, outputs):
        if adjacent_repeats(source):
            continue
        words = source.lower().split()
        count += any(_count(p, words) < 2 for p in adjacent_repeats(output))
    return count
