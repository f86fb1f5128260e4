"""The trainer: learning, budgets, determinism, exact resume, early stopping, schedules, logs."""

import csv
import json
import math

import pytest
import torch

from rnnkit.training import Callback, Trainer, TrainerConfig, latest_checkpoint
from tests.training.toy import ToyStream, pattern_ids, toy_model


def _cfg(**kw) -> TrainerConfig:
    base = dict(lr=1e-2, log_every=5, progress=False, seed=3, deterministic=True)
    return TrainerConfig(**{**base, **kw})


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _fit(tmp_path, cfg, model=None, valid=True, bptt=10, **kw):
    model = model or toy_model()
    valid_data = ToyStream(pattern_ids(400), 2, 10) if valid else None
    train = ToyStream(pattern_ids(), 4, bptt)
    trainer = Trainer(model, train, cfg, valid_data=valid_data, out_dir=tmp_path, **kw)
    return trainer, trainer.fit()


def test_learns_the_pattern_and_logs(tmp_path):
    trainer, result = _fit(tmp_path, _cfg(max_epochs=3, eval_every=20, lr=3e-2), bptt=25)
    assert result.stopped == "max_epochs" and result.epochs == 3
    assert result.last_valid["loss"] < 0.5 * math.log(8)  # well under the uniform baseline
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    assert {r["split"] for r in rows} == {"train", "valid"}
    assert all(float(r["tokens_per_sec"]) > 0 for r in rows if r["split"] == "train")
    assert trainer.train_data.epochs_seen == [0, 1, 2]


def test_same_seed_same_weights(tmp_path):
    a, _ = _fit(tmp_path / "a", _cfg(max_steps=15))
    b, _ = _fit(tmp_path / "b", _cfg(max_steps=15))
    assert all(
        torch.equal(x, y) for x, y in zip(_weights(a.model).values(), _weights(b.model).values())
    )


class _InterruptAt(Callback):
    def __init__(self, step: int) -> None:
        self.at = step

    def on_step_end(self, trainer, metrics) -> None:
        if trainer.step == self.at:
            trainer._interrupt.requested = True  # exactly what the SIGINT handler sets


@pytest.mark.parametrize("stop_at", [7, 30])  # mid-epoch, and in a later epoch
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, stop_at):
    cfg = _cfg(max_steps=60, eval_every=25, schedule="plateau")
    full, full_result = _fit(tmp_path / "full", cfg)
    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path / "cut", cfg, callbacks=[_InterruptAt(stop_at)])
    assert latest_checkpoint(tmp_path / "cut").name == f"step-{stop_at:08d}"
    resumed = Trainer(
        toy_model(seed=99),
        ToyStream(pattern_ids(), 4, 10),
        cfg,
        valid_data=ToyStream(pattern_ids(400), 2, 10),
        out_dir=tmp_path / "cut",
    )
    result = resumed.fit(resume=True)
    assert result.steps == full_result.steps == 60
    for key in ("step", "loss"):  # the best evaluation survives the checkpoint
        assert result.best_valid[key] == full_result.best_valid[key]
    for name, value in _weights(full.model).items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name


def test_resume_without_checkpoint_is_an_error(tmp_path):
    trainer = Trainer(
        toy_model(), ToyStream(pattern_ids(), 4, 10), _cfg(max_steps=2), out_dir=tmp_path
    )
    with pytest.raises(FileNotFoundError, match="no checkpoint to resume from"):
        trainer.fit(resume=True)


def test_max_time_includes_evaluation(tmp_path):
    trainer, result = _fit(tmp_path, _cfg(max_time=1.0, eval_every=10))
    assert result.stopped == "max_time"
    assert result.elapsed < 1.0 + 2 * trainer._eval_seconds + 0.5


def test_early_stopping(tmp_path):
    class Worse(Callback):  # makes every evaluation after the first look worse
        def on_evaluate(self, trainer, metrics):
            trainer.best = min(trainer.best, -1.0)

    _, result = _fit(
        tmp_path, _cfg(max_steps=500, eval_every=5, early_stopping=2), callbacks=[Worse()]
    )
    assert result.stopped == "early_stopping" and result.steps == 10  # evals at 5 and 10


def _monitored(tmp_path, cfg, values, seen=None):
    """A trainer whose task ``score`` reports the next of ``values`` as "acc" (noting the
    model's mode in ``seen``); returns it with the list of steps at which it exported."""
    it, exported = iter(values), []
    seen = [] if seen is None else seen

    def score(model):
        seen.append(model.training)
        return {"acc": next(it)}

    trainer = Trainer(
        toy_model(), ToyStream(pattern_ids(), 4, 10), cfg, out_dir=tmp_path,
        valid_data=ToyStream(pattern_ids(400), 2, 10), score=score,
        export=lambda directory: exported.append(trainer.step),
    )  # fmt: skip
    return trainer, exported


def _valid_rows(tmp_path):
    return [r for r in csv.DictReader((tmp_path / "log.csv").open()) if r["split"] == "valid"]


def test_monitor_picks_the_exported_model_and_stops_on_the_task_score(tmp_path):
    seen = []
    cfg = _cfg(max_steps=500, eval_every=5, early_stopping=2, monitor="acc")
    trainer, exported = _monitored(tmp_path, cfg, [1.0, 5.0, 3.0, 2.0], seen)
    result = trainer.fit()
    assert result.stopped == "early_stopping" and result.steps == 20
    assert exported == [5, 10]  # the evaluations that raised acc
    assert result.best_valid["acc"] == 5.0 and result.best_valid["step"] == 10
    assert result.best_valid_loss == result.best_valid["loss"]
    assert seen == [False] * 4 and trainer.model.training  # scored in eval mode, then restored
    assert [r["monitored"] for r in _valid_rows(tmp_path)] == ["1", "5", "3", "2"]


def test_monitor_mode_min(tmp_path):
    cfg = _cfg(max_steps=15, eval_every=5, monitor="acc", monitor_mode="min")
    trainer, exported = _monitored(tmp_path, cfg, [3.0, 1.0, 2.0])
    assert trainer.fit().best_valid["acc"] == 1.0 and exported == [5, 10]


def test_monitor_ties_go_to_the_lower_loss(tmp_path):
    trainer, exported = _monitored(tmp_path, _cfg(max_steps=20, eval_every=5, monitor="acc"),
                                   [2.0] * 4)  # fmt: skip
    trainer.fit()
    losses = [float(r["loss"]) for r in _valid_rows(tmp_path)]
    expected = [5 * (i + 1) for i, x in enumerate(losses) if i == 0 or x < min(losses[:i])]
    assert exported == expected and len(expected) >= 2


def test_monitor_must_be_a_reported_metric(tmp_path):
    train, valid = ToyStream(pattern_ids(), 4, 10), ToyStream(pattern_ids(400), 2, 10)
    cfg = _cfg(max_steps=5, monitor="acc")
    with pytest.raises(ValueError, match="monitor 'acc' needs a task that scores"):
        Trainer(toy_model(), train, cfg, valid_data=valid)
    trainer = Trainer(toy_model(), train, cfg, valid_data=valid, score=lambda m: {"f1": 1.0})
    with pytest.raises(ValueError, match=r"monitor 'acc' is not among .*\(f1, loss, ppl\)"):
        trainer.fit()
    with pytest.raises(ValueError, match="monitor_mode must be auto, min or max"):
        TrainerConfig(max_steps=1, monitor_mode="up").check()


def test_plateau_halves_lr_and_cosine_reaches_min_lr(tmp_path):
    trainer = Trainer(
        toy_model(),
        ToyStream(pattern_ids(), 4, 10),
        _cfg(max_steps=5, schedule="plateau", plateau_factor=0.5),
    )
    trainer.schedule.observe(1.0)
    trainer.schedule.observe(1.5)
    assert trainer.schedule.lr_at(0) == pytest.approx(5e-3)
    cos = Trainer(
        toy_model(),
        ToyStream(pattern_ids(), 4, 10),
        _cfg(max_steps=100, schedule="cosine", min_lr=1e-4, warmup_steps=10),
    )
    assert cos.schedule.lr_at(0) == pytest.approx(1e-2 * 0.1 * (1e-2 + (1 - 1e-2) * 0.5 * (1 + 1)))
    assert cos.schedule.lr_at(100) == pytest.approx(1e-4)
    assert cos.schedule.lr_at(50) == pytest.approx(1e-4 + (1e-2 - 1e-4) * 0.5)


def test_gradient_clipping_bounds_sgd_update(tmp_path):
    model = toy_model(dropout=0.0)
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    trainer = Trainer(
        model,
        ToyStream(pattern_ids(), 4, 10),
        _cfg(max_steps=1, optimizer="sgd", lr=1.0, clip_grad_norm=0.01),
    )
    trainer.fit()
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert (after - before).norm() <= 0.01 + 1e-6
    assert (after - before).norm() > 0.005


def test_checkpoints_are_json_and_safetensors_and_pruned(tmp_path):
    _fit(tmp_path, _cfg(max_steps=20, checkpoint_every=4, eval_every=100, keep_checkpoints=2))
    steps = sorted(p.name for p in (tmp_path / "checkpoints").glob("step-*"))
    assert steps == ["step-00000016", "step-00000020"]
    files = {p.name for p in (tmp_path / "checkpoints" / "step-00000020").iterdir()}
    assert files == {
        "model.safetensors",
        "trainer.safetensors",
        "trainer.json",
        "runtime.safetensors",
        "manifest.json",
    }
    state = json.loads((tmp_path / "checkpoints" / "step-00000020" / "trainer.json").read_text())
    assert state["step"] == 20 and state["config"]["max_steps"] == 20
    assert not list(tmp_path.glob("**/.*.tmp"))


def test_tensorboard_event_files(tmp_path):
    pytest.importorskip("tensorboard")
    _fit(tmp_path, _cfg(max_steps=10, eval_every=5, tensorboard=True))
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


def test_config_rejects_nonsense():
    with pytest.raises(ValueError, match="set at least one of max_steps"):
        TrainerConfig().check()
    with pytest.raises(ValueError, match="optimizer must be sgd, adam or adamw"):
        TrainerConfig(max_steps=1, optimizer="lion").check()
    with pytest.raises(ValueError, match="cosine schedule needs max_steps"):
        TrainerConfig(max_time=5, schedule="cosine").check()
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['max_step'\]"):
        TrainerConfig.from_dict({"max_step": 3})


def test_device_setting_is_checked_and_used(tmp_path):
    with pytest.raises(ValueError, match="device must be cpu, cuda or cuda:N, got 'gpu0'"):
        TrainerConfig(max_steps=1, device="gpu0").check()
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device 'cuda', but PyTorch sees no GPU"):
            TrainerConfig(max_steps=1, device="cuda").check()
    trainer, result = _fit(tmp_path, _cfg(max_steps=2, device="cpu"), valid=False)
    assert trainer.device == torch.device("cpu") and result.steps == 2
    assert {p.device.type for p in trainer.model.parameters()} == {"cpu"}
