"""Beam slots shared out by progress towards a constraint (dynamic beam allocation).

A constraint that forbids eos until some tokens are out makes plain beam search myopic: the
tokens that meet it rarely rank among the best continuations of any beam, so every beam runs
on and the search ends cut at ``max_tokens``. Post and Vilar ("Fast Lexically Constrained
Decoding with Dynamic Beam Allocation for Neural Machine Translation", NAACL 2018) keep the
beam's candidates in banks by how much of the constraint they meet and give each bank its
share of the beam; here:

1. the candidates are the 2B best continuations of the input plus, for each of its B beams,
   its best continuation that makes progress (``TokenRule.advancing``);
2. each candidate's bank is its progress (``TokenRule.progress`` of its beam, + 1 if the token
   advances);
3. the B live beams are taken round-robin from the banks, most progress first, each bank in
   score order, until B are taken or no candidate is left.
"""

from __future__ import annotations

import torch
from torch import Tensor


def select_by_progress(
    b: int,
    candidates: tuple[Tensor, Tensor, Tensor, Tensor],
    extras: tuple[Tensor, Tensor, Tensor, Tensor],
    eos_id: int | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """The B live beams of each input from banked candidates.

    Args:
        b: beams per input.
        candidates: (scores, parent, token, level) of the best continuations, each (N, C).
        extras: (scores, parent, token, level) of each beam's best advancing one, each (N, B).
        eos_id: candidates ending in eos are not live.

    Shape:
        -> scores, parent, token (N, B); missing slots score -inf.
    """
    scores = torch.cat([candidates[0], extras[0]], 1).tolist()
    parent = torch.cat([candidates[1], extras[1]], 1).tolist()
    token = torch.cat([candidates[2], extras[2]], 1).tolist()
    level = torch.cat([candidates[3], extras[3]], 1).tolist()
    n = len(scores)
    out_scores = [[float("-inf")] * b for _ in range(n)]
    out_parent, out_token = [[0] * b for _ in range(n)], [[0] * b for _ in range(n)]
    for i in range(n):
        banks: dict[int, list[tuple[float, int, int]]] = {}
        seen = set()
        for s, p, t, lv in zip(scores[i], parent[i], token[i], level[i]):
            if s == float("-inf") or t == eos_id or (p, t) in seen:
                continue
            seen.add((p, t))
            banks.setdefault(lv, []).append((s, p, t))
        queues = [sorted(banks[lv], reverse=True) for lv in sorted(banks, reverse=True)]
        taken: list[tuple[float, int, int]] = []
        while len(taken) < b and any(queues):
            for q in queues:
                if q and len(taken) < b:
                    taken.append(q.pop(0))
        taken.sort(reverse=True)  # rank order, best first
        for j, (s, p, t) in enumerate(taken):
            out_scores[i][j], out_parent[i][j], out_token[i][j] = s, p, t
    device = candidates[0].device
    return (
        torch.tensor(out_scores, device=device),
        torch.tensor(out_parent, dtype=torch.long, device=device),
        torch.tensor(out_token, dtype=torch.long, device=device),
    )
