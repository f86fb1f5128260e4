"""Task models built on the layers: each exposes ``forward_loss(batch) -> (loss, n_items)``."""

from rnnkit.models.bilm import BiLanguageModel, BiLMConfig
from rnnkit.models.bilm_features import BiLMFeatures
from rnnkit.models.classifier import ClassifierConfig, TextClassifier
from rnnkit.models.decoder import DecoderState, RecurrentDecoder
from rnnkit.models.ensemble import ClassifierEnsemble
from rnnkit.models.language_model import (
    LanguageModel,
    LanguageModelConfig,
    bits_per_character,
    perplexity,
)
from rnnkit.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnkit.models.summarizer import SummarizerConfig, SummaRuNNer
from rnnkit.models.tagger import SequenceTagger, TaggerConfig
from rnnkit.models.vec2seq import VectorToSequence, VectorToSequenceConfig


def make_classifier(vocab_size: int, **options: object) -> TextClassifier | ClassifierEnsemble:
    """A ``TextClassifier``, or a ``ClassifierEnsemble`` when ``ensemble`` > 1 or
    ``linear_weight`` > 0."""
    members = int(options.get("ensemble", 1) or 1)  # type: ignore[call-overload]
    linear = float(options.get("linear_weight", 0.0) or 0.0)  # type: ignore[arg-type]
    if members > 1 or linear > 0:
        return ClassifierEnsemble(vocab_size, **options)  # type: ignore[arg-type]
    return TextClassifier(vocab_size, **options)  # type: ignore[arg-type]


MODEL_TYPES = {
    m.model_type: m
    for m in (
        LanguageModel,
        TextClassifier,
        ClassifierEnsemble,
        SequenceTagger,
        Seq2Seq,
        VectorToSequence,
        SummaRuNNer,
        BiLanguageModel,
    )
}

__all__ = [
    "MODEL_TYPES",
    "BiLMConfig",
    "BiLMFeatures",
    "BiLanguageModel",
    "ClassifierConfig",
    "ClassifierEnsemble",
    "DecoderState",
    "LanguageModel",
    "LanguageModelConfig",
    "RecurrentDecoder",
    "Seq2Seq",
    "Seq2SeqConfig",
    "SequenceTagger",
    "SummaRuNNer",
    "SummarizerConfig",
    "TaggerConfig",
    "TextClassifier",
    "VectorToSequence",
    "VectorToSequenceConfig",
    "bits_per_character",
    "make_classifier",
    "perplexity",
]
