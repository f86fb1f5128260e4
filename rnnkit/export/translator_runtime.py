"""An exported translator on onnxruntime, behind ``Seq2Seq``'s decoding interface (``encode``,
``step``, ``reorder_state``, ``first_tokens``, ``align``): the state is rnnkit's own
``DecoderState``, so ``rnnkit.decoding.beam_search`` and the translator's rules drive it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.export.runtime import session


def _np(t: Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


class OnnxSeq2Seq(nn.Module):
    """``encoder.onnx`` reads the sources; ``decoder_step.onnx`` makes one target token."""

    model_type = "seq2seq"

    def __init__(self, root: Path, config: dict[str, Any]) -> None:
        super().__init__()
        from rnnkit.models.seq2seq import Seq2SeqConfig

        self.config = Seq2SeqConfig.from_dict(config["model"])
        export = config["export"]
        self.parts = export["state"]  # [["h", "c"], ...] per decoder layer
        self.attending, self.feeding = export["attending"], export["input_feeding"]
        self.copying, self.covering = export.get("copying", False), export.get("coverage", False)
        self.encoder_graph = session(root / export["graphs"]["encoder"])
        self.step_graph = session(root / export["graphs"]["decoder_step"])
        self.step_outputs = [o.name for o in self.step_graph.get_outputs()]

    def get_config(self) -> dict[str, Any]:
        return self.config.to_dict()

    def _layers(self, named: dict[str, np.ndarray], prefix: str) -> list[Any]:
        out: list[Any] = []
        for k, parts in enumerate(self.parts):
            tensors = [torch.from_numpy(named[f"{prefix}.{k}.{p}"]) for p in parts]
            out.append(tensors[0] if len(tensors) == 1 else tuple(tensors))
        return out

    @torch.no_grad()
    def encode(
        self, source: Tensor, lengths: Tensor, source_ids: Any = None, extra: int = 0
    ) -> Any:
        """The decoder's state before the first target token (``DecoderState``); with copying
        the source ids are the copy targets (one shared vocabulary: no extension)."""
        from rnnkit.layers.pooling import lengths_mask
        from rnnkit.models.decoder import DecoderState

        if source.dim() != 2 or lengths.shape != source.shape[:1] or int(lengths.min()) < 1:
            raise ValueError(f"OnnxSeq2Seq: expected source (N, S) and lengths (N,) >= 1, got "
                             f"{tuple(source.shape)} and {tuple(lengths.shape)}")  # fmt: skip
        names = [o.name for o in self.encoder_graph.get_outputs()]
        values = self.encoder_graph.run(None, {"input_ids": _np(source.long()),
                                               "lengths": _np(lengths.long())})  # fmt: skip
        named = dict(zip(names, values))
        mask = lengths_mask(lengths, source.shape[1])
        memory = torch.from_numpy(named["memory"]) if self.attending else None
        keys = torch.from_numpy(named["keys"]) if self.attending else None
        feed = torch.zeros(source.shape[0], self.config.hidden_size) if self.feeding else None
        ids = source.long() if self.copying else None
        coverage = torch.zeros(mask.shape) if self.covering else None
        return DecoderState(self._layers(named, "state"), feed, memory, keys, mask, None, ids, 0,
                            coverage)  # fmt: skip

    @torch.no_grad()
    def step(self, tokens: Tensor, state: Any) -> tuple[Tensor, Any]:
        """One target token per sequence: (N,) -> logits (N, V), next state."""
        feed = {"input_ids": _np(tokens.long())}
        for k, parts in enumerate(self.parts):
            layer = state.layers[k]
            for p, t in zip(parts, layer if isinstance(layer, tuple) else (layer,)):
                feed[f"state.{k}.{p}"] = _np(t)
        if self.feeding:
            feed["feed"] = _np(state.feed)
        if self.attending:
            feed.update(memory=_np(state.memory), keys=_np(state.keys), mask=_np(state.mask))
        if self.copying:
            feed["source_ids"] = _np(state.source_ids)
        if self.covering:
            feed["coverage"] = _np(state.coverage)
        named = dict(zip(self.step_outputs, self.step_graph.run(None, feed)))
        weights = torch.from_numpy(named["weights"]) if self.attending else None
        new_feed = torch.from_numpy(named["new_feed"]) if self.feeding else None
        layers = self._layers(named, "new_state")
        coverage = torch.from_numpy(named["new_coverage"]) if self.covering else None
        return torch.from_numpy(named["logits"]), state.moved(layers, new_feed, weights, coverage)

    def reorder_state(self, state: Any, index: Tensor) -> Any:
        """Batch entries ``index`` of the state (beam search)."""
        return state.index_select(index)

    def first_tokens(self, n: int, device: torch.device | None = None) -> Tensor:
        """(N,) filled with ``bos_id``."""
        return torch.full((n,), self.config.bos_id, dtype=torch.long, device=device)

    @torch.no_grad()
    def align(self, source: Tensor, source_lengths: Tensor, target: Tensor) -> Tensor | None:
        """Attention weights (N, T, S) while reading ``target`` after ``bos``; None without
        attention."""
        if not self.attending:
            return None
        state = self.encode(source, source_lengths)
        inputs = torch.cat([self.first_tokens(target.shape[0])[:, None], target[:, :-1]], dim=1)
        weights = []
        for t in range(inputs.shape[1]):
            _, state = self.step(inputs[:, t], state)
            weights.append(state.weights)
        return torch.stack(weights, dim=1)
