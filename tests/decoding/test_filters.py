"""Logit filters: temperature, top-k, top-p (nucleus) on hand-made distributions."""

import math

import pytest
import torch

from rnnkit.decoding import apply_temperature, top_k_filter, top_p_filter


def kept(logits: torch.Tensor) -> list[list[int]]:
    """Token ids left finite, per row."""
    return [torch.isfinite(row).nonzero().flatten().tolist() for row in logits]


# ------------------------------------------------------------------ temperature
def test_temperature_divides_and_reshapes_the_distribution():
    z = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    torch.testing.assert_close(apply_temperature(z, 2.0), z / 2.0)
    torch.testing.assert_close(apply_temperature(z, 1.0), z)
    p1 = z.softmax(-1)
    hot = apply_temperature(z, 4.0).softmax(-1)
    cold = apply_temperature(z, 0.25).softmax(-1)
    assert torch.all(hot.max(-1).values < p1.max(-1).values)  # flatter
    assert torch.all(cold.max(-1).values > p1.max(-1).values)  # sharper
    assert torch.equal(cold.argmax(-1), p1.argmax(-1))


def test_temperature_zero_points_to_greedy():
    with pytest.raises(ValueError, match="greedy"):
        apply_temperature(torch.zeros(1, 3), 0)
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="temperature"):
            apply_temperature(torch.zeros(1, 3), bad)


def test_filters_reject_logits_that_are_not_n_by_v():
    for fn, arg in ((apply_temperature, 1.0), (top_k_filter, 1), (top_p_filter, 0.5)):
        with pytest.raises(ValueError, match=r"expected logits of shape \(N, V\).*\(3,\)"):
            fn(torch.zeros(3), arg)


# ------------------------------------------------------------------ top-k
@pytest.mark.parametrize("k", [1, 3, 19])
def test_top_k_keeps_exactly_the_k_largest(k):
    z = torch.randn(5, 20)
    out = top_k_filter(z, k)
    assert (torch.isfinite(out).sum(-1) == k).all()
    kept_values = out[torch.isfinite(out)].view(5, k).sort(-1, descending=True).values
    torch.testing.assert_close(kept_values, z.topk(k, dim=-1).values, rtol=0, atol=0)
    assert torch.equal(out[torch.isfinite(out)], z[torch.isfinite(out)])  # values unchanged


def test_top_k_breaks_ties_towards_the_lower_id():
    z = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 2.0, 2.0, 2.0]])
    assert kept(top_k_filter(z, 2)) == [[0, 2], [1, 2]]


def test_top_k_at_or_above_vocabulary_is_a_no_op():
    z = torch.randn(2, 4)
    assert top_k_filter(z, 4) is z
    assert top_k_filter(z, 100) is z


@pytest.mark.parametrize("k", [0, -2, 1.5, True])
def test_top_k_rejects_bad_k(k):
    with pytest.raises(ValueError, match="k to be an int >= 1"):
        top_k_filter(torch.zeros(1, 3), k)


# ------------------------------------------------------------------ top-p
# probabilities 0.5, 0.25, 0.15, 0.1, shuffled so that positions matter
SHUFFLED = torch.tensor([[0.15, 0.5, 0.1, 0.25]]).log()


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (0.1, [1]),  # the top token alone already covers p
        (0.5 - 1e-3, [1]),
        (0.6, [1, 3]),  # 0.5 + 0.25 = 0.75 >= 0.6, 0.5 alone is not
        (0.8, [0, 1, 3]),  # 0.9
        (0.95, [0, 1, 2, 3]),
        (1.0, [0, 1, 2, 3]),
    ],
)
def test_top_p_keeps_the_minimal_nucleus(p, expected):
    out = top_p_filter(SHUFFLED, p)
    assert kept(out) == [expected]
    assert torch.equal(out[torch.isfinite(out)], SHUFFLED[torch.isfinite(out)])  # not rescaled


def test_top_p_with_ties_keeps_the_smallest_set_lower_id_first():
    z = torch.tensor([[0.3, 0.4, 0.3], [0.25, 0.25, 0.5]]).log()
    assert kept(top_p_filter(z, 0.5)) == [[0, 1], [2]]  # 0.4 + one of the 0.3s; 0.5 alone
    assert kept(top_p_filter(z, 0.6)) == [[0, 1], [0, 2]]
    assert kept(top_p_filter(z, 0.8)) == [[0, 1, 2], [0, 1, 2]]


def test_top_p_rows_are_independent_and_mass_is_minimal():
    z = torch.randn(64, 12) * 2
    for p in (0.3, 0.7, 0.9):
        out = top_p_filter(z, p)
        for row in range(z.shape[0]):
            assert torch.equal(top_p_filter(z[row : row + 1], p), out[row : row + 1])
        probs = z.double().softmax(-1)
        mass = (probs * torch.isfinite(out)).sum(-1)
        smallest_kept = probs.masked_fill(~torch.isfinite(out), 2.0).min(-1).values
        assert (mass >= p).all()  # covers p ...
        assert (mass - smallest_kept < p).all()  # ... and dropping any kept token would not


def test_top_p_handles_minus_inf_from_an_earlier_filter():
    z = top_k_filter(torch.tensor([[3.0, 2.0, 1.0, 0.0]]), 2)
    assert kept(top_p_filter(z, 0.99)) == [[0, 1]]


@pytest.mark.parametrize("p", [0, -0.1, 1.5, math.nan])
def test_top_p_rejects_bad_p(p):
    with pytest.raises(ValueError, match=r"p in \(0, 1\]"):
        top_p_filter(torch.zeros(1, 3), p)
