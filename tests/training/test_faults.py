"""Faults during training: non-finite steps skipped and counted, divergence stopped with the
last good checkpoint named, damaged checkpoints skipped, a full disk leaving the last good
checkpoint intact."""

import csv
import resource
import signal
import warnings
from contextlib import contextmanager

import pytest
import torch
from safetensors.torch import load_file

from rnnkit.errors import OutputError, TrainingDiverged
from rnnkit.training import Trainer, TrainerConfig, latest_checkpoint
from rnnkit.training.checkpoint import CheckpointWarning
from rnnkit.training.manifest import verify
from tests.training.toy import ToyStream, pattern_ids, toy_model


def _cfg(**kw) -> TrainerConfig:
    base = dict(lr=1e-2, log_every=1000, progress=False, seed=3, checkpoint_every=2)
    return TrainerConfig(**{**base, **kw})


class NaNAt(torch.nn.Module):
    """The toy LM, whose loss is NaN at the given (1-based) steps of training."""

    def __init__(self, steps) -> None:
        super().__init__()
        self.lm, self.steps, self.calls = toy_model(dropout=0.0), set(steps), 0

    def forward_loss(self, batch):
        loss, n = self.lm.forward_loss(batch)
        self.calls += 1
        return (loss * float("nan") if self.calls in self.steps else loss), n


def _trainer(tmp_path, model, **kw):
    return Trainer(model, ToyStream(pattern_ids(), 4, 10), _cfg(**kw), out_dir=tmp_path)


def test_non_finite_steps_are_skipped_counted_and_logged(tmp_path, capsys):
    model = NaNAt({3, 4, 7})
    trainer = _trainer(tmp_path, model, max_steps=9, optimizer="adam")
    seen = []
    real = trainer.optimizer.step
    trainer.optimizer.step = lambda *a, **k: (seen.append(trainer.step + 1), real(*a, **k))[1]
    result = trainer.fit()
    assert result.steps == 9 and seen == [1, 2, 5, 6, 8, 9]  # never stepped on a NaN
    assert trainer._nonfinite.total == 3 and trainer._nonfinite.in_a_row == 0
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    assert [int(r["step"]) for r in rows] == [3, 4, 7] and rows[-1]["nonfinite"] == "3"
    assert "step 4: non-finite loss or gradient norm" in capsys.readouterr().err


def test_divergence_stops_naming_the_last_good_checkpoint(tmp_path):
    model = NaNAt(range(5, 100))
    before = None
    with pytest.raises(TrainingDiverged, match="5 steps in a row") as caught:
        _trainer(tmp_path, model, max_steps=50).fit()
    assert "the last good checkpoint is" in str(caught.value)
    assert str(tmp_path / "checkpoints" / "step-00000008") in str(caught.value)
    for path in (tmp_path / "checkpoints").glob("step-*"):
        weights = load_file(str(path / "model.safetensors"))
        assert all(bool(torch.isfinite(w).all()) for w in weights.values())
        before = path
    assert before is not None


def test_huge_learning_rate_without_clipping_diverges_and_saves_nothing_non_finite(tmp_path):
    model = toy_model(dropout=0.0)
    cfg = dict(max_steps=200, optimizer="sgd", lr=1e38, clip_grad_norm=None, checkpoint_every=1)
    with pytest.raises(TrainingDiverged, match="training diverged: 5 steps in a row"):
        _trainer(tmp_path, model, **cfg).fit()
    for path in (tmp_path / "checkpoints").glob("step-*"):
        weights = load_file(str(path / "model.safetensors"))
        assert all(bool(torch.isfinite(w).all()) for w in weights.values()), path


def test_a_damaged_checkpoint_is_skipped_for_the_previous_one(tmp_path):
    _trainer(tmp_path, toy_model(), max_steps=4).fit()
    newest = tmp_path / "checkpoints" / "step-00000004"
    data = bytearray((newest / "trainer.safetensors").read_bytes())
    data[-1] ^= 1
    (newest / "trainer.safetensors").write_bytes(bytes(data))
    with pytest.warns(CheckpointWarning, match="skipping damaged checkpoint .*step-00000004"):
        assert latest_checkpoint(tmp_path) == tmp_path / "checkpoints" / "step-00000002"
    resumed = _trainer(tmp_path, toy_model(), max_steps=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CheckpointWarning)
        assert resumed.fit(resume=True).steps == 6


@contextmanager
def file_size_limit(limit: int):
    """Writes past ``limit`` bytes fail with EFBIG (as on a full disk) inside the block."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def test_full_disk_keeps_the_previous_checkpoint_intact(tmp_path):
    trainer = _trainer(tmp_path, toy_model(), max_steps=4)
    trainer.fit()
    trainer.config.max_steps = 6
    with file_size_limit(4096), pytest.raises(OutputError) as caught:
        trainer.fit(resume=True)
    message = str(caught.value)
    assert "step-00000006: could not write the checkpoint (" in message
    assert "File too large" in message
    assert "checkpoints/step-00000004 is intact" in message
    good = latest_checkpoint(tmp_path)
    assert good == tmp_path / "checkpoints" / "step-00000004" and verify(good)
    assert not list((tmp_path / "checkpoints").glob(".step-*"))
    assert _trainer(tmp_path, toy_model(), max_steps=6).fit(resume=True).steps == 6


def test_a_checkpoint_of_another_configuration_is_named_as_such_not_as_damaged(tmp_path):
    from rnnkit.errors import ModelFileError
    from rnnkit.training.checkpoint import load_checkpoint, save_checkpoint

    saved = torch.nn.Sequential(torch.nn.Linear(3, 4))
    path = save_checkpoint(tmp_path, 2, saved, {"step": 2})
    wider = torch.nn.Sequential(torch.nn.Linear(3, 5))
    with pytest.raises(ModelFileError, match=r"does not fit the model configured now .*"
                       r"size mismatch for 0\.weight.*; and 1 more\)"):  # fmt: skip
        load_checkpoint(path, wider)
    extra = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    with pytest.raises(ModelFileError, match=r"does not fit the model configured now \(resume "
                       r"with the model options the run started with; missing: 1\.bias, "
                       r"1\.weight; unexpected: none\)"):  # fmt: skip
        load_checkpoint(path, extra)
    assert load_checkpoint(path, torch.nn.Sequential(torch.nn.Linear(3, 4))) == {"step": 2}
