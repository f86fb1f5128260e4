"""Tiny trained models of every task, for the predictor and server tests.

``tiny_runs(root)`` trains each task for a few steps on a few lines of made-up data (seconds in
all) and returns ``{task: run directory}``; within one test process the runs are made once.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
from pathlib import Path

from rnnkit.cli.main import main

LM_TEXT = "".join(f"line {i}: the cat sat on the mat, said {n}.\n"
                  for i, n in zip(range(60), ["ann", "bob", "cy"] * 20))  # fmt: skip
WORDS = {"pos": ["great", "fine", "superb"], "neg": ["awful", "dull", "bad"]}
FILLER = ["the", "film", "was", "a", "plot", "and"]
NAMES, PLACES = ["john", "mary", "paul"], ["paris", "rome", "oslo"]
LEXICON = {"open": "ouvrir", "file": "fichier", "new": "nouveau", "the": "le", "save": "garder"}
COMMON = ["--trainer.log_every=1000", "--seed=1", "--trainer.batch_size=8"]
_MADE: dict[Path, dict[str, Path]] = {}


def _classify_rows(rng: random.Random, n: int) -> str:
    rows = []
    for _ in range(n):
        label = rng.choice(["pos", "neg"])
        words = [*rng.sample(FILLER, 3), rng.choice(WORDS[label])]
        rng.shuffle(words)
        rows.append(f"{label}\t{' '.join(words)}\n")
    return "".join(rows)


def _conll(rng: random.Random, n: int) -> str:
    sentences = []
    for _ in range(n):
        rows = [(rng.choice(NAMES).title(), "B-PER"), ("lives", "O"), ("in", "O"),
                (rng.choice(PLACES).title(), "B-LOC"), (".", "O")]  # fmt: skip
        sentences.append("\n".join(f"{w}\t{t}" for w, t in rows))
    return "\n\n".join(sentences) + "\n"


def _pairs(rng: random.Random, n: int) -> str:
    rows = []
    for _ in range(n):
        words = [rng.choice(list(LEXICON)) for _ in range(rng.randint(1, 4))]
        rows.append(" ".join(words) + "\t" + " ".join(LEXICON[w] for w in words) + "\n")
    return "".join(rows)


def _documents(rng: random.Random, n: int) -> str:
    lines = []
    for _ in range(n):
        sentences = [f"The {rng.choice(FILLER)} {rng.choice(NAMES)} saw {rng.choice(PLACES)}."
                     for _ in range(rng.randint(3, 6))]  # fmt: skip
        lines.append(json.dumps({"text": " ".join(sentences), "summary": sentences[0]}))
    return "\n".join(lines) + "\n"


def _run(argv: list[str]) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    assert code == 0, f"training failed: {argv}"


def tiny_runs(root: Path) -> dict[str, Path]:
    """Train one tiny model per task under ``root`` (once per process); ``{task: run dir}``."""
    if root in _MADE:
        return _MADE[root]
    rng = random.Random(0)
    bilm_text = "".join(f"the {a} sat on the {b}\n" for a in NAMES for b in PLACES * 3)
    files = {
        "lm.txt": LM_TEXT, "classify.tsv": _classify_rows(rng, 60), "tag.conll": _conll(rng, 30),
        "translate.tsv": _pairs(rng, 60), "summarize.jsonl": _documents(rng, 30),
        "bilm.txt": bilm_text,
    }  # fmt: skip
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    small = ["--model.embedding_size=8", "--model.hidden_size=16"]
    steps = "--trainer.max_steps=1"
    words = ["--data.level=word", "--model.encoder_layers=1", "--model.decoder_layers=1"]
    extractive = ["--model.type=extractive", "--model.position_size=4"]
    specs = {
        "lm": ["lm", "--data", "lm.txt", *small, "--data.bptt=16", "--model.num_layers=2"],
        "classify": ["classify", "--data", "classify.tsv", *small],
        "tag": ["tag", "--data", "tag.conll", *small],
        "translate": ["translate", "--data", "translate.tsv", *small, *words],
        "summarize": ["summarize", "--data", "summarize.jsonl", *small, *extractive],
        "bilm": ["bilm", "--data", "bilm.txt", *small, "--data.max_length=8"],
    }
    runs = {}
    for task, spec in specs.items():
        argv = ["train", spec[0], spec[1], str(root / spec[2]), *spec[3:]]
        _run([*argv, "--out", str(root / task), steps, *COMMON])
        runs[task] = root / task
    _MADE[root] = runs
    return runs
