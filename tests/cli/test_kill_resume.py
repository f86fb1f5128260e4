"""kill -9 at a random moment, then ``--resume``: every task ends bit-identical to a run that was
never interrupted (``kill_resume`` has the runs and the killing)."""

import random
import time

import pytest
from safetensors.torch import load_file

from tests.cli import kill_resume as kr

MODES = {"lm": ["writing", "after"], "classify": ["after"], "tag": ["writing"],
         "translate": ["after"], "summarize": ["writing"], "bilm": ["after"]}  # fmt: skip
CASES = [(task, mode) for task, modes in MODES.items() for mode in modes]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Each task's uninterrupted run (made once per task), as its final weights."""
    done = {}

    def weights(task):
        if task not in done:
            root = tmp_path_factory.mktemp(f"reference-{task}")
            kr.train_here(kr.argv(task, root / "data", root / "run"))
            done[task] = kr.final_weights(root / "run")
        return done[task]

    return weights


@pytest.mark.parametrize(
    ("task", "mode"),
    CASES,
    ids=[f"{t}-{m}" for t, m in CASES],
)
def test_sigkill_then_resume_is_bit_identical(task, mode, tmp_path, reference):
    seed = time.time_ns() % 100_000
    rng = random.Random(seed)
    expected = reference(task)
    killed = kr.argv(task, tmp_path / "data", tmp_path / "killed")
    what = kr.kill_run(killed, tmp_path / "killed", mode, rng)
    kr.train_here([*killed, "--resume"])
    try:
        kr.assert_identical(kr.final_weights(tmp_path / "killed"), expected)
    except AssertionError as error:
        raise AssertionError(f"{task}, {what} (seed {seed}): {error}") from None


class _Fixed(random.Random):
    """A Random whose ``randint`` always answers ``n``: picks the checkpoint to kill in."""

    def __init__(self, n: int) -> None:
        super().__init__(0)
        self.n = n

    def randint(self, a: int, b: int) -> int:
        return self.n


def test_kill_while_writing_the_checkpoint_at_an_epochs_end(tmp_path, reference):
    # summarize's tiny run has 4 batches an epoch; its 5th checkpoint is the one written at the
    # last batch of an epoch, whose data state says "nothing left in this epoch"
    killed = kr.argv("summarize", tmp_path / "data", tmp_path / "killed")
    what = kr.kill_run(killed, tmp_path / "killed", "writing", _Fixed(5))
    kr.train_here([*killed, "--resume"])
    try:
        kr.assert_identical(kr.final_weights(tmp_path / "killed"), reference("summarize"))
    except AssertionError as error:
        raise AssertionError(f"summarize, {what}: {error}") from None


def _auto_weights(out) -> list:
    """An auto summarizer run's kept model and each candidate's last checkpoint and model."""
    candidates = [out / "candidates" / kind for kind in ("extractive", "abstractive")]
    return [w for folder in candidates for w in kr.final_weights(folder)] + [
        load_file(str(out / "model" / "model.safetensors"))
    ]


def test_kill_in_the_second_summarizer_then_resume_is_bit_identical(tmp_path):
    """``--model.type=auto`` killed while the abstractive candidate writes its 5th checkpoint
    (the extractive one has written its 12): ``--resume`` does not train the finished
    extractive candidate again, continues the abstractive one and ends bit-identical."""

    def args(name: str) -> list[str]:
        full = kr.argv("summarize", tmp_path / name / "data", tmp_path / name / "run")
        return [a.replace("--model.type=extractive", "--model.type=auto") for a in full]

    kr.train_here(args("reference"))
    expected = _auto_weights(tmp_path / "reference" / "run")
    killed = args("killed")
    run = tmp_path / "killed" / "run"
    what = kr.kill_run(killed, run, "writing", _Fixed(kr.STEPS + 5))
    assert (run / "candidates" / "extractive" / "finished.json").is_file(), what
    assert not (run / "candidates" / "abstractive" / "finished.json").exists(), what
    finished = (run / "candidates" / "extractive" / "finished.json").stat().st_mtime_ns
    kr.train_here([*killed, "--resume"])
    assert (run / "candidates" / "extractive" / "finished.json").stat().st_mtime_ns == finished
    kr.assert_identical(_auto_weights(run), expected)
