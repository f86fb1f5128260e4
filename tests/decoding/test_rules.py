"""Beam search rules: min_length, no_repeat_ngram_size, exact symbol counts, per-input limits,
and the repetition penalty of sampling."""

import pytest
import torch

from rnnkit.decoding import (
    NoAdjacentRepeat,
    NoRepeatNgram,
    SymbolCounts,
    beam_search,
    generate_tokens,
    repetition_penalty_filter,
)
from tests.decoding.toys import ConstantModel, CountdownModel, TableModel

EOS = 0


def ngrams(tokens, n):
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def test_min_length_delays_eos():
    model = CountdownModel(vocab_size=5, eos_id=EOS)
    state = torch.tensor([[[2], [6]]]).float()  # eos favoured after 2 and 6 tokens
    plain = beam_search(model, state, torch.tensor([1, 1]), 20, 3, eos_id=EOS)
    assert [len(h[0].tokens) for h in plain] == [2, 6]
    eager = ConstantModel(torch.tensor([3.0, 1.0, 0.5]))  # eos is always the favourite
    first = torch.tensor([1, 2])
    assert [h[0].tokens for h in beam_search(eager, None, first, 9, 2, eos_id=EOS)] == [[], []]
    longer = beam_search(eager, None, first, 9, 2, eos_id=EOS, min_length=4, n_best=2)
    for hyps in longer:
        assert hyps[0].tokens == [1, 1, 1, 1] and hyps[0].finished
        assert all(len(h.tokens) >= 4 for h in hyps)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_no_repeat_ngram_size(n):
    model = TableModel(7, seed=2)  # a bigram table: greedy paths fall into loops
    first = torch.arange(1, 7)
    plain = beam_search(model, model.init_state(6), first, 12, 3, n_best=3)
    repeats = [h.tokens for hyps in plain for h in hyps if len(set(ngrams(h.tokens, n))) < 11]
    assert repeats  # without the rule the outputs repeat n-grams
    blocked = beam_search(model, model.init_state(6), first, 12, 3, n_best=3,
                          no_repeat_ngram_size=n)  # fmt: skip
    for hyps in blocked:
        for h in hyps:
            grams = ngrams(h.tokens, n)
            assert len(grams) == len(set(grams)), h.tokens
            if n == 1:
                assert len(h.tokens) == 6  # 6 distinct non-first tokens at most, then nothing
                break


def test_no_repeat_ngram_allowed_by_hand():
    rule = NoRepeatNgram(3)
    history = torch.tensor([[1, 2, 3, 1, 2], [4, 4, 4, 4, 4]])
    keep = rule.allowed(None, history, 6)
    assert keep[0].tolist() == [True, True, True, False, True, True]  # "1 2 3" again
    assert keep[1].tolist() == [True, True, True, True, False, True]


def test_no_adjacent_repeat_by_hand():
    # tokens: 0 " de", 1 " la", 2 "ll" (inside a word), 3 " ..." (no letter), 4 " page"
    starts = torch.tensor([True, True, False, True, True])
    letters = torch.tensor([True, True, True, False, True])
    rule = NoAdjacentRepeat(starts, letters, longest=3)
    history = torch.tensor([
        [4, 0, 1, 0],  # " page de la de": " la" would say "de la" twice
        [4, 2, 4, 4],  # " page" twice already is history; a third " page" is banned too
        [4, 1, 2, 3],  # after "ll ...": "..." again has no letter, "ll" again is inside a word
    ])  # fmt: skip
    keep = rule.allowed(None, history, 5)
    assert keep[0].tolist() == [False, False, True, True, True]  # " de" twice in a row too
    assert keep[1].tolist() == [True, True, True, True, False]
    assert keep[2].tolist() == [True, True, True, True, True]
    assert rule.allowed(None, history[:, :0], 5) is None


def test_no_adjacent_repeat_compares_keys():
    # tokens: 0 "La", 1 " la" (the same key), 2 " base"
    everything = torch.ones(3, dtype=torch.bool)
    rule = NoAdjacentRepeat(everything, everything, keys=torch.tensor([0, 0, 1]))
    keep = rule.allowed(None, torch.tensor([[0, 2, 1]]), 3)  # "La base la"
    assert keep[0].tolist() == [False, False, False]  # "la la", "La la"; " base" again: A A'
    assert rule.allowed(None, torch.tensor([[2, 0]]), 3)[0].tolist() == [False, False, True]


def test_no_adjacent_repeat_copied_words():
    # a vocabulary of 3 and two copied source words, ids 3 and 4 (a pointer-generator's)
    everything = torch.ones(3, dtype=torch.bool)
    rule = NoAdjacentRepeat(everything, everything, keys=torch.tensor([0, 0, 1]))
    keep = rule.allowed(None, torch.tensor([[2, 3], [3, 4], [4, 2]]), 5)
    assert keep[0].tolist() == [True, True, True, False, True]  # the copied word again
    assert keep[1].tolist() == [True, True, True, True, False]  # two copied words differ
    assert keep[2].tolist() == [True, True, False, True, True]


def test_no_adjacent_repeat_in_beam_search():
    model = ConstantModel(torch.tensor([0.0, 5.0, 1.0, 0.5]))  # always wants token 1
    starts, letters = torch.ones(4, dtype=torch.bool), torch.ones(4, dtype=torch.bool)
    (best,) = beam_search(model, None, torch.tensor([0]), 6, 2, eos_id=EOS,
                          rules=[NoAdjacentRepeat(starts, letters)])[0][:1]  # fmt: skip
    pairs = list(zip(best.tokens, best.tokens[1:]))
    assert all(a != b for a, b in pairs), best.tokens


def symbol_model():
    """V = 8 tokens: 3 is symbol 0; 4 is symbol 1; 5 then 6 is symbol 1 in two pieces
    (5 opens it: pending 1; 6 after 5 closes it)."""
    delta = torch.zeros(8, 2, 2, dtype=torch.long)
    moves = torch.zeros(8, 2, dtype=torch.long)
    delta[3, :, 0] = 1
    delta[4, :, 1] = 1
    moves[5, :] = 1
    delta[6, 1, 1] = 1
    return delta, moves


def symbol_tally(tokens):
    counts = [tokens.count(3), tokens.count(4)]
    counts[1] += sum(1 for a, b in zip(tokens, tokens[1:]) if (a, b) == (5, 6))
    return counts


def test_symbol_counts_are_exact_in_finished_hypotheses():
    delta, moves = symbol_model()
    required = torch.tensor([[1, 0], [0, 1], [1, 1], [0, 0]] * 3)
    checked = violated = 0
    for seed in range(2):
        model = TableModel(8, seed=seed, history=True)
        first = torch.tensor([1, 2, 1, 2, 3, 4, 6, 7, 1, 2, 3, 4])
        for rules in ([], [SymbolCounts(delta, moves, required, eos_id=EOS)]):
            results = beam_search(model, model.init_state(12), first, 12, 6, eos_id=EOS,
                                  n_best=4, rules=rules)  # fmt: skip
            for i, hyps in enumerate(results):
                for h in (h for h in hyps if h.finished):
                    ok = symbol_tally(h.tokens) == required[i].tolist()
                    if rules:
                        assert ok, (i, h.tokens)
                        checked += 1
                    else:
                        violated += not ok
    assert checked >= 20 and violated >= 10, (checked, violated)


class WithoutBanks:
    """The same rule without ``progress``: beam search then keeps its plain selection."""

    def __init__(self, rule):
        self.rule = rule

    def begin(self, inputs):
        return self.rule.begin(inputs)

    def allowed(self, state, history, vocab_size):
        return self.rule.allowed(state, history, vocab_size)

    def advance(self, state, rows, tokens):
        return self.rule.advance(state, rows, tokens)


def test_a_source_without_symbols_is_searched_as_without_banks():
    delta, moves = symbol_model()
    rule = SymbolCounts(delta, moves, torch.tensor([[0, 0], [0, 1]]), eos_id=EOS)
    state = rule.advance(rule.begin(torch.tensor([0, 1])), torch.tensor([0, 1]),
                         torch.tensor([5, 5]))  # both open a symbol  # fmt: skip
    assert rule.progress(state).tolist() == [0, 1]  # only the row that needs one progresses
    advancing = rule.advancing(state, 8)
    assert not advancing[0].any() and advancing[1, 6]
    required = torch.zeros(6, 2, dtype=torch.long)
    for seed in range(3):
        model = TableModel(8, seed=seed, history=True)
        first = torch.tensor([1, 2, 3, 4, 6, 7])
        zero = SymbolCounts(delta, moves, required, eos_id=EOS)
        banked, plain = (
            beam_search(model, model.init_state(6), first, 10, 4, eos_id=EOS, n_best=4, rules=[r])
            for r in (zero, WithoutBanks(zero))
        )
        assert [[h.tokens for h in hyps] for hyps in banked] == [
            [h.tokens for h in hyps] for hyps in plain
        ]


def test_results_do_not_depend_on_the_batch():
    model = TableModel(6, seed=8, history=True)
    first = torch.tensor([1, 2, 3, 4])
    limits = [3, 9, 5, 12]
    options = dict(eos_id=EOS, n_best=2, length_penalty=0.6, no_repeat_ngram_size=2)
    batched = beam_search(model, model.init_state(4), first, limits, 3, **options)
    for i in range(4):
        alone = beam_search(model, model.init_state(1), first[i : i + 1], limits[i], 3,
                            **options)[0]  # fmt: skip
        assert [(h.tokens, h.finished) for h in batched[i]] == [
            (h.tokens, h.finished) for h in alone
        ]
        assert all(len(h.tokens) <= limits[i] for h in alone)


def test_repetition_penalty_filter():
    logits = torch.tensor([[2.0, -1.0, 1.0, 0.5]])
    out = repetition_penalty_filter(logits, torch.tensor([[0, 1, 1]]), 2.0)
    assert out.tolist() == [[1.0, -2.0, 1.0, 0.5]]
    assert repetition_penalty_filter(logits, torch.tensor([[0]]), 1.0) is logits
    with pytest.raises(ValueError, match="penalty > 0"):
        repetition_penalty_filter(logits, torch.tensor([[0]]), 0.0)


def test_repetition_penalty_in_generation():
    model = ConstantModel(torch.tensor([0.0, 4.0, 3.0, 2.0, 1.0]))
    run = lambda **kw: [  # noqa: E731
        t.item() for t in generate_tokens(model, None, torch.tensor([0]), 4, **kw)
    ]
    assert run(strategy="greedy") == [1, 1, 1, 1]
    assert run(strategy="greedy", repetition_penalty=10.0) == [1, 2, 3, 4]
    uniform = ConstantModel(torch.full((5,), 10.0))  # a seen token drops to e^-10 of the rest
    for seed in range(5):
        g = torch.Generator().manual_seed(seed)
        steps = generate_tokens(uniform, None, torch.tensor([0]), 4, repetition_penalty=1e4,
                                generator=g)  # fmt: skip
        assert sorted(t.item() for t in steps) == [1, 2, 3, 4]
    with pytest.raises(ValueError, match=r"generate_tokens: .*penalty"):
        generate_tokens(model, None, torch.tensor([0]), 4, repetition_penalty=-1.0)
