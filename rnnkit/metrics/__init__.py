"""rnnkit.metrics: evaluation numbers as plain, JSON-ready dicts.

- ``classification_metrics``, ``multilabel_metrics``, ``format_report`` (scikit-learn,
  ``classification.py``);
- ``tagging_metrics`` (token accuracy, seqeval span F1) and the BIO / BIOES span helpers
  (``tagging.py``);
- ``perplexity`` and ``bits_per_character`` (``lm.py``);
- ``translation_metrics``: BLEU and chrF by sacrebleu; ``repeated_phrases``: outputs that say a
  phrase twice in a row (``translation.py``).

This package imports nothing from the rest of rnnkit.
"""

from rnnkit.metrics.classification import (
    classification_metrics,
    format_report,
    multilabel_metrics,
)
from rnnkit.metrics.lm import bits_per_character, perplexity
from rnnkit.metrics.tagging import bio_to_bioes, bio_to_spans, bioes_to_bio, tagging_metrics
from rnnkit.metrics.translation import repeated_phrases, translation_metrics

__all__ = [
    "bio_to_bioes",
    "bio_to_spans",
    "bioes_to_bio",
    "bits_per_character",
    "classification_metrics",
    "format_report",
    "multilabel_metrics",
    "perplexity",
    "repeated_phrases",
    "tagging_metrics",
    "translation_metrics",
]
