"""Shared by the kill -9 tests: a tiny deterministic run of each ``rnnkit train`` task, killed
with SIGKILL in a subprocess and resumed with ``--resume``.

Every run takes ``STEPS`` steps with a checkpoint after each (two kept) on one thread (the
native kernels split rows over threads, so the thread count is part of what makes two runs
equal). ``kill_run`` forks the test process (a fresh interpreter would spend seconds importing
torch) and runs the command in the child, which is killed either at a random moment after a
random checkpoint has appeared (``"after"``) or inside the writing of a random checkpoint,
after its weights and trainer state are on disk and before its manifest (``"writing"``: the
child replaces ``checkpoint.write_manifest`` with one that kills the process on its n-th
call). In ``"after"`` mode the child pauses ``PAUSE`` seconds after each checkpoint, so a tiny
run on a fast machine cannot finish before the kill lands (the pause changes no computation).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from safetensors.torch import load_file

from rnnkit.cli.main import main
from rnnkit.training import checkpoint
from tests.cli.test_classify_tag_cli import _conll, _sentences
from tests.cli.test_lm_cli import TEXT
from tests.cli.test_translate_cli import _pairs
from tests.tasks.test_bilm import _lines
from tests.tasks.test_summarize import _write

STEPS = 12
COMMON = ["--trainer.max_steps=12", "--trainer.checkpoint_every=1", "--trainer.keep_checkpoints=2",
          "--trainer.progress=false", "--trainer.log_every=1000", "--seed=1",
          "--trainer.batch_size=8", "--trainer.lr=0.01"]  # fmt: skip
SMALL = ["--model.embedding_size=8", "--model.hidden_size=8"]
#: seconds the "after" child waits after each checkpoint: the kill comes at most 0.05 s after
#: a checkpoint at least four before the last, so the run is always still going
PAUSE = 0.1


def _text(root: Path, name: str, text: str) -> str:
    (root / name).write_text(text, encoding="utf-8")
    return str(root / name)


#: task -> (writes its data under a folder and returns the arguments that name it, model args)
TASKS: dict[str, Callable[[Path], list[str]]] = {
    "lm": lambda r: ["--data", _text(r, "t.txt", TEXT), *SMALL, "--model.num_layers=1",
                     "--data.bptt=16"],
    "classify": lambda r: ["--data", _text(r, "t.tsv", "".join(
        f"{a}\t{b}\n" for a, b in _sentences(60, 0))), *SMALL],
    "tag": lambda r: ["--data", _text(r, "t.conll", _conll(40, 0)), *SMALL,
                      "--model.char_hidden_size=4"],
    "translate": lambda r: ["--data", _text(r, "t.tsv", "\n".join(_pairs(80, 0)) + "\n"),
                            *SMALL, "--data.level=word", "--model.encoder_layers=1",
                            "--model.decoder_layers=1"],
    "summarize": lambda r: ["--data", str(_write(r / "t.jsonl", 30, 0)), "--summary-key",
                            "headline", *SMALL, "--model.type=extractive",
                            "--model.position_size=4"],
    "bilm": lambda r: ["--data", _text(r, "t.txt", "\n".join(_lines(60, 0)) + "\n"), *SMALL,
                       "--data.max_length=8"],
}  # fmt: skip


def _child(args: list[str], nth: int) -> None:
    """The forked run: one thread, and with ``nth`` a SIGKILL inside the nth checkpoint (else
    a pause of ``PAUSE`` seconds after each checkpoint)."""
    torch.set_num_threads(1)
    real, calls = checkpoint.write_manifest, []

    def dying(directory: Path) -> Path:
        calls.append(directory)
        if len(calls) == nth:  # the weights and trainer state are written, the manifest is not
            os.kill(os.getpid(), signal.SIGKILL)
        return real(directory)

    def pausing(directory: Path) -> Path:
        written = real(directory)
        time.sleep(PAUSE)
        return written

    checkpoint.write_manifest = dying if nth else pausing
    sys.stderr = open(os.devnull, "w")
    main(args)


def argv(task: str, data: Path, out: Path) -> list[str]:
    """The full ``rnnkit train TASK`` arguments of the tiny run, writing its data."""
    data.mkdir(parents=True, exist_ok=True)
    return ["train", task, *TASKS[task](data), *COMMON, "--out", str(out)]


@contextmanager
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train_here(args: list[str]) -> None:
    """Run ``rnnkit`` in this process, on one thread; it must succeed."""
    with one_thread():
        assert main(args) == 0


def _newest_step(out: Path) -> int:
    steps = [int(p.name[5:]) for p in (out / "checkpoints").glob("step-*")]
    return max(steps, default=0)


def kill_run(args: list[str], out: Path, mode: str, rng: random.Random) -> str:
    """Start the run in a subprocess and SIGKILL it (see the module docstring); returns what
    was done, for assertion messages."""
    nth = rng.randint(2, STEPS - 4) if mode == "writing" else 0
    proc = multiprocessing.get_context("fork").Process(target=_child, args=(args, nth))
    proc.start()
    what = f"killed while writing checkpoint {nth}"
    if mode == "after":
        target, delay = rng.randint(1, STEPS - 4), rng.uniform(0, 0.05)
        deadline = time.monotonic() + 120
        while _newest_step(out) < target and proc.is_alive() and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
        proc.kill()
        what = f"killed {delay:.3f} s after checkpoint {target} appeared"
    proc.join(timeout=120)
    assert proc.exitcode == -signal.SIGKILL, f"{what}: exit {proc.exitcode}"
    return what


def final_weights(out: Path) -> list[dict[str, torch.Tensor]]:
    """The last checkpoint's weights and the exported model's."""
    last = out / "checkpoints" / f"step-{STEPS:08d}" / "model.safetensors"
    return [load_file(str(last)), load_file(str(out / "model" / "model.safetensors"))]


def assert_identical(a: list[dict[str, torch.Tensor]], b: list[dict[str, torch.Tensor]]) -> None:
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for key in x:
            assert torch.equal(x[key], y[key]), f"{key} differs"
