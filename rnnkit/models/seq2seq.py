"""Encoder-decoder (sequence to sequence) with attention: translation, dialogue, rewriting.

    h_1..h_S = encoder(E_src[x_1..x_S])           (K layers, bidirectional or not, any cell)
    s_0^(k)  = bridge_k(final state of encoder layer k)
    p(y_t | y_<t, x) = decoder(y_{t-1}, s_{t-1}, h_1..h_S)   (``rnnkit.models.decoder``)

Training is teacher forcing (the gold y_{t-1} is fed), with optional scheduled sampling and
label smoothing; decoding is greedy or beam search through the ``StepModel`` protocol
(``step``/``reorder_state``), so ``rnnkit.decoding.beam_search`` drives it.

Bridge: a bidirectional encoder's final forward and backward states are concatenated and mapped
to the decoder's size by a learned ``tanh(W [h_fwd; h_bwd] + b)`` per decoder layer and state
part (h and c for an LSTM); a unidirectional encoder of the decoder's size passes its states
as they are. Decoder layer k starts from encoder layer ``max(0, K_enc - K_dec + k)`` (the top
layers when the decoder is shallower).

Sutskever, Vinyals & Le, "Sequence to Sequence Learning with Neural Networks", NIPS 2014;
Bahdanau et al. 2015 and Luong et al. 2015 for attention (``rnnkit.layers.attention``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.config import Config
from rnnkit.layers import LockedDropout, make_layer
from rnnkit.layers.pooling import lengths_mask
from rnnkit.layers.state import as_tuple, from_tuple
from rnnkit.models.copying import coverage_loss
from rnnkit.models.decoder import DecoderState, DecodingModel, RecurrentDecoder


@dataclass
class Seq2SeqConfig(Config):
    """Hyper-parameters of a ``Seq2Seq``; every field is a constructor argument."""

    source_vocab_size: int = 0
    target_vocab_size: int = 0
    cell: str = "lstm"
    embedding_size: int = 256
    hidden_size: int = 256
    encoder_layers: int = 2
    decoder_layers: int = 2
    bidirectional: bool = True
    attention: str = "general"
    attention_size: int = 128
    input_feeding: bool = True
    dropout: float = 0.3
    share_embeddings: bool = False
    label_smoothing: float = 0.1
    scheduled_sampling: float = 0.0
    scheduled_sampling_epochs: int = 5
    bos_id: int = 1
    copy: bool = False
    coverage: bool = False
    coverage_weight: float = 1.0
    unk_id: int = 0
    cell_options: dict[str, Any] = field(default_factory=dict)


class Seq2Seq(DecodingModel):
    """A recurrent encoder-decoder with optional attention.

    The arguments are the fields of ``Seq2SeqConfig``.

    Args:
        source_vocab_size, target_vocab_size: V_src and V_tgt.
        cell: any cell (``cell_options`` passes e.g. ``reset_after=False``) for both sides.
        embedding_size, hidden_size: sizes; each encoder direction has ``hidden_size`` units.
        encoder_layers, decoder_layers, bidirectional: the stacks.
        attention: ``dot``, ``general``, ``additive`` or ``none``; ``input_feeding`` feeds the
            attentional vector to the next step.
        dropout: on embeddings, between layers and before the output.
        share_embeddings: one embedding table for source and target (a shared vocabulary).
        label_smoothing: epsilon of the smoothed cross-entropy (training and validation).
        scheduled_sampling: the final probability of feeding the model's own prediction in
            training, reached linearly over ``scheduled_sampling_epochs`` epochs (0: off).
        bos_id: the token fed before the first target token.
        copy: pointer-generator output (``rnnkit.models.copying``): copy source tokens, also
            out-of-vocabulary ones given as extended ids (``source_ids``, ``extra``).
        coverage: the coverage vector in attention, and ``coverage_weight`` times the
            coverage loss added to the training loss.
        unk_id: the target id fed in place of an extended id.

    Shape:
        source (N, S) long, source_lengths (N,), target_in (N, T) -> logits (N, T, V_tgt).

    Example:
        >>> model = Seq2Seq(8000, 8000, attention="general", bidirectional=True)
        >>> loss, n = model.forward_loss({"source": src, "source_lengths": lens,
        ...                               "target_in": y_in, "target_out": y_out})
    """

    model_type = "seq2seq"

    def __init__(self, source_vocab_size: int, target_vocab_size: int, **options: Any) -> None:
        super().__init__()
        self.config = Seq2SeqConfig.from_dict(
            {"source_vocab_size": source_vocab_size, "target_vocab_size": target_vocab_size,
             **options}
        )  # fmt: skip
        c = self.config
        if min(source_vocab_size, target_vocab_size) < 2:
            raise ValueError(
                f"Seq2Seq: vocabularies need >= 2 ids, got {source_vocab_size} and "
                f"{target_vocab_size}"
            )
        if c.share_embeddings and source_vocab_size != target_vocab_size:
            raise ValueError("Seq2Seq: share_embeddings needs one shared vocabulary")
        self.embed = nn.Embedding(source_vocab_size, c.embedding_size)
        self.encoder = nn.ModuleList()
        width = c.embedding_size
        for _ in range(c.encoder_layers):
            layer = make_layer(c.cell, width, c.hidden_size, bidirectional=c.bidirectional,
                               **c.cell_options)  # fmt: skip
            self.encoder.append(layer)
            width = layer.output_size
        self.drop = LockedDropout(c.dropout)
        self.decoder = RecurrentDecoder(
            target_vocab_size, c.cell, c.embedding_size, c.hidden_size, c.decoder_layers,
            memory_size=width, attention=c.attention, attention_size=c.attention_size,
            input_feeding=c.input_feeding, dropout=c.dropout, cell_options=c.cell_options,
            copy=c.copy, coverage=c.coverage, unk_id=c.unk_id,
        )  # fmt: skip
        if c.share_embeddings:
            self.decoder.embed.weight = self.embed.weight
        self.bridge = self._make_bridge()
        self.sampling = 0.0

    def _make_bridge(self) -> nn.ModuleList | None:
        c = self.config
        if not c.bidirectional:
            return None
        parts = len(as_tuple(self.decoder.layers[0].init_state(1)))  # 2 for an LSTM
        return nn.ModuleList(
            nn.ModuleList(nn.Linear(2 * c.hidden_size, c.hidden_size) for _ in range(parts))
            for _ in range(c.decoder_layers)
        )

    # -------------------------------------------------------------- encoding
    def encode(
        self, source: Tensor, lengths: Tensor, source_ids: Tensor | None = None, extra: int = 0
    ) -> DecoderState:
        """Run the encoder; the decoder's state before the first target token.

        With copying, ``source_ids`` are the source tokens as target ids, out-of-vocabulary
        ones numbered V_tgt, V_tgt + 1 ... (``extra`` of them in the batch); by default the
        source ids themselves (one shared vocabulary, no extension).

        Shape: source (N, S) long, lengths (N,) with every length >= 1, source_ids (N, S).
        """
        if source.dim() != 2 or lengths.shape != source.shape[:1]:
            raise ValueError(
                f"Seq2Seq: expected source (N, S) and lengths (N,), got "
                f"{tuple(source.shape)} and {tuple(lengths.shape)}"
            )
        if int(lengths.min()) < 1:
            raise ValueError("Seq2Seq: every source needs at least one token (append <eos>)")
        x = self.drop(self.embed(source))
        lengths_cpu = lengths.cpu()
        finals = []
        for k, layer in enumerate(self.encoder):
            x, state = layer(x, lengths=lengths_cpu)
            finals.append(state)
            if k < len(self.encoder) - 1:
                x = self.drop(x)
        mask = lengths_mask(lengths.to(source.device), source.shape[1])
        if self.config.copy and source_ids is None:
            if self.config.source_vocab_size != self.config.target_vocab_size:
                raise ValueError(
                    "Seq2Seq: copying with separate vocabularies needs source_ids (the source "
                    "in target ids)"
                )
            source_ids = source
        return self.decoder.start(self._bridge(finals), self.drop(x), mask, source_ids, extra)

    def _bridge(self, finals: list) -> list:
        """Encoder final states (D, N, H) per layer -> decoder initial states (1, N, H)."""
        c, out = self.config, []
        for k in range(c.decoder_layers):
            source = as_tuple(finals[max(0, c.encoder_layers - c.decoder_layers + k)])
            if self.bridge is None:
                out.append(from_tuple(list(source)))
                continue
            parts = []
            for t, linear in zip(source, self.bridge[k]):
                both = torch.cat([t[0], t[1]], dim=-1)  # (2, N, H) -> (N, 2H)
                parts.append(torch.tanh(linear(both))[None])
            out.append(from_tuple(parts))
        return out

    # -------------------------------------------------------------- training
    def forward(
        self, source: Tensor, source_lengths: Tensor, target_in: Tensor,
        source_ids: Tensor | None = None, extra: int = 0,
    ) -> tuple[Tensor, Tensor | None]:  # fmt: skip
        """Teacher-forced logits (N, T, V_tgt [+ extra]) and attention weights (N, T, S) or
        None."""
        state = self.encode(source, source_lengths, source_ids, extra)
        return self.decoder(target_in, state, self.sampling)

    def forward_loss(self, batch: dict[str, Tensor]) -> tuple[Tensor, int]:
        """Mean (label-smoothed) cross-entropy per target token; padding is -100 in
        ``target_out``. With coverage, + coverage_weight * the mean coverage loss.
        ``source_ids`` and ``extra`` (a 0-d tensor), if present, feed copying."""
        extra = int(batch["extra"]) if "extra" in batch else 0
        logits, weights = self(batch["source"], batch["source_lengths"], batch["target_in"],
                               batch.get("source_ids"), extra)  # fmt: skip
        loss, n = self.sequence_loss(logits, batch["target_out"])
        if self.config.coverage and weights is not None:
            cover = coverage_loss(weights, batch["target_out"]) / max(n, 1)
            loss = loss + self.config.coverage_weight * cover
        return loss, n

    def start_epoch(self, epoch: int) -> None:
        """Scheduled sampling: the probability grows linearly to its final value."""
        c = self.config
        ramp = max(1, c.scheduled_sampling_epochs)
        self.sampling = c.scheduled_sampling * min(1.0, (epoch + 1) / ramp)

    def runtime_state(self) -> dict[str, Tensor]:
        return {"sampling": torch.tensor(self.sampling)}

    def load_runtime_state(self, tensors: dict[str, Tensor]) -> None:
        self.sampling = float(tensors["sampling"]) if "sampling" in tensors else 0.0

    # -------------------------------------------------------------- decoding
    @torch.no_grad()
    def align(self, source: Tensor, source_lengths: Tensor, target: Tensor) -> Tensor | None:
        """Attention weights (N, T, S) when the model reads ``target`` (its first T tokens
        after ``bos``); None without attention. Used to draw a translation's alignment."""
        bos = self.first_tokens(target.shape[0], target.device)[:, None]
        _, weights = self(source, source_lengths, torch.cat([bos, target[:, :-1]], dim=1))
        return weights
