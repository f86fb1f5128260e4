"""A tiny language model and a tiny attention-pooling classifier for the playground tests.

``playground_runs(root)`` trains both for a few steps on made-up text (seconds) and returns
``{"lm": run dir, "classify": run dir}``; within one test process they are made once.
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.tiny_runs import COMMON, LM_TEXT, _classify_rows, _run

_MADE: dict[Path, dict[str, Path]] = {}


def playground_runs(root: Path) -> dict[str, Path]:
    """Train the two models under ``root`` (once per process)."""
    if root in _MADE:
        return _MADE[root]
    root.mkdir(parents=True, exist_ok=True)
    text = LM_TEXT + "".join(f'he said "{w}" (twice)\n' for w in ["yes", "no", "maybe"] * 5)
    (root / "lm.txt").write_text(text, encoding="utf-8")
    (root / "classify.tsv").write_text(_classify_rows(random.Random(1), 60), encoding="utf-8")
    small = ["--model.embedding_size=8", "--model.hidden_size=16", "--trainer.max_steps=3"]
    _run(["train", "lm", "--data", str(root / "lm.txt"), "--out", str(root / "demo"), *small,
          "--data.bptt=16", *COMMON])  # fmt: skip
    _run(["train", "classify", "--data", str(root / "classify.tsv"), "--out",
          str(root / "sentiment"), *small, "--model.pooling=attention", *COMMON])  # fmt: skip
    _MADE[root] = {"lm": root / "demo", "classify": root / "sentiment"}
    return _MADE[root]
