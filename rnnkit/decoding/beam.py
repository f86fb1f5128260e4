"""Beam search over a ``StepModel``, batched over inputs and beams, with the GNMT length penalty.

Keeps the ``beam_size`` most probable prefixes of each input; at each step every prefix is
extended by every token and the best ``beam_size`` continuations survive. Hypotheses that end
with ``eos_id`` are set aside; the search of an input ends when it has ``n_best`` of them and no
live prefix scores better (see ``beam_search``).

Length penalty: Wu et al., "Google's Neural Machine Translation System: Bridging the Gap between
Human and Machine Translation", arXiv:1609.08144, 2016, section 7:

    lp(Y) = ((5 + |Y|) / 6) ** alpha,    score(Y) = log P(Y | X) / lp(Y)

Conventions:
- ``Hypothesis.tokens`` excludes ``eos_id``, but the eos step counts in ``|Y|`` and its
  probability is in ``log_prob``: "a b <eos>" has tokens [a, b], length 3.
- A hypothesis cut at ``max_tokens`` without eos has ``finished=False``; its length is its
  number of tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from rnnkit.decoding.banks import select_by_progress
from rnnkit.decoding.protocol import StepModel, check_count, check_tokens, checked_step
from rnnkit.decoding.rules import MinLength, NoRepeatNgram, TokenRule


@dataclass
class Hypothesis:
    """One output of beam search.

    Args:
        tokens: the generated token ids, without ``eos_id`` and without the first token fed.
        score: ``log_prob / gnmt_length_penalty(length, alpha)``; the ranking key.
        log_prob: the total log-probability of the tokens (and of the final eos, if any).
        finished: True if the hypothesis ended with ``eos_id``, False if cut at ``max_tokens``.
    """

    tokens: list[int]
    score: float
    log_prob: float
    finished: bool = True


def gnmt_length_penalty(length: int, alpha: float) -> float:
    """GNMT length penalty (Wu et al. 2016); alpha = 0 gives 1 (rank by raw log-probability).

    .. math::
        lp(Y) = \\left(\\frac{5 + |Y|}{6}\\right)^\\alpha

    Example:
        >>> gnmt_length_penalty(7, 1.0)
        2.0
    """
    return ((5 + length) / 6) ** alpha


def beam_search(
    model: StepModel,
    state: Any,
    first_tokens: Tensor,
    max_tokens: int | Sequence[int],
    beam_size: int,
    *,
    eos_id: int | None = None,
    length_penalty: float = 1.0,
    n_best: int = 1,
    min_length: int = 0,
    no_repeat_ngram_size: int = 0,
    rules: Sequence[TokenRule] = (),
    should_stop: Callable[[], bool] | None = None,
) -> list[list[Hypothesis]]:
    """Find high-scoring continuations of N inputs at once, ``beam_size`` beams each.

    .. math::
        \\text{beams}_t = \\operatorname{top-}B_{(y_{<t},\\, v)}
        \\left[\\log P(y_{<t}) + \\log \\mathrm{softmax}(z_t)_v\\right]

    The state is expanded to N * beam_size entries with ``model.reorder_state`` (input i's
    beams are entries i * beam_size ... (i + 1) * beam_size - 1) and reordered after every step
    to follow the surviving prefixes. Each step ranks the 2 * beam_size best candidates of each
    input; those ending in ``eos_id`` among the first beam_size become finished hypotheses, and
    the best beam_size others stay live. An input is done when it has ``n_best`` finished
    hypotheses and its best live prefix, scored at its current length, does not beat the worst
    of them (the rule of Hugging Face's ``early_stopping=False``), or when no live prefix is
    left. The search ends at ``max_tokens`` steps or when every input is done; live prefixes of
    inputs not done then count as unfinished hypotheses. For ``length_penalty <= 0`` the stop
    is exact (no live prefix could still win); for alpha > 0 a longer continuation could in
    principle still overtake, as in other toolkits. With ``beam_size=1`` this is greedy
    decoding, for any ``length_penalty``. Runs under ``torch.no_grad``.

    An input's result does not depend on the other inputs of the batch: each has its own
    ``max_tokens`` and stop, and the model's rows do not mix (up to floating-point rounding of
    batched matrix products). Rules (``rnnkit.decoding.rules``) forbid tokens before ranking:
    ``min_length`` forbids eos before that many tokens, ``no_repeat_ngram_size`` forbids
    repeating an n-gram, and ``rules`` adds others (``rnnkit.decoding.constraints``). When a
    rule measures progress (``progress``/``advancing``, as ``SymbolCounts`` does) and
    beam_size > 1, live beams are shared out by progress (``rnnkit.decoding.banks``), so that
    hypotheses meeting the constraint survive beside the best-scoring ones.

    Args:
        model: any ``StepModel``.
        state: the model state for the N inputs (after all but the last prompt token), or
            None for the model's fresh state (passed to ``step`` as is, never reordered).
        first_tokens: the tokens to feed first (the last prompt token, or BOS).
        max_tokens: the most tokens to generate (eos included), >= 0; one int for all inputs
            or one per input.
        beam_size: beams per input, >= 1.
        eos_id: the end-of-sequence token, or None to always generate ``max_tokens`` tokens.
        length_penalty: alpha of the GNMT length penalty; 0 ranks by raw log-probability,
            larger values favour longer outputs (0.6 to 1.0 are common).
        n_best: hypotheses to return per input, in [1, beam_size].
        min_length: the fewest tokens before eos (eos not counted), >= 0.
        no_repeat_ngram_size: n > 0 forbids any n-gram from appearing twice (0: off).
        rules: further ``TokenRule`` objects.
        should_stop: asked after every step; True ends the search there, as ``max_tokens``
            would (the live prefixes count as unfinished hypotheses): a caller's time limit
            or cancellation.

    Shape:
        first_tokens: (N,) long -> N lists of at most ``n_best`` hypotheses, best score first
        (fewer only if the vocabulary cannot fill them).

    Example:
        >>> hyps = beam_search(decoder, enc_state, bos, 50, beam_size=5, eos_id=2, n_best=3)
        >>> hyps[0][0].tokens  # best translation of input 0, without eos
    """
    owner = "beam_search"
    tokens = check_tokens(owner, first_tokens)
    limits = [max_tokens] * tokens.shape[0] if isinstance(max_tokens, int) else list(max_tokens)
    if len(limits) != tokens.shape[0]:
        raise ValueError(f"{owner}: expected {tokens.shape[0]} max_tokens, got {len(limits)}")
    for limit in limits:
        check_count(owner, "max_tokens", limit, 0)
    check_count(owner, "beam_size", beam_size, 1)
    check_count(owner, "min_length", min_length, 0)
    check_count(owner, "no_repeat_ngram_size", no_repeat_ngram_size, 0)
    check_count(owner, "n_best", n_best, 1)
    if n_best > beam_size:
        raise ValueError(f"{owner}: expected n_best <= beam_size ({beam_size}), got {n_best}")
    if eos_id is not None:
        check_count(owner, "eos_id", eos_id, 0)
    if not (isinstance(length_penalty, (int, float)) and math.isfinite(length_penalty)):
        raise ValueError(f"{owner}: expected a finite length_penalty, got {length_penalty!r}")
    all_rules = list(rules)
    if min_length and eos_id is not None:
        all_rules.append(MinLength(min_length, eos_id))
    if no_repeat_ngram_size:
        all_rules.append(NoRepeatNgram(no_repeat_ngram_size))
    search = _BeamSearch(model, tokens.shape[0], beam_size, eos_id, length_penalty, n_best)
    return search.run(state, tokens, limits, all_rules, should_stop)


class _BeamSearch:
    """The search's bookkeeping: live beams as tensors, finished hypotheses as lists."""

    def __init__(
        self,
        model: StepModel,
        n: int,
        beam_size: int,
        eos_id: int | None,
        alpha: float,
        n_best: int,
    ) -> None:
        self.model, self.n, self.b = model, n, beam_size
        self.eos_id, self.alpha, self.n_best = eos_id, float(alpha), n_best
        self.finished: list[list[Hypothesis]] = [[] for _ in range(n)]
        self.done = [False] * n

    @torch.no_grad()
    def run(
        self,
        state: Any,
        tokens: Tensor,
        limits: list[int],
        rules: list[TokenRule],
        should_stop: Callable[[], bool] | None = None,
    ) -> list[list[Hypothesis]]:
        n, b, device = self.n, self.b, tokens.device
        expand = torch.arange(n, device=device).repeat_interleave(b)  # (N*B,)
        if state is not None:  # None: the model's fresh state, built at the first step
            state = self.model.reorder_state(state, expand)
        tokens = tokens[expand]  # (N*B,)
        ruled = [(rule, rule.begin(expand)) for rule in rules]
        # cumulative log-probs (N, B); all beams start equal, so only beam 0 may expand first
        scores = torch.full((n, b), float("-inf"), device=device)
        scores[:, 0] = 0.0
        history = torch.empty(n * b, 0, dtype=torch.long, device=device)  # (N*B, t)
        self.limits = limits
        if self._update_done(scores, history, 0):
            return self._results()
        for t in range(1, max(limits) + 1):
            logits, state = checked_step("beam_search", self.model, tokens, state, self.eos_id)
            logp = logits.float().log_softmax(dim=-1)  # (N*B, V)
            v = logp.shape[1]
            for rule, rule_state in ruled:
                keep = rule.allowed(rule_state, history, v)
                if keep is not None:
                    logp = logp.masked_fill(~keep, float("-inf"))
            cand = (scores.unsqueeze(-1) + logp.view(n, b, v)).view(n, b * v)
            top_scores, top_ids = cand.topk(min(2 * b, b * v), dim=1)  # (N, 2B), best first
            parent, token = top_ids // v, top_ids % v  # (N, 2B) each
            if self.eos_id is not None:
                self._collect_finished(top_scores, parent, token, history, t)
            banked = [(rule, rs) for rule, rs in ruled if hasattr(rule, "progress")]
            if banked and b > 1:
                top = (top_scores, parent, token)
                scores, parent, token = self._select_banked(banked, scores, logp, top)
            else:
                scores, parent, token = self._select_live(top_scores, parent, token)  # (N, B)
            rows = (torch.arange(n, device=device).unsqueeze(1) * b + parent).view(-1)  # (N*B,)
            history = torch.cat([history[rows], token.view(-1, 1)], dim=1)
            tokens = token.view(-1)
            if self._update_done(scores, history, t):
                break
            if should_stop is not None and should_stop():  # as if every limit were t
                self.limits = [t] * n
                self._update_done(scores, history, t)
                break
            ruled = [(rule, rule.advance(s, rows, tokens)) for rule, s in ruled]
            state = self.model.reorder_state(state, rows)
        return self._results()

    def _collect_finished(
        self, top_scores: Tensor, parent: Tensor, token: Tensor, history: Tensor, t: int
    ) -> None:
        """Set aside the eos candidates ranked among the first B of each input."""
        b = self.b
        is_end = (token[:, :b] == self.eos_id) & torch.isfinite(top_scores[:, :b])  # (N, B)
        for i, r in is_end.nonzero().tolist():
            if self.done[i]:
                continue
            log_prob = top_scores[i, r].item()
            prefix = history[i * b + parent[i, r].item()].tolist()
            score = log_prob / gnmt_length_penalty(t, self.alpha)
            self.finished[i].append(Hypothesis(prefix, score, log_prob, finished=True))
            self.finished[i].sort(key=lambda h: h.score, reverse=True)
            del self.finished[i][self.n_best :]  # worse than n_best others: never returned

    def _select_live(
        self, top_scores: Tensor, parent: Tensor, token: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """The B best candidates not ending in eos, in rank order: (N, 2B) -> (N, B)."""
        if self.eos_id is None:
            pos = torch.arange(self.b, device=token.device).expand(self.n, -1)
        else:
            is_eos = token == self.eos_id
            pos = torch.sort(is_eos.to(torch.uint8), dim=1, stable=True).indices[:, : self.b]
        scores = top_scores.gather(1, pos)
        if self.eos_id is not None:  # V == 1: only eos candidates, no live prefix is left
            scores = scores.masked_fill(token.gather(1, pos) == self.eos_id, float("-inf"))
        return scores, parent.gather(1, pos), token.gather(1, pos)

    def _select_banked(
        self, banked: list, scores: Tensor, logp: Tensor, top: tuple[Tensor, Tensor, Tensor]
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Live beams shared out by progress (``banks.py``): (N, B) scores, parent, token."""
        n, b, v = self.n, self.b, logp.shape[1]
        level = sum(rule.progress(rs) for rule, rs in banked)  # (R,)
        adv = torch.stack([rule.advancing(rs, v) for rule, rs in banked]).any(0)  # (R, V)
        top_scores, parent, token = top
        rows = torch.arange(n, device=logp.device).unsqueeze(1) * b + parent  # (N, C)
        top_level = level[rows] + adv[rows, token].long()
        best, best_token = logp.masked_fill(~adv, float("-inf")).max(-1)  # (R,)
        extras = (
            scores + best.view(n, b), torch.arange(b, device=logp.device).expand(n, b),
            best_token.view(n, b), (level + 1).view(n, b),
        )  # fmt: skip
        return select_by_progress(b, (top_scores, parent, token, top_level), extras, self.eos_id)

    def _update_done(self, scores: Tensor, history: Tensor, t: int) -> bool:
        """Mark inputs done after step t (those at their limit keep their live beams as
        unfinished hypotheses); True when all are."""
        lp = gnmt_length_penalty(t, self.alpha)
        best_live = scores.max(dim=1).values.tolist()  # (N,) cumulative log-probs
        for i, best in enumerate(best_live):
            if self.done[i]:
                continue
            if self.eos_id is not None and t > 0:
                full = len(self.finished[i]) >= self.n_best
                if best == float("-inf") or (full and self.finished[i][-1].score >= best / lp):
                    self.done[i] = True
                    continue
            if t >= self.limits[i]:
                for j, log_prob in enumerate(scores[i].tolist()):
                    if log_prob > float("-inf"):
                        tokens = history[i * self.b + j].tolist()
                        hyp = Hypothesis(tokens, log_prob / lp, log_prob, finished=False)
                        self.finished[i].append(hyp)
                self.done[i] = True
        return all(self.done)

    def _results(self) -> list[list[Hypothesis]]:
        """The n_best hypotheses of each input, best first."""
        results = []
        for hyps in self.finished:
            hyps.sort(key=lambda h: h.score, reverse=True)
            results.append(hyps[: self.n_best])
        return results
