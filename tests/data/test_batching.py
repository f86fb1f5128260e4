"""BucketBatchSampler (bucketing, determinism, exact resume) and pad_sequences."""

from __future__ import annotations

import json

import pytest
import torch

from rnnkit.data import BucketBatchSampler, pad_sequences

LENGTHS = [(7 * i) % 23 + 1 for i in range(103)]


def _sampler(**kwargs) -> BucketBatchSampler:
    options = {"batch_size": 4, "seed": 5, "bucket_size_multiplier": 3, **kwargs}
    return BucketBatchSampler(LENGTHS, **options)


def test_no_shuffle_keeps_the_original_order() -> None:
    sampler = BucketBatchSampler([3, 1, 2, 5, 4], batch_size=2, shuffle=False)
    assert list(sampler) == [[0, 1], [2, 3], [4]]
    assert list(sampler) == [[0, 1], [2, 3], [4]]  # the next epoch is the same
    assert len(sampler) == 3


def test_shuffled_epoch_covers_every_index_once_in_sorted_buckets() -> None:
    sampler = _sampler()
    batches = list(sampler)
    assert len(batches) == len(sampler) == 26  # ceil(103 / 4)
    assert sorted(i for b in batches for i in b) == list(range(103))
    assert sum(len(b) < 4 for b in batches) == 1  # only the last bucket (7 indices) is short
    for batch in batches:
        lengths = [LENGTHS[i] for i in batch]
        assert lengths == sorted(lengths)


def test_bucketing_reduces_padding() -> None:
    def padded(batches) -> int:
        return sum(max(LENGTHS[i] for i in b) * len(b) for b in batches)

    plain = torch.randperm(103, generator=torch.Generator().manual_seed(0)).tolist()
    random_batches = [plain[i : i + 4] for i in range(0, 103, 4)]
    assert padded(_sampler()) < 0.8 * padded(random_batches)


def test_epochs_are_seeded_and_differ() -> None:
    first, again = _sampler(), _sampler()
    epoch0 = list(first)
    assert epoch0 == list(again)
    assert first.epoch == 1  # a finished epoch moves on by itself
    epoch1 = list(first)
    assert epoch1 != epoch0
    first.set_epoch(0)
    assert list(first) == epoch0
    assert list(_sampler(seed=6)) != epoch0


def test_resume_mid_epoch_gives_the_remaining_batches() -> None:
    reference = _sampler()
    reference.set_epoch(2)
    expected = list(reference)

    sampler = _sampler()
    sampler.set_epoch(2)
    seen = []
    for batch in sampler:
        seen.append(batch)
        if len(seen) == 10:
            state = json.loads(json.dumps(sampler.state_dict()))
            break
    assert state["epoch"] == 2 and state["position"] == 10

    resumed = _sampler()
    resumed.load_state_dict(state)
    resumed.set_epoch(2)  # the trainer's call at a resumed epoch keeps the position
    assert seen + list(resumed) == expected
    assert resumed.epoch == 3 and resumed.position == 0


def test_state_at_the_end_of_an_epoch_ends_it_then_starts_the_next() -> None:
    sampler = _sampler()
    state = {**sampler.state_dict(), "position": len(sampler)}
    resumed = _sampler()
    resumed.load_state_dict(state)
    assert list(resumed) == []  # the rest of epoch 0: nothing, as for the run that saved it
    assert resumed.epoch == 1 and resumed.position == 0
    reference = _sampler()
    reference.set_epoch(1)
    assert list(resumed) == list(reference)


def test_load_state_dict_rejects_another_sampler() -> None:
    state = _sampler().state_dict()
    with pytest.raises(ValueError, match=r"batch_size=4 \(this one has 8\)"):
        _sampler(batch_size=8).load_state_dict(state)
    with pytest.raises(ValueError, match="lacks"):
        _sampler().load_state_dict({"epoch": 0})
    with pytest.raises(ValueError, match=r"position 99 is outside 0\.\.26"):
        _sampler().load_state_dict({**state, "position": 99})


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        BucketBatchSampler([1, 2], batch_size=0)
    with pytest.raises(ValueError, match="bucket_size_multiplier must be an int >= 1"):
        BucketBatchSampler([1, 2], batch_size=1, bucket_size_multiplier=0)


def test_pad_sequences() -> None:
    ids, lengths = pad_sequences([[7, 8, 9], [5], torch.tensor([1, 2]), []], pad=-1)
    assert ids.dtype == torch.long and lengths.dtype == torch.long
    assert ids.tolist() == [[7, 8, 9], [5, -1, -1], [1, 2, -1], [-1, -1, -1]]
    assert lengths.tolist() == [3, 1, 2, 0]
    empty_ids, empty_lengths = pad_sequences([])
    assert empty_ids.shape == (0, 0) and empty_lengths.shape == (0,)
