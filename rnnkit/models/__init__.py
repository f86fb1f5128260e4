"""Task models built on the layers: each exposes ``forward_loss(batch) -> (loss, n_items)``."""

from rnnkit.models.language_model import (
    LanguageModel,
    LanguageModelConfig,
    bits_per_character,
    perplexity,
)

MODEL_TYPES = {LanguageModel.model_type: LanguageModel}

__all__ = [
    "MODEL_TYPES",
    "LanguageModel",
    "LanguageModelConfig",
    "bits_per_character",
    "perplexity",
]
