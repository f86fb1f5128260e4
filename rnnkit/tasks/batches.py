"""Batches of examples for the trainer: a sampler picks indices, a collate function pads them.

``Batches`` is re-iterable (one pass per epoch) and forwards ``set_epoch``, ``state_dict`` and
``load_state_dict`` to its sampler, so an interrupted run resumes at the same batch.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from rnnkit.data.batching import BucketBatchSampler
from rnnkit.training import distributed as dist

T = TypeVar("T")


def holdout(examples: list[T], fraction: float, seed: int) -> tuple[list[T], list[T]]:
    """A seeded random ``fraction`` of the examples held out: ``(train, valid)``."""
    if not 0.0 < fraction < 0.5:
        raise ValueError(f"valid_fraction must be in (0, 0.5), got {fraction}")
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    cut = max(1, int(len(examples) * fraction))
    return [examples[i] for i in order[cut:]], [examples[i] for i in order[:cut]]


def shard_examples(examples: list[T]) -> list[T]:
    """Under ``torchrun`` each rank takes an equal share (so all ranks step together)."""
    world = dist.world_size()
    usable = len(examples) // world * world
    return examples[dist.rank() : usable : world]


class Batches:
    """Iterate ``collate([examples[i] for i in batch])`` for each index batch of the sampler.

    Args:
        examples: anything indexable.
        collate: list of examples -> batch (a dict of tensors).
        lengths: a length per example, for bucketing.
        batch_size: examples per batch.
        shuffle: bucket by length and shuffle (training) or keep the file order (evaluation).
        seed: the shuffling seed.
    """

    def __init__(
        self,
        examples: Sequence[Any],
        collate: Callable[[list[Any]], Any],
        lengths: Sequence[int],
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
    ) -> None:
        self.examples, self.collate = examples, collate
        self.sampler = BucketBatchSampler(lengths, batch_size, shuffle=shuffle, seed=seed)

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[Any]:
        for index in self.sampler:
            yield self.collate([self.examples[i] for i in index])

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def state_dict(self) -> dict[str, Any]:
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampler.load_state_dict(state)
