"""Attention: masking, normalisation, the three scores, batched queries, errors."""

import pytest
import torch

from rnnkit.layers.attention import ATTENTION_KINDS, Attention
from rnnkit.layers.pooling import lengths_mask


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
def test_weights_sum_to_one_and_ignore_padding(kind: str) -> None:
    attn = Attention(kind, 6, 6, attention_size=5)
    memory = torch.randn(3, 4, 6)
    mask = lengths_mask(torch.tensor([4, 2, 1]), 4)
    context, weights = attn(torch.randn(3, 6), memory, mask)
    assert context.shape == (3, 6) and weights.shape == (3, 4)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3))
    assert torch.all(weights[~mask] == 0)
    # padded memory changes nothing: garbage there gives the same context
    garbage = memory.clone()
    garbage[~mask] = 1e3
    q = torch.randn(3, 6)
    torch.testing.assert_close(attn(q, garbage, mask)[0], attn(q, memory, mask)[0])


def test_dot_attention_is_the_seeds_formula() -> None:
    attn = Attention("dot", 3, 3)
    h = torch.randn(1, 5, 3)
    c_prev = torch.randn(1, 3)
    context, weights = attn(c_prev, h, torch.ones(1, 5, dtype=torch.bool))
    alpha = torch.softmax(h[0] @ c_prev[0], dim=0)  # alpha_j = softmax_j(h_j . c_{t-1})
    torch.testing.assert_close(weights[0], alpha)
    torch.testing.assert_close(context[0], (alpha[:, None] * h[0]).sum(0))


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
def test_many_queries_equal_one_at_a_time(kind: str) -> None:
    attn = Attention(kind, 4, 4)
    memory, mask = torch.randn(2, 5, 4), lengths_mask(torch.tensor([5, 3]), 5)
    queries = torch.randn(2, 3, 4)
    context, weights = attn(queries, memory, mask)
    for t in range(3):
        c, w = attn(queries[:, t], memory, mask)
        torch.testing.assert_close(context[:, t], c)
        torch.testing.assert_close(weights[:, t], w)


def test_gradcheck_additive() -> None:
    attn = Attention("additive", 3, 4, attention_size=2).double()
    memory = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    query = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    mask = lengths_mask(torch.tensor([3, 2]), 3)
    assert torch.autograd.gradcheck(lambda q, m: attn(q, m, mask)[0], (query, memory))


def test_errors_name_the_shapes() -> None:
    with pytest.raises(ValueError, match="query and memory widths must match"):
        Attention("dot", 4, 5)
    with pytest.raises(ValueError, match="unknown kind"):
        Attention("cosine", 4, 4)
    attn = Attention("general", 4, 5)
    with pytest.raises(ValueError, match=r"expected query \(N, \[T,\] 4\)"):
        attn(torch.randn(2, 3), torch.randn(2, 6, 5), torch.ones(2, 6, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"expected mask \(2, 6\)"):
        attn(torch.randn(2, 4), torch.randn(2, 6, 5), torch.ones(2, 5, dtype=torch.bool))
