"""CRF against brute force: log Z sums every path, Viterbi finds the best one, with lengths."""

import itertools

import pytest
import torch

from rnnkit.layers.crf import CRF


def _brute(crf, emissions, length):
    scores = {}
    for path in itertools.product(range(crf.num_tags), repeat=length):
        tags = torch.tensor([list(path) + [0] * (emissions.shape[0] - length)])
        scores[path] = crf.score(emissions[None], tags, torch.tensor([length]))[0]
    return scores


@pytest.mark.parametrize("lengths", [[4, 4, 4], [4, 2, 1]])
def test_partition_and_viterbi_equal_enumeration(lengths):
    torch.manual_seed(0)
    crf = CRF(3).double()
    emissions = torch.randn(3, 4, 3, dtype=torch.float64)
    lens = torch.tensor(lengths)
    log_z = crf.log_partition(emissions, lens)
    paths = crf.decode(emissions, lens)
    for b, length in enumerate(lengths):
        scores = _brute(crf, emissions[b], length)
        expected = torch.logsumexp(torch.stack(list(scores.values())), 0)
        torch.testing.assert_close(log_z[b], expected)
        assert tuple(paths[b]) == max(scores, key=lambda p: scores[p])
        assert len(paths[b]) == length


def test_score_by_hand_and_nll_is_a_probability():
    crf = CRF(2)
    with torch.no_grad():
        crf.start.copy_(torch.tensor([0.5, -1.0]))
        crf.end.copy_(torch.tensor([0.0, 2.0]))
        crf.transitions.copy_(torch.tensor([[0.1, 0.2], [0.3, 0.4]]))
    e = torch.tensor([[[1.0, 0.0], [0.0, 3.0], [9.0, 9.0]]])
    got = crf.score(e, torch.tensor([[0, 1, 1]]), torch.tensor([2]))
    torch.testing.assert_close(got, torch.tensor([0.5 + 1.0 + 3.0 + 0.2 + 2.0]))
    nll = crf.nll(e, torch.tensor([[0, 1, 0]]), torch.tensor([2]))
    assert nll.item() > 0  # -log p with p < 1


def test_gradients_flow_and_training_fits_the_gold_path():
    torch.manual_seed(0)
    crf = CRF(4)
    emissions = torch.randn(2, 5, 4, requires_grad=True)
    tags = torch.tensor([[0, 1, 2, 3, 0], [3, 3, 1, 0, 0]])
    lens = torch.tensor([5, 3])
    opt = torch.optim.Adam([emissions, *crf.parameters()], lr=0.1)
    for _ in range(100):
        loss = crf.nll(emissions, tags, lens).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert crf.decode(emissions, lens) == [[0, 1, 2, 3, 0], [3, 3, 1]]


def test_shape_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"CRF: expected emissions of shape \(N, L, 4\)"):
        CRF(4).decode(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match="CRF: lengths must be"):
        CRF(4).decode(torch.randn(2, 3, 4), torch.tensor([4, 1]))
