"""GenerationBatch: streams that join, step and leave together give what each gives alone."""

import pytest
import torch

from rnnkit.data import CharTokenizer
from rnnkit.models import LanguageModel
from rnnkit.tasks.predictors.generation import GenerationBatch
from rnnkit.tasks.predictors.streams import GenerationOptions, Stream

TOKENIZER = CharTokenizer.train("abcdefgh ijklmnop\nqrstuvwxyz.,")
REQUESTS = [
    GenerationOptions("abc def", 12, seed=1),
    GenerationOptions("", 7, greedy=True),  # one token of prompt: the model's fresh state
    GenerationOptions("hello there", 15, temperature=0.7, top_k=5, seed=2),
    GenerationOptions("x", 9, top_p=0.8, seed=3, stop=["q"]),
    GenerationOptions("a much longer prompt, read in one call", 11, temperature=1.5, seed=4),
]


def _alone(model: LanguageModel, options: GenerationOptions) -> Stream:
    stream = Stream(options, TOKENIZER)
    batch = GenerationBatch(model)
    batch.add(stream)
    while batch.streams:
        batch.step()
    return stream


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "mingru"])
def test_batched_streams_equal_each_stream_alone(cell):
    torch.manual_seed(0)
    model = LanguageModel(TOKENIZER.vocab_size, cell=cell, embedding_size=8, hidden_size=12,
                          num_layers=2, tie_weights=False, init_range=1.0).eval()  # fmt: skip
    batch = GenerationBatch(model)
    streams = [Stream(o, TOKENIZER) for o in REQUESTS]
    batch.add(streams[0])
    batch.add(streams[1])
    widths, joined = [], 2
    while batch.streams or joined < len(streams):
        if joined < len(streams) and len(widths) % 2 == 1:  # the others join between steps
            batch.add(streams[joined])
            joined += 1
        widths.append(len(batch.step()))
    assert max(widths) >= 3 and {s.finish_reason for s in streams} <= {"length", "stop"}
    for options, together in zip(REQUESTS, streams):
        alone = _alone(model, options)
        assert together.tokens == alone.tokens and together.result().text == alone.result().text
        torch.testing.assert_close(together.logprobs, alone.logprobs, atol=1e-5, rtol=1e-5)


def test_cancelled_streams_leave_before_the_next_step_and_are_reported():
    model = LanguageModel(TOKENIZER.vocab_size, embedding_size=8, hidden_size=8).eval()
    batch = GenerationBatch(model)
    a, b = (
        Stream(GenerationOptions("ab", 50, seed=1), TOKENIZER),
        Stream(GenerationOptions("cd", 50, seed=2), TOKENIZER),
    )
    batch.add(a)
    batch.add(b)
    batch.step()  # reads each prompt's first token: no token yet
    assert not a.tokens and not b.tokens
    batch.step()
    a.finish("cancelled")
    events = batch.step()
    assert [s for s, _ in events] == [b] and len(a.tokens) == 1
    assert batch.take_gone() == [a] and batch.take_gone() == []
    assert batch.state[0][0].shape[1] == 1  # one row left in every state tensor


def test_steps_of_more_than_eight_rows_are_padded_to_a_multiple_of_sixteen():
    from rnnkit.tasks.predictors.generation import padded_rows

    assert [padded_rows(n) for n in (1, 8, 9, 16, 17, 33, 64)] == [1, 8, 16, 16, 32, 48, 64]
    model = LanguageModel(TOKENIZER.vocab_size, embedding_size=8, hidden_size=8).eval()
    options = [GenerationOptions("ab"[: 1 + i % 2], 6, seed=i) for i in range(10)]
    batch = GenerationBatch(model)
    streams = [Stream(o, TOKENIZER) for o in options]
    batch.add_many(streams)
    while batch.streams:
        batch.step()
    assert batch.state is None and batch.tokens.shape == (0,)
    for o, s in zip(options, streams):
        assert s.tokens == _alone(model, o).tokens


def test_short_prompts_are_fed_by_the_shared_step_and_long_ones_read_in_one_call():
    from rnnkit.tasks.predictors.generation import STEPPED_PROMPT

    model = LanguageModel(TOKENIZER.vocab_size, embedding_size=8, hidden_size=8).eval()
    calls = []
    forward = model.forward
    model.forward = lambda tokens, state=None: (calls.append(tuple(tokens.shape)),
                                                forward(tokens, state))[1]  # fmt: skip
    short = Stream(GenerationOptions("abcd", 3, seed=1), TOKENIZER)
    long = Stream(GenerationOptions("ab" * STEPPED_PROMPT, 10, seed=2), TOKENIZER)
    batch = GenerationBatch(model)
    batch.add_many([short, long])
    assert calls == [(1, 2 * STEPPED_PROMPT - 1)]  # only the long prompt, all but its last token
    widths = [len(batch.step()) for _ in range(4)]
    # the short prompt's four tokens take four steps, the last of them giving its first token
    assert widths == [1, 1, 1, 2] and len(short.tokens) == 1 and len(long.tokens) == 4
    assert all(shape == (2, 1) for shape in calls[1:])  # the steps: one token per row


def test_warm_up_steps_every_row_count_from_a_fresh_state_and_from_a_state():
    from rnnkit.tasks.predictors.generation import padded_rows

    model = LanguageModel(TOKENIZER.vocab_size, embedding_size=8, hidden_size=8).eval()
    seen = []
    step = model.step
    model.step = lambda tokens, state: (seen.append((len(tokens), state is None)),
                                        step(tokens, state))[1]  # fmt: skip
    GenerationBatch(model).warm_up(40)
    counts = sorted({padded_rows(n) for n in range(1, 41)})
    assert counts == [1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 48]
    assert seen == [(rows, fresh) for rows in counts for fresh in (True, False)]


@pytest.mark.parametrize(
    ("temperature", "fits"),
    [(0, True), (0.001, True), (1.5, True), (1e-5, False), (-1, False), (float("nan"), False),
     (float("inf"), False)],
)  # fmt: skip
def test_temperature_is_zero_or_at_least_the_floor(temperature, fits):
    options = GenerationOptions("x", 3, temperature=temperature)
    if fits:
        options.check()
    else:
        with pytest.raises(ValueError, match=r"^temperature: expected "):
            options.check()
    with pytest.raises(ValueError, match=r"^top_p: expected a finite number, got nan"):
        GenerationOptions("x", 3, top_p=float("nan")).check()
