"""Constrained beam search: each output must contain given symbols an exact number of times.

Tokens need not align with symbols (a byte-level BPE token may hold half a symbol, or a symbol
and the space before it), so the rule runs a small deterministic automaton over the tokens:
each row has a pending state p in [0, P) (how much of a symbol it has started) and counts
c in N^K (how many of each of K symbols it has completed). Token v from pending state p adds
``delta[v, p]`` (K,) to the counts and moves to pending state ``moves[v, p]``.

With ``required`` r (K,) for the row's input, token v is allowed when

    c + delta[v, p] <= r   (element-wise: no symbol beyond its count, none the input lacks)

and ``eos_id`` only when c == r (every symbol present as often as required). A search can
then only finish a hypothesis that satisfies the constraint; a hypothesis cut at
``max_tokens`` may not. ``rnnkit.tasks.placeholder_rule`` builds ``delta`` and ``moves`` for
translation placeholders from a tokenizer's token bytes.
"""

from __future__ import annotations

import torch
from torch import Tensor


class SymbolCounts:
    """The exact-count constraint as a ``TokenRule`` (``rnnkit.decoding.rules``).

    Args:
        delta: (V0, P, K) int: symbols completed by each token from each pending state.
        moves: (V0, P) long: the pending state after each token.
        required: (N, K) int: how many of each symbol input i must contain.
        eos_id: the end-of-sequence token.

    Tokens with ids >= V0 (a copy model's extended ids) count as holding no symbol and keep
    the pending state.

    Shape:
        state: counts (R, K' + 1) and pending (R,) for R beam rows, where K' symbols are
        needed by some input and the last column counts all others together.

    Example:
        >>> # 3 tokens, 1 pending state, 1 symbol: token 2 is the symbol; eos is 0
        >>> delta = torch.tensor([[[0]], [[0]], [[1]]])
        >>> rule = SymbolCounts(delta, torch.zeros(3, 1, dtype=torch.long),
        ...                     torch.tensor([[1]]), eos_id=0)
        >>> state = rule.begin(torch.tensor([0]))
        >>> rule.allowed(state, None, 3)[0].tolist()  # eos must wait for the symbol
        [False, True, True]
    """

    def __init__(self, delta: Tensor, moves: Tensor, required: Tensor, eos_id: int) -> None:
        if delta.dim() != 3 or moves.shape != delta.shape[:2] or required.dim() != 2:
            raise ValueError(
                f"SymbolCounts: expected delta (V, P, K), moves (V, P) and required (N, K), got "
                f"{tuple(delta.shape)}, {tuple(moves.shape)} and {tuple(required.shape)}"
            )
        if required.shape[1] != delta.shape[2]:
            raise ValueError(
                f"SymbolCounts: required has {required.shape[1]} symbols, delta {delta.shape[2]}"
            )
        self.moves, self.eos_id = moves.long(), eos_id
        # only the symbols some input needs are counted one by one; all others share one
        # column whose requirement is 0 (so the tensors stay small: K' + 1 columns)
        needed = required.ne(0).any(0)  # (K,)
        delta = delta.long()
        self.full = torch.cat([delta[:, :, needed], delta[:, :, ~needed].sum(-1, keepdim=True)],
                              dim=-1)  # (V0, P, K' + 1)  # fmt: skip
        self.required = torch.cat([required[:, needed], required.new_zeros(len(required), 1)],
                                  dim=1).long()  # (N, K' + 1)  # fmt: skip
        # only tokens that can change a count or start a symbol are checked one by one
        changes = self.full.flatten(1).ne(0).any(1) | self.moves.ne(0).any(1)  # (V0,)
        self.active = changes.nonzero()[:, 0]  # (A,)
        self.delta = self.full[self.active]  # (A, P, K' + 1)
        self.pending_states = self.moves.shape[1]

    def begin(self, inputs: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Zero counts and no pending symbol; ``inputs`` (R,) picks each row's requirement."""
        required = self.required.to(inputs.device)[inputs]  # (R, K)
        pending = torch.zeros(inputs.shape[0], dtype=torch.long, device=inputs.device)
        return torch.zeros_like(required), pending, required

    def allowed(self, state: tuple[Tensor, Tensor, Tensor], history: Tensor | None,
                vocab_size: int) -> Tensor:  # fmt: skip
        counts, pending, required = state
        r = counts.shape[0]
        keep = torch.ones(r, vocab_size, dtype=torch.bool, device=counts.device)
        active = self.active[self.active < vocab_size]
        if active.numel():
            added = self._added(pending, active.numel())  # (R, A, K)
            fits = (counts[:, None, :] + added <= required[:, None, :]).all(-1)  # (R, A)
            keep[:, active] = fits
        if self.eos_id < vocab_size:
            keep[:, self.eos_id] = (counts == required).all(-1)
        return keep

    def _added(self, pending: Tensor, a: int) -> Tensor:
        """Counts added by the first ``a`` active tokens from each row's pending state."""
        return self.delta[:a].to(pending.device)[:, pending].transpose(0, 1)  # (R, A, K)

    def progress(self, state: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        """How far each row is towards its requirement: (R,) long, P per symbol completed
        (at most the required number) plus, while a symbol is still missing, the pending
        state of a symbol begun. A row that needs nothing more makes no progress, so a
        source without placeholders is searched exactly as without the rule (bar the
        symbols it may not produce)."""
        counts, pending, required = state
        met = torch.minimum(counts, required)[:, :-1].sum(-1)  # the last column: unneeded
        return met * self.pending_states + pending * self._missing(counts, required)

    def advancing(self, state: tuple[Tensor, Tensor, Tensor], vocab_size: int) -> Tensor:
        """(R, V) bool: tokens that raise ``progress`` (for the search's progress banks); none
        for a row that already holds every symbol it needs."""
        counts, pending, required = state
        out = torch.zeros(counts.shape[0], vocab_size, dtype=torch.bool, device=counts.device)
        active = self.active[self.active < vocab_size]
        if active.numel():
            added = counts[:, None, :] + self._added(pending, active.numel())  # (R, A, K)
            after = torch.minimum(added, required[:, None, :])[..., :-1].sum(-1)  # (R, A)
            moves = self.moves[active].to(pending.device)[:, pending].T  # (R, A)
            still = (added < required[:, None, :])[..., :-1].any(-1)  # (R, A): more needed
            before = self.progress(state)[:, None]
            out[:, active.to(out.device)] = after * self.pending_states + moves * still > before
        return out

    @staticmethod
    def _missing(counts: Tensor, required: Tensor) -> Tensor:
        """(R,) long: 1 where a row still lacks a needed symbol, else 0."""
        return (counts < required)[:, :-1].any(-1).long()

    def advance(self, state: tuple[Tensor, Tensor, Tensor], rows: Tensor,
                tokens: Tensor) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
        counts, pending, required = (t[rows] for t in state)
        known = tokens < self.moves.shape[0]
        safe = tokens.clamp(max=self.moves.shape[0] - 1)
        add = self.full.to(tokens.device)[safe, pending] * known[:, None]  # (R, K)
        moved = torch.where(known, self.moves.to(tokens.device)[safe, pending], pending)
        return counts + add, moved, required
