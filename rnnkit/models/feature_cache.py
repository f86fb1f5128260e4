"""A memory-bounded cache of per-sentence feature tensors (a frozen encoder's outputs).

A frozen biLM gives every sentence the same vectors in every epoch, so recomputing them is the
larger part of a tagger's epoch with biLM features. ``FeatureCache`` keeps each distinct
sentence's tensor under a key made from its input ids, up to ``max_bytes`` in all.

Policy: entries are kept in the order they come until the budget is spent; later sentences
are computed every time and not stored. Training reads the data in epochs, each a pass over
the same sentences: once they exceed the budget, an LRU cache would evict every sentence just
before its next use and never hit, while keeping the first ones gives a fixed share of hits
(budget / total) in every epoch.

Example:
    >>> cache = FeatureCache(max_bytes=1 << 30)
    >>> key = FeatureCache.key(words[i, :n])
    >>> vectors = cache.get(key)
    >>> if vectors is None:
    ...     cache.put(key, compute(i))
"""

from __future__ import annotations

from torch import Tensor


class FeatureCache:
    """Tensors by key, at most ``max_bytes`` of tensor data (0 turns the cache off).

    Args:
        max_bytes: the budget for the stored tensors' data.

    Attributes:
        hits, misses: lookups that found an entry, and lookups that did not.
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"FeatureCache: max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = self.misses = 0
        self._store: dict[bytes, Tensor] = {}

    @staticmethod
    def key(*parts: Tensor) -> bytes:
        """A key from one sentence's input tensors (ids), their shapes included."""
        out = []
        for part in parts:
            out.append(str(tuple(part.shape)).encode())
            out.append(part.detach().cpu().contiguous().numpy().tobytes())
        return b"|".join(out)

    def get(self, key: bytes) -> Tensor | None:
        """The stored tensor, or None (counted as a hit or a miss)."""
        found = self._store.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, key: bytes, value: Tensor) -> bool:
        """Store a detached copy of ``value`` if it fits in the budget; says whether it did."""
        size = value.numel() * value.element_size()
        if key in self._store or self.bytes + size > self.max_bytes:
            return False
        self._store[key] = value.detach().clone()
        self.bytes += size
        return True

    def clear(self) -> None:
        """Drop every entry (the encoder's weights changed) and reset the counters."""
        self._store.clear()
        self.bytes = 0
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._store)
