"""Conditional generation from a vector: a decoder started from any given features.

The seeds' vector-to-sequence pattern (e.g. a caption from an image feature): a feature vector
v (or R region vectors v_1..v_R, mean v) sets the decoder's initial state

    s_0^(k) = tanh(W_k v + b_k)        (each decoder layer k, each state part: h and c)

and the decoder (``rnnkit.models.decoder``) generates y_1, y_2, ... from it; with attention it
also attends over the regions at every step (Xu et al. 2015, "Show, Attend and Tell").
Vinyals et al. 2015, "Show and Tell: A Neural Image Caption Generator".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.config import Config
from rnnkit.layers.state import as_tuple, from_tuple
from rnnkit.models.decoder import DecoderState, DecodingModel, RecurrentDecoder


@dataclass
class VectorToSequenceConfig(Config):
    """Hyper-parameters of a ``VectorToSequence``; every field is a constructor argument."""

    vector_size: int = 0
    target_vocab_size: int = 0
    cell: str = "lstm"
    embedding_size: int = 128
    hidden_size: int = 256
    num_layers: int = 1
    attention: str = "none"
    attention_size: int = 128
    input_feeding: bool = False
    dropout: float = 0.2
    label_smoothing: float = 0.0
    bos_id: int = 1
    cell_options: dict[str, Any] = field(default_factory=dict)


class VectorToSequence(DecodingModel):
    """Generate a token sequence from a feature vector (or a set of region vectors).

    The arguments are the fields of ``VectorToSequenceConfig``.

    Args:
        vector_size: F, the width of the features.
        target_vocab_size: V.
        cell, embedding_size, hidden_size, num_layers: the decoder.
        attention: ``none`` (the vector only starts the decoder) or ``dot``/``general``/
            ``additive`` over the regions.

    Shape:
        vectors (N, F) or (N, R, F); target_in (N, T) -> logits (N, T, V).

    Example:
        >>> model = VectorToSequence(vector_size=2048, target_vocab_size=5000)
        >>> state = model.encode(image_features)                  # (N, 2048)
        >>> hyps = beam_search(model, state, model.first_tokens(n), 20, 5, eos_id=eos)
    """

    model_type = "vec2seq"

    def __init__(self, vector_size: int, target_vocab_size: int, **options: Any) -> None:
        super().__init__()
        self.config = VectorToSequenceConfig.from_dict(
            {"vector_size": vector_size, "target_vocab_size": target_vocab_size, **options}
        )
        c = self.config
        if vector_size < 1 or target_vocab_size < 2:
            raise ValueError(
                f"VectorToSequence: need vector_size >= 1 and target_vocab_size >= 2, got "
                f"{vector_size} and {target_vocab_size}"
            )
        self.decoder = RecurrentDecoder(
            target_vocab_size, c.cell, c.embedding_size, c.hidden_size, c.num_layers,
            memory_size=vector_size, attention=c.attention, attention_size=c.attention_size,
            input_feeding=c.input_feeding, dropout=c.dropout, cell_options=c.cell_options,
        )  # fmt: skip
        parts = len(as_tuple(self.decoder.layers[0].init_state(1)))
        self.init = nn.ModuleList(
            nn.ModuleList(nn.Linear(vector_size, c.hidden_size) for _ in range(parts))
            for _ in range(c.num_layers)
        )

    def encode(self, vectors: Tensor) -> DecoderState:
        """The decoder's state before the first token, from (N, F) or (N, R, F) features."""
        f = self.config.vector_size
        if vectors.dim() not in (2, 3) or vectors.shape[-1] != f:
            raise ValueError(
                f"VectorToSequence: expected vectors (N, {f}) or (N, R, {f}), got "
                f"{tuple(vectors.shape)}"
            )
        regions = vectors if vectors.dim() == 3 else vectors[:, None, :]  # (N, R, F)
        mean = regions.mean(dim=1)
        layers = [
            from_tuple([torch.tanh(linear(mean))[None] for linear in parts]) for parts in self.init
        ]
        mask = torch.ones(regions.shape[:2], dtype=torch.bool, device=regions.device)
        return self.decoder.start(layers, regions, mask)

    def forward(self, vectors: Tensor, target_in: Tensor) -> tuple[Tensor, Tensor | None]:
        """Teacher-forced logits (N, T, V) and attention weights (N, T, R) or None."""
        return self.decoder(target_in, self.encode(vectors))

    def forward_loss(self, batch: dict[str, Tensor]) -> tuple[Tensor, int]:
        """Mean cross-entropy per target token of ``{"vectors", "target_in", "target_out"}``
        (padding -100 in ``target_out``)."""
        logits, _ = self(batch["vectors"], batch["target_in"])
        return self.sequence_loss(logits, batch["target_out"])
