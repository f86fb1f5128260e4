"""beam_search: against greedy, brute force, hand-built models, length penalty and batching."""

import itertools
import math

import pytest
import torch

from rnnkit.decoding import Hypothesis, beam_search, generate_tokens, gnmt_length_penalty
from tests.decoding.toys import TableModel, TreeModel, gnmt_lp, sequence_log_prob

EOS = 0

# Greedy takes 1 (0.6) then 1 (0.55): P = 0.33; the best sequence is 2 (0.4) then 1 (0.9): 0.36.
# After two tokens every prefix ends with eos (probability 1).
GREEDY_TRAP = {
    (): {1: 0.6, 2: 0.4},
    (1,): {1: 0.55, 2: 0.45},
    (2,): {1: 0.9, 2: 0.1},
}

# "b <eos>": 0.55 * 0.7 = 0.385 (length 2); "a a a <eos>": 0.45 * 0.9 * 0.9 * 0.95 = 0.346
# (length 4). Raw log-prob prefers the short one; with alpha = 1 the long one scores
# log(0.346) / 1.5 = -0.707 > log(0.385) / (7 / 6) = -0.818.
SHORT_OR_LONG = {
    (): {1: 0.45, 2: 0.55},
    (2,): {0: 0.7, 1: 0.2, 2: 0.1},
    (1,): {1: 0.9, 0: 0.06, 2: 0.04},
    (1, 1): {1: 0.9, 0: 0.06, 2: 0.04},
    (1, 1, 1): {0: 0.95, 1: 0.03, 2: 0.02},
}


def tree_search(probs, n=1, **options):
    model = TreeModel(probs, vocab_size=3, default=EOS)
    return beam_search(model, model.init_state(n), torch.full((n,), 1), 10, eos_id=EOS, **options)


def test_beam_finds_what_greedy_misses():
    model = TreeModel(GREEDY_TRAP, vocab_size=3, default=EOS)
    steps = generate_tokens(
        model, model.init_state(1), torch.tensor([1]), 5, strategy="greedy", eos_id=EOS
    )
    assert [t.item() for t in steps] == [1, 1, EOS]
    (best,) = tree_search(GREEDY_TRAP, beam_size=2, length_penalty=0.0)[0]
    assert best.tokens == [2, 1] and best.finished
    assert best.log_prob == pytest.approx(math.log(0.36), abs=1e-6)
    assert best.score == pytest.approx(best.log_prob, abs=1e-9)  # alpha = 0: raw log-prob
    (greedy_like,) = tree_search(GREEDY_TRAP, beam_size=1, length_penalty=0.0)[0]
    assert greedy_like.tokens == [1, 1]
    assert greedy_like.log_prob == pytest.approx(math.log(0.33), abs=1e-6)


def test_n_best_are_sorted_best_first():
    hyps = tree_search(GREEDY_TRAP, beam_size=2, n_best=2, length_penalty=0.0)[0]
    assert [h.tokens for h in hyps] == [[2, 1], [1, 1]]
    assert [h.log_prob for h in hyps] == pytest.approx([math.log(0.36), math.log(0.33)], abs=1e-6)


def test_length_penalty_lets_a_longer_hypothesis_win():
    (short,) = tree_search(SHORT_OR_LONG, beam_size=2, length_penalty=0.0)[0]
    assert short.tokens == [2]
    assert short.log_prob == pytest.approx(math.log(0.55 * 0.7), abs=1e-6)
    (long,) = tree_search(SHORT_OR_LONG, beam_size=2, length_penalty=1.0)[0]
    assert long.tokens == [1, 1, 1] and long.finished
    assert long.log_prob == pytest.approx(math.log(0.45 * 0.9 * 0.9 * 0.95), abs=1e-6)
    assert long.score == pytest.approx(long.log_prob / 1.5, abs=1e-6)  # eos counted: length 4
    assert long.log_prob < short.log_prob  # it wins on the normalised score only


def test_gnmt_length_penalty():
    assert gnmt_length_penalty(7, 1.0) == 2.0
    assert gnmt_length_penalty(3, 0.0) == 1.0
    assert gnmt_length_penalty(13, 0.5) == pytest.approx(math.sqrt(3.0))


def greedy_until_eos(model, n, first, max_tokens):
    steps = generate_tokens(
        model, model.init_state(n), first, max_tokens, strategy="greedy", eos_id=EOS
    )
    rows = torch.stack(list(steps), 1).tolist()
    return [row[: row.index(EOS)] if EOS in row else row for row in rows]


@pytest.mark.parametrize("seed", [14, 36])
@pytest.mark.parametrize("alpha", [0.0, 0.6, 2.0])
def test_beam_size_1_is_greedy(alpha, seed):
    model = TableModel(6, seed=seed, history=True)
    first = torch.arange(8) % 6
    expected = greedy_until_eos(model, 8, first, 12)
    lengths = [len(row) for row in expected]
    assert min(lengths) < 5 and max(lengths) == 12, lengths  # some stop early, some do not
    hyps = beam_search(model, model.init_state(8), first, 12, 1, eos_id=EOS, length_penalty=alpha)
    assert [h[0].tokens for h in hyps] == expected
    assert [h[0].finished for h in hyps] == [n < 12 for n in lengths]


def test_exhaustive_beam_equals_brute_force_without_eos():
    model = TableModel(3, seed=5, history=True)  # logits depend on the whole history
    hyps = beam_search(model, model.init_state(1), torch.tensor([1]), 3, beam_size=9, n_best=9)[0]
    scored = [
        (sequence_log_prob(model, model.init_state(1), 1, list(seq)), list(seq))
        for seq in itertools.product(range(3), repeat=3)
    ]
    scored.sort(reverse=True)
    assert [h.tokens for h in hyps] == [seq for _, seq in scored[:9]]
    assert [h.log_prob for h in hyps] == pytest.approx([lp for lp, _ in scored[:9]], abs=1e-5)
    assert not any(h.finished for h in hyps)


def brute_force_with_eos(model, first, max_tokens, alpha):
    """Every complete output: up to max_tokens - 1 non-eos tokens then eos (finished), or
    max_tokens non-eos tokens (cut), as (score, tokens, finished), best first."""
    out = []
    for length in range(max_tokens + 1):
        finished = length < max_tokens
        for seq in itertools.product(range(1, model.vocab_size), repeat=length):
            tokens = [*seq, EOS] if finished else list(seq)
            log_prob = sequence_log_prob(model, model.init_state(1), first, tokens)
            out.append((log_prob / gnmt_lp(len(tokens), alpha), list(seq), finished))
    return sorted(out, reverse=True)


def test_exhaustive_beam_equals_brute_force_with_eos():
    model = TableModel(3, seed=11, history=True)
    hyps = beam_search(
        model,
        model.init_state(1),
        torch.tensor([2]),
        4,
        8,
        eos_id=EOS,
        n_best=8,
        length_penalty=0.0,
    )
    expected = brute_force_with_eos(model, 2, 4, alpha=0.0)[:8]
    assert [(h.tokens, h.finished) for h in hyps[0]] == [(s, f) for _, s, f in expected]
    assert [h.score for h in hyps[0]] == pytest.approx([sc for sc, _, _ in expected], abs=1e-5)
    assert any(h.finished for h in hyps[0]) and not all(h.finished for h in hyps[0])


def test_hypothesis_scores_are_consistent_and_sorted():
    model = TableModel(6, seed=3, history=True)
    first = torch.tensor([1, 4])
    results = beam_search(
        model, model.init_state(2), first, 9, 4, eos_id=EOS, n_best=4, length_penalty=0.6
    )
    assert not any(model.grad_enabled)  # ran under no_grad
    for i, hyps in enumerate(results):
        assert len(hyps) == 4
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
        for h in hyps:
            tokens = [*h.tokens, EOS] if h.finished else h.tokens
            assert EOS not in h.tokens
            expected = sequence_log_prob(model, model.init_state(1), first[i].item(), tokens)
            assert h.log_prob == pytest.approx(expected, abs=1e-4)
            assert h.score == pytest.approx(h.log_prob / gnmt_lp(len(tokens), 0.6), abs=1e-6)


def test_batched_beam_equals_each_input_alone():
    model = TableModel(6, seed=4, history=True)
    first = torch.tensor([1, 2, 3])
    options = dict(eos_id=EOS, length_penalty=0.6, n_best=3)
    batched = beam_search(model, model.init_state(3), first, 8, 3, **options)
    for i in range(3):
        alone = beam_search(model, model.init_state(1), first[i : i + 1], 8, 3, **options)[0]
        assert [(h.tokens, h.finished) for h in batched[i]] == [
            (h.tokens, h.finished) for h in alone
        ]
        assert [h.score for h in batched[i]] == pytest.approx([h.score for h in alone], abs=1e-6)


def test_a_none_state_is_passed_through_unreordered():
    model = TableModel(6, seed=4, history=True)
    first = torch.tensor([1, 2])
    fresh = beam_search(model, None, first, 6, 3, eos_id=EOS, n_best=2)
    assert fresh == beam_search(model, model.init_state(2), first, 6, 3, eos_id=EOS, n_best=2)


def test_should_stop_ends_the_search_as_a_limit_at_that_step_would():
    model = TableModel(5, seed=2, history=True)
    options = dict(eos_id=None, n_best=2)
    stopped = beam_search(model, model.init_state(2), torch.tensor([1, 2]), 50, 3,
                          should_stop=lambda: model.calls >= 4, **options)  # fmt: skip
    assert model.calls == 4  # asked after each step: the fourth says stop
    limited = beam_search(model, model.init_state(2), torch.tensor([1, 2]), 4, 3, **options)
    assert stopped == limited and all(len(h.tokens) == 4 for row in stopped for h in row)


def test_zero_max_tokens_gives_the_empty_hypothesis():
    model = TableModel(4)
    hyps = beam_search(model, model.init_state(2), torch.tensor([0, 1]), 0, 3, eos_id=EOS)
    assert hyps == [[Hypothesis([], 0.0, 0.0, finished=False)]] * 2
    assert model.calls == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"beam_size": 0}, "beam_size to be an int >= 1"),
        ({"n_best": 3}, r"n_best <= beam_size \(2\), got 3"),
        ({"max_tokens": -1}, "max_tokens to be an int >= 0"),
        ({"length_penalty": math.nan}, "finite length_penalty"),
        ({"first_tokens": torch.tensor([0.5])}, "integer first_tokens"),
        ({"eos_id": 7}, r"eos_id in \[0, 4\)"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    model = TableModel(4)
    call = {"first_tokens": torch.tensor([0]), "max_tokens": 5, "beam_size": 2, **kwargs}
    with pytest.raises((ValueError, TypeError), match=message):
        beam_search(model, model.init_state(1), **call)
