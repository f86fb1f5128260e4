"""Translation quality: corpus BLEU and chrF through ``sacrebleu`` (its default settings).

BLEU (Papineni et al. 2002) with sacrebleu's defaults (``13a`` tokenization, ``exp``
smoothing); chrF (Popović 2015) with character 6-grams and beta 2. Both on detokenized
text, so figures are comparable with other toolkits' sacrebleu scores (Post 2018, "A Call for
Clarity in Reporting BLEU Scores"). Scores are on the 0-100 scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


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
