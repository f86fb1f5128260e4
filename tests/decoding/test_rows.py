"""select_rows: each row sampled with its own settings and generator, as alone."""

import pytest
import torch

from rnnkit.decoding import select_next_tokens
from rnnkit.decoding.rows import RowSampling, select_rows, token_logprobs

SETTINGS = [
    RowSampling(),
    RowSampling(greedy=True),
    RowSampling(temperature=0.7, top_k=5),
    RowSampling(top_p=0.8),
    RowSampling(),
    RowSampling(temperature=1.3, top_k=3, top_p=0.9),
]


def test_each_row_equals_select_next_tokens_alone_with_its_generator():
    logits = torch.randn(len(SETTINGS), 40) * 3
    for seed in range(20):
        gens = [torch.Generator().manual_seed(seed * 10 + i) for i in range(len(SETTINGS))]
        got = select_rows(logits, SETTINGS, gens)
        for i, s in enumerate(SETTINGS):
            alone = select_next_tokens(
                logits[i : i + 1], strategy="greedy" if s.greedy else "sample",
                temperature=s.temperature, top_k=s.top_k, top_p=s.top_p,
                generator=torch.Generator().manual_seed(seed * 10 + i),
            )  # fmt: skip
            assert int(got[i]) == int(alone[0]), (seed, i)


def test_rows_do_not_share_random_draws():
    logits = torch.zeros(3, 50)  # uniform: every draw shows which generator made it
    seeds = [torch.Generator().manual_seed(7) for _ in range(3)]
    same = select_rows(logits, [RowSampling()] * 3, seeds)
    assert same.tolist() == [same[0].item()] * 3  # three generators with one seed agree
    other = [torch.Generator().manual_seed(s) for s in (1, 2, 3)]
    assert len(set(select_rows(logits, [RowSampling()] * 3, other).tolist())) > 1


def test_logprobs_and_errors():
    logits = torch.tensor([[0.0, 1.0], [2.0, 0.0]])
    lp = token_logprobs(logits, torch.tensor([1, 1]))
    torch.testing.assert_close(lp, logits.log_softmax(-1)[[0, 1], [1, 1]])
    with pytest.raises(ValueError, match="one per row"):
        select_rows(logits, [RowSampling()], [None, None])
    with pytest.raises(ValueError, match="top_p"):
        RowSampling(top_p=1.5).check("generate")


def test_draw_rows_makes_the_draws_of_torch_multinomial_row_by_row():
    from rnnkit.decoding.rows import draw_rows

    for trial in range(200):
        probs = (torch.randn(5, 30) * 3).softmax(-1)
        if trial % 2:
            probs[:, ::4] = 0  # filtered tokens (top-k, top-p) have probability 0
        mine = [torch.Generator().manual_seed(trial * 10 + j) for j in range(5)]
        theirs = [torch.Generator().manual_seed(trial * 10 + j) for j in range(5)]
        for _ in range(3):  # the generators advance as with one call per row
            got = draw_rows(probs, mine).tolist()
            alone = [int(torch.multinomial(probs[j : j + 1], 1, generator=g)) for j, g in
                     enumerate(theirs)]  # fmt: skip
            assert got == alone, trial
    bad = torch.tensor([[0.5, float("nan")]])
    with pytest.raises(RuntimeError, match="nan"):
        draw_rows(bad, [None])
