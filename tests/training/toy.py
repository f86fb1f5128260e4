"""A tiny resumable LM stream and model factory for trainer tests."""

from __future__ import annotations

import torch

from rnnkit.models import LanguageModel


class ToyStream:
    """Windows (x, y) of a fixed token tensor split into B contiguous rows; resumable."""

    def __init__(self, ids: torch.Tensor, batch_size: int, bptt: int) -> None:
        usable = (ids.numel() - 1) // batch_size * batch_size
        self.x = ids[:usable].view(batch_size, -1)
        self.y = ids[1 : usable + 1].view(batch_size, -1)
        self.bptt = bptt
        self.pos = 0
        self.epochs_seen: list[int] = []

    def __len__(self) -> int:
        return (self.x.shape[1] + self.bptt - 1) // self.bptt

    def __iter__(self):
        while self.pos < len(self):
            i = self.pos
            self.pos += 1  # the state names the next window before this one is used
            sl = slice(i * self.bptt, (i + 1) * self.bptt)
            yield self.x[:, sl], self.y[:, sl]
        self.pos = 0

    def set_epoch(self, epoch: int) -> None:
        self.epochs_seen.append(epoch)
        self.pos = 0

    def state_dict(self) -> dict:
        return {"pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.pos = state["pos"]


def pattern_ids(n: int = 2000, period: int = 7) -> torch.Tensor:
    """A learnable sequence: a repeating pattern of ``period`` tokens."""
    return torch.arange(n) % period


def toy_model(seed: int = 0, **options) -> LanguageModel:
    torch.manual_seed(seed)
    defaults = dict(embedding_size=16, hidden_size=24, num_layers=2, dropout=0.2)
    return LanguageModel(vocab_size=8, **{**defaults, **options})
