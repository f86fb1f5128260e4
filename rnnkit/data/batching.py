"""Length-bucketed batches of example indices, resumable mid-epoch, and padding.

Padding a batch to its longest sequence wastes the steps of the shorter ones. Bucketing puts
sequences of similar length together while keeping the epoch random (the "bucket iterator" of
torchtext and AllenNLP):

    order   = a random permutation of the N indices        (torch.Generator seeded seed + epoch)
    buckets = consecutive chunks of order of batch_size * bucket_size_multiplier indices
    batches = each bucket sorted by length, cut into batch_size indices
    epoch   = those batches in a random order (same generator)

So an epoch is a pure function of ``(seed, epoch)`` and the state ``(epoch, position)`` resumes
it exactly. Without shuffling the batches are the indices in their original order, cut into
``batch_size`` (deterministic evaluation that keeps the order of the data).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor

_SHAPE_KEYS = ("size", "batch_size", "shuffle", "bucket_size_multiplier")


class BucketBatchSampler:
    """Batches of indices with similar lengths; resumable with ``state_dict``/``load_state_dict``.

    Iterating yields the batches of the current epoch from the current position; after the last
    one the sampler moves to the next epoch by itself (``set_epoch`` also works, as the trainer
    does). Only one iteration at a time: the position lives in the sampler, counting the batches
    already handed out, so a state saved while batch k is being used resumes at batch k + 1.

    Args:
        lengths: the length of each example (any measure of its cost).
        batch_size: indices per batch (the last batch of each bucket may be smaller).
        shuffle: bucket randomly (see the module docstring); False: the original order.
        seed: epoch e draws its order from a generator seeded ``seed + e``.
        bucket_size_multiplier: batches per bucket; larger buckets give batches of more even
            lengths but less randomness.

    Example:
        >>> sampler = BucketBatchSampler([5, 1, 4, 2], batch_size=2, shuffle=False)
        >>> list(sampler), len(sampler)
        ([[0, 1], [2, 3]], 2)
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        bucket_size_multiplier: int = 50,
    ) -> None:
        for name, value in (
            ("batch_size", batch_size),
            ("bucket_size_multiplier", bucket_size_multiplier),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"BucketBatchSampler: {name} must be an int >= 1, got {value!r}")
        self.lengths = [int(n) for n in lengths]
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.bucket_size_multiplier = bucket_size_multiplier
        self._epoch = 0
        self._position = 0
        self._cache: tuple[int, list[list[int]]] | None = None

    def __len__(self) -> int:
        """Batches per epoch: ceil(N / batch_size)."""
        return -(-len(self.lengths) // self.batch_size)

    @property
    def epoch(self) -> int:
        """The epoch being iterated (or about to be)."""
        return self._epoch

    @property
    def position(self) -> int:
        """Batches of the current epoch already handed out."""
        return self._position

    def batches(self, epoch: int) -> list[list[int]]:
        """All the batches of ``epoch``, in order (a pure function of ``seed`` and ``epoch``)."""
        if self._cache is None or self._cache[0] != epoch:
            self._cache = (epoch, self._make_batches(epoch))
        return self._cache[1]

    def _make_batches(self, epoch: int) -> list[list[int]]:
        n, size = len(self.lengths), self.batch_size
        if not self.shuffle:
            return [list(range(i, min(i + size, n))) for i in range(0, n, size)]
        generator = torch.Generator().manual_seed(self.seed + epoch)
        order = torch.randperm(n, generator=generator).tolist()
        chunk = size * self.bucket_size_multiplier
        batches = []
        for start in range(0, n, chunk):
            bucket = sorted(order[start : start + chunk], key=self.lengths.__getitem__)
            batches += [bucket[i : i + size] for i in range(0, len(bucket), size)]
        return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]

    def __iter__(self) -> Iterator[list[int]]:
        if self._position >= len(self):
            # a state saved after the epoch's last batch: that epoch has nothing left, so this
            # pass ends it (as the pass that saved the state would have) and the next one starts
            # the following epoch
            self.set_epoch(self._epoch + 1)
            return
        epoch, batches = self._epoch, self.batches(self._epoch)
        while self._epoch == epoch and self._position < len(batches):
            k = self._position
            self._position = k + 1  # advance first: a state_dict taken now resumes after k
            yield list(batches[k])
        if self._epoch == epoch and self._position >= len(batches):
            self.set_epoch(epoch + 1)

    def set_epoch(self, epoch: int) -> None:
        """Go to the start of ``epoch``; the current epoch keeps its position (for resuming)."""
        if epoch != self._epoch:
            self._epoch, self._position = int(epoch), 0

    def state_dict(self) -> dict[str, Any]:
        """Where the iteration stands (JSON-ready); the shape keys check the sampler on load."""
        return {
            "epoch": self._epoch,
            "position": self._position,
            "seed": self.seed,
            "size": len(self.lengths),
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "bucket_size_multiplier": self.bucket_size_multiplier,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state``: the next batch is the one the saved iteration was due."""
        missing = [k for k in ("epoch", "position", "seed", *_SHAPE_KEYS) if k not in state]
        if missing:
            raise ValueError(f"BucketBatchSampler.load_state_dict: the state lacks {missing}")
        mine = self.state_dict()
        wrong = [
            f"{k}={state[k]!r} (this one has {mine[k]!r})"
            for k in _SHAPE_KEYS
            if state[k] != mine[k]
        ]
        if wrong:
            raise ValueError(
                "BucketBatchSampler.load_state_dict: the state was saved for another sampler: "
                + ", ".join(wrong)
            )
        position = int(state["position"])
        if not 0 <= position <= len(self):
            raise ValueError(
                f"BucketBatchSampler.load_state_dict: position {position} is outside 0..{len(self)}"
            )
        self.seed, self._epoch, self._position = int(state["seed"]), int(state["epoch"]), position
        self._cache = None

    def __repr__(self) -> str:
        return (
            f"BucketBatchSampler(size={len(self.lengths)}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, epoch={self._epoch}, position={self._position}/{len(self)})"
        )


def pad_sequences(seqs: Sequence[Sequence[int]], pad: int = 0) -> tuple[Tensor, Tensor]:
    """Right-pad integer sequences to the longest one.

    Args:
        seqs: N sequences of ids (lists or 1-D tensors).
        pad: the id put after each sequence's end.

    Returns:
        (ids, lengths): ``ids[i, :lengths[i]] == seqs[i]`` and ``ids[i, lengths[i]:] == pad``.

    Shape:
        ids: (N, L_max) long; lengths: (N,) long.

    Example:
        >>> ids, lengths = pad_sequences([[7, 8, 9], [5]])
        >>> ids.tolist(), lengths.tolist()
        ([[7, 8, 9], [5, 0, 0]], [3, 1])
    """
    rows = [torch.as_tensor(seq, dtype=torch.long).reshape(-1) for seq in seqs]
    lengths = torch.tensor([len(row) for row in rows], dtype=torch.long)
    width = int(lengths.max()) if rows else 0
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    return ids, lengths


def pad_char_blocks(blocks: Sequence[tuple[Tensor, Tensor]], steps: int) -> tuple[Tensor, Tensor]:
    """Stack per-sentence character blocks into one padded batch.

    Each block is ``pad_sequences`` of a sentence's words: ids (L_i, C_i) and lengths (L_i,).

    Shape:
        -> chars (N, steps, max C_i) long, char_lengths (N, steps); zero where padded.
    """
    width = max(ids.shape[1] for ids, _ in blocks)
    chars = torch.zeros(len(blocks), steps, width, dtype=torch.long)
    char_lengths = torch.zeros(len(blocks), steps, dtype=torch.long)
    for i, (ids, lens) in enumerate(blocks):
        chars[i, : ids.shape[0], : ids.shape[1]] = ids
        char_lengths[i, : lens.shape[0]] = lens
    return chars, char_lengths
