"""The n-gram bag: features and scores by hand, padding never counts, gradients stay local."""

import math

import pytest
import torch

from rnnkit.layers.ngram_bag import MOD, PRIME, NgramBag


def _bag(order=2, buckets=7, vocab=10, outputs=3, seed=0):
    bag = NgramBag(vocab, outputs, buckets, order)
    with torch.no_grad():
        bag.weight.copy_(
            torch.randn(bag.weight.shape, generator=torch.Generator().manual_seed(seed))
        )
    return bag


def test_features_by_hand():
    bag = _bag(order=3)
    tokens = torch.tensor([[4, 5, 6, 0]])
    ids, mask = bag.features(tokens, torch.tensor([3]))
    kept = ids[mask].tolist()
    bigrams = [(4 * PRIME + 5) % MOD, (5 * PRIME + 6) % MOD]
    trigram = ((4 * PRIME + 5) % MOD * PRIME + 6) % MOD
    assert kept == [4, 5, 6] + [10 + b % 7 for b in bigrams] + [10 + trigram % 7]


def test_scores_are_the_normalised_sum_of_the_features_weights():
    bag = _bag()
    tokens, lengths = torch.tensor([[1, 2, 3]]), torch.tensor([3])
    ids, _ = bag.features(tokens, lengths)
    expect = bag.weight[ids[0]].sum(0) / math.sqrt(5)  # 3 unigrams + 2 bigrams
    torch.testing.assert_close(bag(tokens, lengths)[0], expect)


def test_padding_never_counts():
    bag = _bag()
    alone = bag(torch.tensor([[3, 8]]), torch.tensor([2]))
    padded = bag(torch.tensor([[3, 8, 9, 9, 9], [1, 2, 3, 4, 5]]), torch.tensor([2, 5]))
    torch.testing.assert_close(padded[:1], alone)


def test_one_token_and_order_longer_than_the_batch():
    bag = _bag(order=4)
    scores = bag(torch.tensor([[2]]), torch.tensor([1]))
    torch.testing.assert_close(scores[0], bag.weight[2])


def test_gradients_reach_only_the_texts_features():
    bag = _bag()
    bag(torch.tensor([[1, 2]]), torch.tensor([2])).sum().backward()
    touched = bag.weight.grad.abs().sum(1).nonzero().flatten().tolist()
    assert touched[:2] == [1, 2] and len(touched) == 3  # two unigrams and one bigram bucket


def test_fit_idf_counts_each_feature_once_a_text():
    bag = _bag(order=1)
    tokens = torch.tensor([[1, 1, 2], [1, 3, 0], [4, 0, 0]])
    texts = bag.fit_idf([(tokens[:2], torch.tensor([3, 2])), (tokens[2:], torch.tensor([1]))])
    assert texts == 3
    idf = lambda df: math.log(4 / (1 + df)) + 1  # noqa: E731
    expect = [0.0, idf(2), idf(1), idf(1), idf(1)] + [0.0] * 12  # 0: padding only
    torch.testing.assert_close(bag.idf, torch.tensor(expect))


def test_scores_weigh_features_by_idf_and_unseen_ones_drop_out():
    bag = _bag(order=1)
    bag.fit_idf([(torch.tensor([[1, 1, 2], [1, 3, 0]]), torch.tensor([3, 2]))])
    w, idf = bag.weight, bag.idf
    scores = bag(torch.tensor([[1, 2, 7]]), torch.tensor([3]))  # 7: never in training
    expect = (idf[1] * w[1] + idf[2] * w[2]) / (idf[1] ** 2 + idf[2] ** 2).sqrt()
    torch.testing.assert_close(scores[0], expect)
    unseen = bag(torch.tensor([[7, 8]]), torch.tensor([2]))
    torch.testing.assert_close(unseen, torch.zeros(1, 3))


def test_bad_arguments_and_shapes_are_named():
    with pytest.raises(ValueError, match="NgramBag: need"):
        NgramBag(10, 2, 0)
    with pytest.raises(ValueError, match=r"expected tokens \(N, L\)"):
        _bag()(torch.tensor([1, 2]), torch.tensor([2]))
