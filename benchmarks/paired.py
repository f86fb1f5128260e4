"""Whether two systems scored on the same test items differ by more than chance: McNemar's test.

Each system is right or wrong on every item (a text's label, a token's tag). Only the items
where exactly one of them is right say anything about which is better: ``b`` where the first
alone is right, ``c`` where the second alone is. If the two were equally good, each of those
``n = b + c`` items would go either way with probability 1/2, so ``min(b, c)`` follows a
Binomial(n, 1/2), and the exact two-sided p-value is

    p = min(1, 2 * sum_{k=0}^{min(b, c)} C(n, k) / 2^n)

(McNemar 1947; the exact form Dietterich 1998 recommends for comparing two classifiers on one
test set). A small p says the test set tells the two apart; a large one, that a difference of
``b - c`` items is what two equal systems would show by chance.
"""

from __future__ import annotations

from math import comb


def mcnemar(first: list[bool], second: list[bool]) -> dict:
    """``{"only_first": b, "only_second": c, "p": exact two-sided p}`` for per-item correctness
    lists of the same test items (``first[i]``: the first system is right on item ``i``)."""
    if len(first) != len(second):
        raise ValueError(f"{len(first)} items against {len(second)}: not the same test items")
    b = sum(f and not s for f, s in zip(first, second))
    c = sum(s and not f for f, s in zip(first, second))
    n = b + c
    tail = sum(comb(n, k) for k in range(min(b, c) + 1))
    p = min(1.0, 2 * tail / 2**n) if n else 1.0
    return {"only_first": b, "only_second": c, "p": float(f"{p:.3g}")}
