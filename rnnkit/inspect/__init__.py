"""Looking inside a recurrent model: gates, cell states, hidden units and attention.

``record_lm`` / ``record_classifier`` / ``record_seq2seq`` / ``record_summarizer`` (or ``record``
for any model, and ``inspect_text`` for raw text) run a model once in eval mode and return a
``Recording``: for every token, layer and direction, the gate activations of the built-in cells
(LSTM i, f, g, o and c; GRU r, z, n; Elman h), the hidden state h, and the task's own outputs
(top-k next tokens, class probabilities and attention-pooling weights, attention matrices,
sentence scores). The values are computed by re-running each cell's equations step by step from
its own parameters (``rnnkit.inspect.equations``), whichever backend runs the model normally,
and every recording checks them against the layers' real outputs (``max_error``).

``unit_stats`` and ``rank_units`` pick interesting units: per unit, mean activation, saturation
and correlation with simple text features (``text_features``: inside quotes, inside
parentheses, position in the line).
"""

from rnnkit.inspect.recording import Recording, record
from rnnkit.inspect.tasks import (
    inspect_text,
    record_classifier,
    record_lm,
    record_seq2seq,
    record_summarizer,
)
from rnnkit.inspect.trace import CellTrace, trace_cell, trace_layer
from rnnkit.inspect.units import FEATURES, UnitStats, rank_units, text_features, unit_stats

__all__ = [
    "FEATURES",
    "CellTrace",
    "Recording",
    "UnitStats",
    "inspect_text",
    "rank_units",
    "record",
    "record_classifier",
    "record_lm",
    "record_seq2seq",
    "record_summarizer",
    "text_features",
    "trace_cell",
    "trace_layer",
    "unit_stats",
]
