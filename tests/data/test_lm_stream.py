"""LMStream: batchify, shift-by-one targets, contiguity across windows, AWD-LSTM lengths, resume."""

from __future__ import annotations

import json

import pytest
import torch

from rnnkit.data import DataError, LMStream


def _ids(n: int = 1003) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(7))


def _lengths(stream: LMStream) -> list[int]:
    return [x.shape[1] for x, _ in stream]


def test_batchify_trims_tail_and_rows_are_contiguous_slices() -> None:
    ids = _ids(1003)
    stream = LMStream(ids, batch_size=4, bptt=10)
    assert stream.data.shape == (4, 250) and stream.data.dtype == torch.long
    for b in range(4):
        assert torch.equal(stream.data[b], ids[b * 250 : (b + 1) * 250])
    assert stream.num_tokens == 4 * 249
    assert len(stream) == 25  # ceil(249 / 10)


def test_shapes_and_shift_by_one() -> None:
    stream = LMStream(_ids(), batch_size=4, bptt=10)
    windows = list(stream)
    assert len(windows) == 25
    assert [x.shape for x, _ in windows] == [(4, 10)] * 24 + [(4, 9)]  # last one shorter
    end = 0
    for x, y in windows:
        assert x.shape == y.shape and x.dtype == y.dtype == torch.long
        assert torch.equal(y[:, :-1], x[:, 1:])
        end += x.shape[1]
        assert torch.equal(y[:, -1], stream.data[:, end])  # the token after x in each stream


def test_streams_continue_across_windows() -> None:
    ids = _ids()
    stream = LMStream(ids, batch_size=4, bptt=7)
    windows = list(stream)
    xs = torch.cat([x for x, _ in windows], dim=1)
    ys = torch.cat([y for _, y in windows], dim=1)
    for b in range(4):
        assert torch.equal(xs[b], ids[b * 250 : b * 250 + 249])
        assert torch.equal(ys[b], ids[b * 250 + 1 : (b + 1) * 250])
    assert xs.numel() == stream.num_tokens


def test_no_empty_window_when_length_divides() -> None:
    stream = LMStream(torch.arange(100), batch_size=4, bptt=6)  # 24 = 4 * 6 targets per row
    assert _lengths(stream) == [6, 6, 6, 6]


def test_variable_lengths_follow_the_rule_and_are_reproducible() -> None:
    a = _lengths(LMStream(_ids(20000), 2, 40, variable_length=True, seed=3))
    b = _lengths(LMStream(_ids(20000), 2, 40, variable_length=True, seed=3))
    c = _lengths(LMStream(_ids(20000), 2, 40, variable_length=True, seed=4))
    assert a == b
    assert a != c
    assert sum(a) == sum(c) == 9999
    assert all(5 <= n <= 60 for n in a[:-1]) and 1 <= a[-1] <= 60
    assert len(set(a)) > 5  # actually varies
    assert 34 < sum(a[:-1]) / len(a[:-1]) < 41  # mostly bptt, sometimes bptt / 2


def test_variable_lengths_change_with_epoch_and_short_bptt() -> None:
    stream = LMStream(_ids(4000), 2, 20, variable_length=True, seed=0)
    first = _lengths(stream)
    assert stream.epoch == 1  # moved on by itself
    second = _lengths(stream)
    assert first != second
    stream.set_epoch(0)
    assert _lengths(stream) == first
    tiny = _lengths(LMStream(_ids(4000), 2, 3, variable_length=True))
    assert min(tiny) >= 1 and max(tiny) <= 4 and len(set(tiny)) > 1


def test_windows_for_eval_are_fixed_and_leave_state_alone() -> None:
    stream = LMStream(_ids(), 4, 10, variable_length=True)
    it = iter(stream)
    next(it)
    before = stream.state_dict()
    evals = list(stream.windows_for_eval())
    assert [x.shape[1] for x, _ in evals] == [10] * 24 + [9]
    assert torch.equal(evals[3][0], stream.data[:, 30:40])
    assert [x.shape[1] for x, _ in stream.windows_for_eval(bptt=100)] == [100, 100, 49]
    assert stream.state_dict() == before


@pytest.mark.parametrize("variable_length", [False, True])
@pytest.mark.parametrize("stop", [0, 5, 24])
def test_resume_mid_epoch_gives_the_same_remaining_windows(variable_length, stop) -> None:
    def make() -> LMStream:
        return LMStream(_ids(2003), 4, 12, variable_length=variable_length, seed=11)

    reference = make()
    reference.set_epoch(1)
    full = list(reference) + list(reference)  # epochs 1 and 2
    interrupted = make()
    interrupted.set_epoch(1)
    it = iter(interrupted)
    head = [next(it) for _ in range(stop)]
    state = json.loads(json.dumps(interrupted.state_dict()))  # JSON-serialisable
    resumed = make()
    resumed.load_state_dict(state)
    resumed.set_epoch(state["epoch"])  # a trainer's per-epoch call must not restart the epoch
    tail = list(resumed) + list(resumed)
    assert len(head) + len(tail) == len(full)
    for (x, y), (fx, fy) in zip(head + tail, full):
        assert torch.equal(x, fx) and torch.equal(y, fy)


def test_resume_after_the_last_window_starts_next_epoch() -> None:
    stream = LMStream(_ids(), 4, 10, variable_length=True)
    it = iter(stream)
    for _ in range(len(stream)):
        next(it)  # the loop has not asked for more yet: still epoch 0
    state = stream.state_dict()
    assert (state["epoch"], state["window"]) == (0, len(stream))
    resumed = LMStream(_ids(), 4, 10, variable_length=True)
    resumed.load_state_dict(state)
    expected = LMStream(_ids(), 4, 10, variable_length=True)
    expected.set_epoch(1)
    got = list(resumed)
    assert resumed.epoch == 2 and len(got) == len(expected)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(got, expected))


def test_load_state_dict_rejects_another_stream() -> None:
    state = LMStream(_ids(), 4, 10).state_dict()
    with pytest.raises(ValueError, match=r"batch_size=4 \(this stream has 2\)"):
        LMStream(_ids(), 2, 10).load_state_dict(state)
    with pytest.raises(ValueError, match="lacks"):
        LMStream(_ids(), 4, 10).load_state_dict({"epoch": 0})


def test_too_short_data_names_sizes() -> None:
    with pytest.raises(DataError, match=r"7 tokens .* batch_size=4 and bptt=35.* at least 8"):
        LMStream(torch.arange(7), batch_size=4, bptt=35)
    assert _lengths(LMStream(torch.arange(8), batch_size=4, bptt=35)) == [1]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="expected a 1-D integer tensor"):
        LMStream(torch.zeros(2, 50, dtype=torch.long), 2, 5)
    with pytest.raises(ValueError, match="expected a 1-D integer tensor"):
        LMStream(torch.rand(100), 2, 5)
    with pytest.raises(ValueError, match="bptt must be an int >= 1, got 0"):
        LMStream(torch.arange(100), 2, 0)
