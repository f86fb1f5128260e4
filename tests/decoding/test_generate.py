"""generate_tokens: greedy and sampled streaming generation, eos, seeds, no_grad, errors."""

import pytest
import torch

from rnnkit.decoding import StepModel, generate_tokens, select_next_tokens
from tests.decoding.toys import ConstantModel, CountdownModel, TableModel


def drain(steps) -> tuple[torch.Tensor, object]:
    """All yielded steps as (N, T), and the generator's return value (the final state)."""
    out = []
    while True:
        try:
            out.append(next(steps))
        except StopIteration as stop:
            return torch.stack(out, dim=1), stop.value


def test_toy_models_satisfy_the_protocol():
    for model in (TableModel(4), CountdownModel(), ConstantModel(torch.zeros(3))):
        assert isinstance(model, StepModel)
    assert not isinstance(object(), StepModel)


def test_greedy_is_the_argmax_chain_and_returns_the_final_state():
    model = TableModel(7, seed=1)
    first = torch.tensor([0, 3, 6])
    tokens, state = drain(generate_tokens(model, model.init_state(3), first, 9, strategy="greedy"))
    expected, prev = [], first
    for _ in range(9):  # straight from the bigram table, no model.step involved
        prev = model.table[prev].argmax(-1)
        expected.append(prev)
    assert torch.equal(tokens, torch.stack(expected, 1))
    assert torch.equal(state, torch.full((1, 3, 1), 9.0))  # 9 steps counted, one per token
    assert model.calls == 9


def sample(model, seed, n=4, steps=20, **options):
    gen = torch.Generator().manual_seed(seed)
    state = model.init_state(n)
    first = torch.arange(n)
    return drain(generate_tokens(model, state, first, steps, generator=gen, **options))[0]


def test_seeded_sampling_reproduces_and_seeds_differ():
    model = TableModel(11, seed=2, history=True)
    a, b, c = sample(model, 5), sample(model, 5), sample(model, 6)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    torch.manual_seed(123)  # the global generator plays no part
    assert torch.equal(sample(model, 5), a)


def test_sampling_with_top_k_1_is_greedy():
    model = TableModel(11, seed=3, history=True)
    greedy = sample(model, 0, strategy="greedy")
    assert torch.equal(sample(model, 1, top_k=1), greedy)
    assert torch.equal(sample(model, 2, top_k=1, temperature=3.0), greedy)
    assert torch.equal(sample(model, 3, top_p=1e-6), greedy)


def frequencies(logits: torch.Tensor, draws: int = 40_000, **options) -> torch.Tensor:
    model = ConstantModel(logits)
    gen = torch.Generator().manual_seed(0)
    first = torch.zeros(draws, dtype=torch.long)
    tokens = next(generate_tokens(model, None, first, 1, generator=gen, **options))
    return torch.bincount(tokens, minlength=logits.shape[0]).float() / draws


def test_sampling_frequencies_match_the_softmax():
    z = torch.tensor([1.0, 0.0, 2.0, -1.0, 0.5])
    # 40k draws: standard error <= 0.0025 per token; 0.01 is 4 of them
    torch.testing.assert_close(frequencies(z), z.softmax(-1), atol=0.01, rtol=0)
    torch.testing.assert_close(
        frequencies(z, temperature=2.0), (z / 2).softmax(-1), atol=0.01, rtol=0
    )


def test_sampling_frequencies_with_top_k_and_top_p_are_renormalised():
    z = torch.tensor([1.0, 0.0, 2.0, -1.0, 0.5])
    probs = z.softmax(-1)  # 0.2071, 0.0762, 0.5630, 0.0280, 0.1256
    top2 = torch.tensor([1.0, 0, 1, 0, 0]) * probs
    torch.testing.assert_close(frequencies(z, top_k=2), top2 / top2.sum(), atol=0.01, rtol=0)
    nucleus = torch.tensor([1.0, 0, 1, 0, 1]) * probs  # p=0.85: 0.5630 + 0.2071 + 0.1256
    freq = frequencies(z, top_p=0.85)
    assert freq[1] == 0 and freq[3] == 0
    torch.testing.assert_close(freq, nucleus / nucleus.sum(), atol=0.01, rtol=0)


@pytest.mark.parametrize("strategy", ["greedy", "sample"])
def test_eos_stops_generation_and_finished_sequences_keep_eos(strategy):
    model = CountdownModel(vocab_size=5, eos_id=0)
    state = torch.tensor([2.0, 4.0, 0.0]).view(1, 3, 1)  # non-eos tokens before eos, per row
    first = torch.tensor([1, 1, 1])
    gen = torch.Generator().manual_seed(0)
    steps = generate_tokens(model, state, first, 10, strategy=strategy, eos_id=0, generator=gen)
    tokens, _ = drain(steps)
    # row 0: 2 tokens then eos; the model would then favour token 1, but eos is forced
    expected = torch.tensor([[3, 2, 0, 0, 0], [1, 4, 3, 2, 0], [0, 0, 0, 0, 0]])
    assert torch.equal(tokens, expected)
    assert model.calls == 5  # stopped when the last row finished, not at max_tokens


def test_without_eos_it_runs_max_tokens_and_zero_means_nothing():
    model = CountdownModel(eos_id=0)
    state = torch.zeros(1, 2, 1)
    tokens, _ = drain(generate_tokens(model, state, torch.tensor([1, 2]), 6, strategy="greedy"))
    assert tokens.shape == (2, 6) and (tokens[:, 0] == 0).all()  # eos is just a token here
    assert list(generate_tokens(model, state, torch.tensor([1, 2]), 0)) == []


def test_runs_without_grad_but_leaves_the_callers_grad_mode_alone():
    model = TableModel(5)
    steps = generate_tokens(model, model.init_state(2), torch.tensor([0, 1]), 3)
    for _ in steps:
        assert torch.is_grad_enabled()
    assert model.grad_enabled == [False, False, False]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"strategy": "beam"}, "strategy in"),
        ({"temperature": 0.0}, "strategy='greedy'"),
        ({"temperature": -1.0}, "temperature > 0"),
        ({"top_k": 0}, "k to be an int >= 1"),
        ({"top_p": 0.0}, r"p in \(0, 1\]"),
        ({"max_tokens": -1}, "max_tokens to be an int >= 0"),
        ({"first_tokens": torch.zeros(2, 1, dtype=torch.long)}, r"first_tokens of shape \(N,\)"),
        ({"eos_id": -1}, "eos_id to be an int >= 0"),
    ],
)
def test_bad_options_fail_at_call_time(options, message):
    model = TableModel(5)
    kwargs = {"first_tokens": torch.tensor([0]), "max_tokens": 3, **options}
    with pytest.raises(ValueError, match=message):
        generate_tokens(model, model.init_state(1), **kwargs)  # no next() needed
    assert model.calls == 0


def test_greedy_accepts_temperature_zero():
    model = TableModel(5)
    steps = generate_tokens(
        model, model.init_state(1), torch.tensor([0]), 2, strategy="greedy", temperature=0
    )
    assert len(list(steps)) == 2


def test_bad_model_output_and_eos_outside_the_vocabulary_are_named():
    class ThreeD(ConstantModel):
        def step(self, tokens, state):
            return torch.zeros(tokens.shape[0], 4, 1), state

    model = ThreeD(torch.zeros(4))
    with pytest.raises(ValueError, match=r"model.step logits of shape \(1, V\), got \(1, 4, 1\)"):
        next(generate_tokens(model, None, torch.tensor([0]), 3))
    with pytest.raises(ValueError, match=r"eos_id in \[0, 4\).*got 9"):
        next(generate_tokens(ConstantModel(torch.zeros(4)), None, torch.tensor([0]), 3, eos_id=9))


def test_select_next_tokens_on_plain_logits():
    z = torch.tensor([[0.0, 3.0, 1.0], [5.0, 1.0, 1.0]])
    assert select_next_tokens(z, strategy="greedy").tolist() == [1, 0]
    with pytest.raises(ValueError, match="strategy in"):
        select_next_tokens(z, strategy="nucleus")
