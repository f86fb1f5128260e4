"""benchmarks/defaults.py: a stopped run goes on with --resume without training again what it
finished, and a baseline is trained once."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import defaults  # noqa: E402  (benchmarks/ is a folder of scripts)


class FakeTrainer:
    """Stands in for ``rnnkit train``: writes a checkpoint and a log; ``fail_seed`` is stopped
    after its checkpoint, as a run killed part-way."""

    def __init__(self, fail_seed: int | None = None):
        self.fail_seed = fail_seed
        self.commands: list[list[str]] = []

    def __call__(self, command, check=True, **kwargs):
        self.commands.append(command)
        out = Path(command[command.index("--out") + 1])
        seed = int(command[command.index("--seed") + 1])
        log = out / "log.csv"
        if "--resume" not in command:
            (out / "checkpoints" / "step_1").mkdir(parents=True)
            (out / "checkpoints" / "step_1" / "trainer.json").write_text("{}")
            log.write_text("split,step,epoch,elapsed,loss\ntrain,1,0,40.0,2.0\n")
        else:  # the trainer's clock goes on from the checkpoint's
            log.write_text(log.read_text() + "valid,2,1,100.5,1.5\n")
        if seed == self.fail_seed:
            self.fail_seed = None
            raise subprocess.CalledProcessError(130, command)
        (out / "model").mkdir(exist_ok=True)
        return subprocess.CompletedProcess(command, 0)


@pytest.fixture
def bench(tmp_path, monkeypatch):
    """defaults.py with its results in ``tmp_path``, one fake task whose baseline counts calls."""
    calls: list[str] = []

    def baseline(train: Path, test: Path) -> list[bool]:
        calls.append(test.name)
        return [True, False, True, True]

    data = tmp_path / "data"
    data.mkdir()
    ds = defaults.Dataset("toy", "train.tsv", "dev.tsv", "test.tsv", "accuracy", "toy", baseline)
    monkeypatch.setattr(defaults, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(defaults, "TASKS", {"classify": [ds]})
    monkeypatch.setattr(defaults, "data_dir", lambda: data)
    monkeypatch.setattr(defaults, "evaluate", lambda out, path: {"accuracy": 0.75})
    monkeypatch.setattr(defaults, "default_items", lambda *a: [True, True, False, True])
    written: list[dict] = []
    monkeypatch.setattr(defaults, "write_result", lambda name, record: written.append(record))
    return tmp_path / "results", calls, written


def run(monkeypatch, trainer: FakeTrainer, *args: str) -> None:
    monkeypatch.setattr(defaults.subprocess, "run", trainer)
    monkeypatch.setattr(sys, "argv", ["defaults.py", "--task", "classify", *args])
    defaults.main()


def test_resume_scores_finished_seeds_and_continues_the_stopped_one(bench, monkeypatch):
    results, calls, written = bench
    stopped = FakeTrainer(fail_seed=2)
    with pytest.raises(subprocess.CalledProcessError):
        run(monkeypatch, stopped, "--seeds", "1,2")
    assert [r["seed"] for r in written[-1]["toy"]["rnnkit_default"]["runs"]] == [1]
    assert calls == ["test.tsv", "dev.tsv"]
    seed1 = results / "runs" / "defaults_classify_toy_1"
    assert json.loads((seed1 / defaults.FINISHED).read_text())["train_seconds"] >= 0

    again = FakeTrainer()
    run(monkeypatch, again, "--seeds", "1,2", "--resume")
    assert len(again.commands) == 1, "the finished seed was trained again"
    assert "--resume" in again.commands[0] and "defaults_classify_toy_2" in " ".join(
        again.commands[0]
    )
    assert calls == ["test.tsv", "dev.tsv"], "the baseline was trained again"
    record = written[-1]["toy"]
    assert record["complete"] is True
    runs = {r["seed"]: r for r in record["rnnkit_default"]["runs"]}
    assert runs[2]["train_seconds"] == 100.5 and runs[2]["train_seconds_from"] == "log.csv"
    assert (
        runs[1]["train_seconds"]
        == json.loads((seed1 / defaults.FINISHED).read_text())["train_seconds"]
    )
    assert record["baseline"]["accuracy"] == 0.75
    assert runs[1]["paired"] == {"only_default": 1, "p": 1.0, "only_baseline": 1}


def test_without_resume_a_checkpointed_folder_trains_from_the_start(bench, monkeypatch):
    results, calls, _ = bench
    with pytest.raises(subprocess.CalledProcessError):
        run(monkeypatch, FakeTrainer(fail_seed=1), "--seeds", "1")
    fresh = FakeTrainer()
    run(monkeypatch, fresh, "--seeds", "1")
    assert "--resume" not in fresh.commands[0]
    log = (results / "runs" / "defaults_classify_toy_1" / "log.csv").read_text()
    assert log.count("\n") == 2, "the stopped run was not started afresh"
    assert calls == ["test.tsv", "dev.tsv"] * 2, "without --resume the baseline trains again"


def test_a_baseline_from_other_files_is_not_reused(bench, monkeypatch, tmp_path):
    _, calls, _ = bench
    run(monkeypatch, FakeTrainer(), "--seeds", "1")
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setattr(defaults, "data_dir", lambda: other)
    run(monkeypatch, FakeTrainer(), "--seeds", "1", "--resume")
    assert calls == ["test.tsv", "dev.tsv"] * 2


def test_trainer_seconds_add_up_an_auto_summarizers_candidates(tmp_path):
    for name, elapsed in (("extractive", 30.25), ("abstractive", 70.5)):
        log = tmp_path / "candidates" / name / "log.csv"
        log.parent.mkdir(parents=True)
        log.write_text(f"split,step,epoch,elapsed\ntrain,1,0,1.0\nvalid,2,1,{elapsed}\n")
    assert defaults.trainer_seconds(tmp_path) == 100.8
    assert not defaults.holds_checkpoint(tmp_path)
    (tmp_path / "candidates" / "abstractive" / "checkpoints" / "step_2").mkdir(parents=True)
    (tmp_path / "candidates" / "abstractive" / "checkpoints" / "step_2" / "trainer.json").touch()
    assert defaults.holds_checkpoint(tmp_path)


def test_the_plain_lstm_loop_goes_on_from_its_last_whole_epoch(tmp_path, monkeypatch):
    import torch
    from lm_shakespeare import train_torch_baseline

    gen = torch.Generator().manual_seed(0)
    train, test = torch.randint(0, 6, (6000,), generator=gen), torch.randint(0, 6, (800,))
    whole = train_torch_baseline(train, test, 6, None, 1, epochs=2)
    checkpoint = tmp_path / "plain.pt"
    train_torch_baseline(train, test, 6, None, 1, epochs=1, checkpoint=checkpoint)
    assert torch.load(checkpoint, weights_only=True)["epoch"] == 1
    steps = []
    step = torch.optim.Adam.step
    monkeypatch.setattr(torch.optim.Adam, "step", lambda self: (steps.append(1), step(self)))
    resumed = train_torch_baseline(train, test, 6, None, 1, epochs=2, checkpoint=checkpoint)
    assert len(steps) == whole["steps"] // 2, "the first epoch was trained again"
    assert (resumed["epochs"], resumed["steps"]) == (2, whole["steps"])
    assert resumed["bpc"] == pytest.approx(whole["bpc"], rel=1e-6)


def test_without_resume_the_plain_loop_starts_afresh(bench):
    results, calls, _ = bench
    stopped = defaults.plain_checkpoint()
    stopped.parent.mkdir(parents=True)
    stopped.write_bytes(b"a stopped run")
    ds = defaults.TASKS["classify"][0]
    defaults.baseline("lm", ds, results, reuse=True)
    assert stopped.is_file()
    defaults.baseline("lm", ds, results, reuse=False)
    assert not stopped.exists() and calls == ["test.tsv", "dev.tsv"] * 2
