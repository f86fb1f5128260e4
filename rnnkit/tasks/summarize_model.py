"""The ``model`` section of ``rnnkit train summarize``: which summarizer, and its options.

``type`` picks the model: ``extractive`` (``SummaRuNNer``: it scores the source's sentences),
``abstractive`` (a pointer-generator ``Seq2Seq`` that writes the summary word by word, copying
source words through its attention) or ``auto`` (both are trained and the one whose validation
summaries score higher is kept: ``rnnkit.tasks.summarize_auto``; ``rnnkit train summarize``'s
default). ``cell``, ``embedding_size``, ``hidden_size``, ``dropout`` and ``cell_options`` apply
to both; every other field applies to one type only, and setting it for the other type is
refused (so a typo'd combination does not silently do nothing); under ``auto`` it applies to its
own type's candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from rnnkit.models.seq2seq import Seq2SeqConfig
from rnnkit.models.summarizer import SummarizerConfig

TYPES = ("extractive", "abstractive", "auto")
#: the types ``auto`` trains, in the order it trains them (the first wins a tie)
CANDIDATES = ("extractive", "abstractive")
#: the abstractive model's options beyond the shared ones (Seq2Seq constructor arguments)
ABSTRACTIVE_KEYS = ("encoder_layers", "decoder_layers", "bidirectional", "attention",
                    "attention_size", "input_feeding", "label_smoothing", "scheduled_sampling",
                    "scheduled_sampling_epochs", "copy", "coverage",
                    "coverage_weight")  # fmt: skip
SHARED_KEYS = ("cell", "embedding_size", "hidden_size", "dropout", "cell_options")
#: SummaRuNNer's options beyond the shared ones
EXTRACTIVE_KEYS = tuple(f.name for f in fields(SummarizerConfig) if f.name not in SHARED_KEYS)


@dataclass
class SummarizeModelConfig(SummarizerConfig):
    """``SummarizerConfig`` plus ``type`` and the pointer-generator's options.

    The fields below apply to ``type="abstractive"`` only (See et al. 2017's model, smaller).

    Fields:
        encoder_layers, decoder_layers, bidirectional: the stacks (one layer each, a
            bidirectional encoder).
        attention, attention_size: additive (Bahdanau) attention, as in the pointer-generator.
        input_feeding, label_smoothing, scheduled_sampling, scheduled_sampling_epochs: as for
            ``Seq2Seq``.
        copy: mix generating with copying source tokens (p_gen), so words outside the
            vocabulary can be produced.
        coverage, coverage_weight: the coverage vector in attention and its loss
            (weight lambda), which discourages attending to the same words again.
    """

    type: str = "extractive"
    encoder_layers: int = 1
    decoder_layers: int = 1
    bidirectional: bool = True
    attention: str = "additive"
    attention_size: int = 128
    input_feeding: bool = True
    label_smoothing: float = 0.0
    scheduled_sampling: float = 0.0
    scheduled_sampling_epochs: int = 5
    copy: bool = True
    coverage: bool = True
    coverage_weight: float = 1.0


def split_model_options(options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(type, constructor options)`` of the model section ``options``.

    For ``extractive`` the options are ``SummaRuNNer``'s; for ``abstractive`` ``Seq2Seq``'s
    (with this config's defaults for the keys not given); for ``auto`` the section without
    ``type`` (``candidate_options`` splits it).

    Raises:
        ValueError: an unknown type, or a key given that the type does not use.

    Example:
        >>> split_model_options({"type": "abstractive", "hidden_size": 64})[1]["copy"]
        True
    """
    kind = options.get("type", "extractive")
    if kind not in TYPES:
        raise ValueError(f"model.type must be one of {TYPES}, got {kind!r}")
    rest = {k: v for k, v in options.items() if k != "type"}
    SummarizeModelConfig.from_dict(rest)  # rejects unknown keys and bad values
    if kind == "auto":
        return kind, rest
    wrong = sorted(set(rest) & set(ABSTRACTIVE_KEYS if kind == "extractive" else EXTRACTIVE_KEYS))
    if wrong:
        other = "abstractive" if kind == "extractive" else "extractive"
        raise ValueError(
            f"model.{wrong[0]} applies to --model.type={other} only (this model is {kind})"
        )
    if kind == "extractive":
        return kind, rest
    full = SummarizeModelConfig.from_dict(rest).to_dict()
    seq2seq = {f.name for f in fields(Seq2SeqConfig)}
    return kind, {k: full[k] for k in (*SHARED_KEYS, *ABSTRACTIVE_KEYS) if k in seq2seq}


def candidate_options(options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each ``CANDIDATES`` type's constructor options from an ``auto`` model section: the shared
    keys go to both, every other key to the type it applies to.

    Example:
        >>> candidate_options({"hidden_size": 64, "position_size": 8})["abstractive"]["copy"]
        True
    """
    other = {"extractive": ABSTRACTIVE_KEYS, "abstractive": EXTRACTIVE_KEYS}
    out = {}
    for kind in CANDIDATES:
        kept = {k: v for k, v in options.items() if k != "type" and k not in other[kind]}
        out[kind] = split_model_options({**kept, "type": kind})[1]
    return out
