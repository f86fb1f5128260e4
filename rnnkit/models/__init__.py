"""Task models built on the layers: each exposes ``forward_loss(batch) -> (loss, n_items)``."""

from rnnkit.models.classifier import ClassifierConfig, TextClassifier
from rnnkit.models.language_model import (
    LanguageModel,
    LanguageModelConfig,
    bits_per_character,
    perplexity,
)
from rnnkit.models.tagger import SequenceTagger, TaggerConfig

MODEL_TYPES = {m.model_type: m for m in (LanguageModel, TextClassifier, SequenceTagger)}

__all__ = [
    "MODEL_TYPES",
    "ClassifierConfig",
    "LanguageModel",
    "LanguageModelConfig",
    "SequenceTagger",
    "TaggerConfig",
    "TextClassifier",
    "bits_per_character",
    "perplexity",
]
