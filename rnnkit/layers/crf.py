"""Linear-chain conditional random field over tag sequences.

Lafferty, McCallum & Pereira, "Conditional Random Fields", ICML 2001; as the output layer of a
BiLSTM tagger in Huang, Xu & Yu, "Bidirectional LSTM-CRF Models for Sequence Tagging", 2015, and
Lample et al., "Neural Architectures for Named Entity Recognition", NAACL 2016.

For emissions e (N, L, T), transitions A (T, T) (A[i, j]: from tag i to tag j), start s and
end scores z, the score of a tag path y_1..y_n (n = the sequence's length) is

    score(y) = s[y_1] + sum_{t=1..n} e_t[y_t] + sum_{t=2..n} A[y_{t-1}, y_t] + z[y_n]

and p(y | x) = exp(score(y)) / Z. log Z comes from the forward algorithm,

    alpha_1 = s + e_1,    alpha_t[j] = logsumexp_i(alpha_{t-1}[i] + A[i, j]) + e_t[j],
    log Z = logsumexp_j(alpha_n[j] + z[j]),

batched over N with each sequence frozen after its own length; Viterbi replaces logsumexp by max.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class CRF(nn.Module):
    """A CRF output layer: ``nll(emissions, tags, lengths)`` to train, ``decode`` to tag.

    Args:
        num_tags: T.

    Shape:
        emissions (N, L, T), tags (N, L) long, lengths (N,) or None (all L).

    Example:
        >>> crf = CRF(5)
        >>> loss = crf.nll(emissions, tags, lengths).mean()
        >>> paths = crf.decode(emissions, lengths)      # list of N lists of tag ids
    """

    def __init__(self, num_tags: int) -> None:
        super().__init__()
        if num_tags < 1:
            raise ValueError(f"CRF: num_tags must be >= 1, got {num_tags}")
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags).uniform_(-0.1, 0.1))
        self.start = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        self.end = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))

    def _check(self, emissions: Tensor, lengths: Tensor | None) -> Tensor:
        if emissions.dim() != 3 or emissions.shape[-1] != self.num_tags:
            raise ValueError(
                f"CRF: expected emissions of shape (N, L, {self.num_tags}), "
                f"got {tuple(emissions.shape)}"
            )
        n, steps, _ = emissions.shape
        if lengths is None:
            return torch.full((n,), steps, dtype=torch.long, device=emissions.device)
        lengths = lengths.to(emissions.device)
        if lengths.shape != (n,) or int(lengths.min()) < 1 or int(lengths.max()) > steps:
            raise ValueError(f"CRF: lengths must be (N,) = ({n},) with values in [1, {steps}]")
        return lengths

    def log_partition(self, emissions: Tensor, lengths: Tensor | None = None) -> Tensor:
        """log Z per sequence: (N, L, T) -> (N,)."""
        lengths = self._check(emissions, lengths)
        alpha = self.start + emissions[:, 0]  # (N, T)
        for t in range(1, emissions.shape[1]):
            # (N, T, 1) + (T, T) -> logsumexp over the previous tag -> (N, T)
            step = torch.logsumexp(alpha.unsqueeze(2) + self.transitions, dim=1) + emissions[:, t]
            alpha = torch.where((t < lengths).unsqueeze(1), step, alpha)
        return torch.logsumexp(alpha + self.end, dim=1)

    def score(self, emissions: Tensor, tags: Tensor, lengths: Tensor | None = None) -> Tensor:
        """score(y) of the given paths: (N,)."""
        lengths = self._check(emissions, lengths)
        steps = emissions.shape[1]
        valid = torch.arange(steps, device=emissions.device)[None, :] < lengths[:, None]  # (N, L)
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (N, L)
        total = self.start[tags[:, 0]] + (emit * valid).sum(1)
        if steps > 1:
            trans = self.transitions[tags[:, :-1], tags[:, 1:]]  # (N, L-1)
            total = total + (trans * valid[:, 1:]).sum(1)
        last = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)
        return total + self.end[last]

    def nll(self, emissions: Tensor, tags: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Negative log-likelihood -log p(tags | x) per sequence: (N,)."""
        return self.log_partition(emissions, lengths) - self.score(emissions, tags, lengths)

    @torch.no_grad()
    def decode(self, emissions: Tensor, lengths: Tensor | None = None) -> list[list[int]]:
        """Viterbi: the highest-scoring tag path of each sequence, of its own length."""
        lengths = self._check(emissions, lengths)
        n, steps, _ = emissions.shape
        best = self.start + emissions[:, 0]  # (N, T)
        pointers = []
        for t in range(1, steps):
            cand = best.unsqueeze(2) + self.transitions  # (N, T_prev, T)
            value, arg = cand.max(dim=1)
            pointers.append(arg)
            best = torch.where((t < lengths).unsqueeze(1), value + emissions[:, t], best)
        best = best + self.end
        paths = []
        for b in range(n):
            tag = int(best[b].argmax())
            path = [tag]
            for t in range(int(lengths[b]) - 1, 0, -1):
                tag = int(pointers[t - 1][b, tag])
                path.append(tag)
            paths.append(path[::-1])
        return paths
