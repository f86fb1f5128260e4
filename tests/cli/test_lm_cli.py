"""The LM command line end to end: train, evaluate, generate, overrides, resume, Ctrl-C."""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnkit.cli.main import main

TEXT = "".join(
    f"Line {i}: the quick brown fox jumps over the lazy dog, said {name}.\n"
    for i, name in zip(range(200), ["ann", "bob", "cy"] * 70)
)
TINY = [
    "--model.hidden_size=16",
    "--model.embedding_size=8",
    "--model.num_layers=1",
    "--data.bptt=20",
    "--trainer.batch_size=4",
    "--trainer.log_every=1000",
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "train.txt"
    path.write_text(TEXT)
    return path


def _train(corpus, out, *extra):
    return main(["train", "lm", "--data", str(corpus), "--out", str(out), *TINY, *extra])


def test_train_evaluate_generate(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(corpus, out, "--trainer.max_steps=12", "--trainer.eval_every=6", "--seed=3") == 0
    assert "stopped (max_steps) after 12 steps" in capsys.readouterr().out
    assert (out / "model" / "config.json").exists() and (out / "log.csv").exists()

    assert main(["evaluate", str(out), "--data", str(corpus), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert set(metrics) == {"perplexity", "bpc", "tokens"}
    # character level: one token per character, so bpc = log2(perplexity)
    assert metrics["bpc"] == pytest.approx(math.log2(metrics["perplexity"]), rel=1e-6)

    args = ["generate", str(out), "--prompt", "Line", "--max-tokens", "40", "--seed", "5"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first and first.startswith("Line")
    assert main([*args[:-1], "6"]) == 0
    assert capsys.readouterr().out != first
    assert main(["generate", str(out), "--greedy", "--max-tokens", "30", "--stop", " "]) == 0
    assert " " not in capsys.readouterr().out.rstrip("\n")
    assert main(["generate", str(out), "--beam", "3", "--max-tokens", "10"]) == 0


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_parallel_scan_cells_train_save_and_generate(cell, corpus, tmp_path, capsys):
    out = tmp_path / cell
    assert _train(corpus, out, f"--model.cell={cell}", "--trainer.max_steps=6", "--seed=3") == 0
    assert json.loads((out / "model" / "config.json").read_text())["model"]["cell"] == cell
    capsys.readouterr()
    assert (
        main(["generate", str(out), "--prompt", "Line", "--max-tokens", "20", "--seed", "5"]) == 0
    )
    assert capsys.readouterr().out.startswith("Line")


def test_unknown_override_lists_valid_keys(corpus, tmp_path, capsys):
    assert _train(corpus, tmp_path / "r", "--model.hidden_sise=3", "--trainer.max_steps=1") == 2
    err = capsys.readouterr().err
    assert "unknown key model.hidden_sise" in err and "'hidden_size'" in err
    assert _train(corpus, tmp_path / "r", "--optim.lr=3", "--trainer.max_steps=1") == 2
    assert "valid sections: ['data', 'model', 'trainer']" in capsys.readouterr().err


def test_yaml_config_then_overrides(corpus, tmp_path, capsys):
    cfg = tmp_path / "lm.yaml"
    cfg.write_text("model:\n  cell: gru\ntrainer:\n  max_steps: 3\n  lr: 0.01\n")
    out = tmp_path / "run"
    assert _train(corpus, out, "--config", str(cfg), "--trainer.max_steps=4") == 0
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["model"]["cell"] == "gru"
    state = json.loads((out / "checkpoints" / "step-00000004" / "trainer.json").read_text())
    assert state["config"]["lr"] == 0.01 and state["step"] == 4


def test_existing_run_needs_resume_or_overwrite(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(corpus, out, "--trainer.max_steps=3") == 0
    assert _train(corpus, out, "--trainer.max_steps=3") == 2
    assert "--resume to continue it or --overwrite" in capsys.readouterr().err
    assert _train(corpus, out, "--trainer.max_steps=6", "--resume") == 0
    assert "after 6 steps" in capsys.readouterr().out
    assert _train(corpus, out, "--trainer.max_steps=2", "--overwrite") == 0
    assert "after 2 steps" in capsys.readouterr().out


def test_bad_data_file_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine line\nbroken \xff byte\n")
    assert (
        main(
            [
                "train",
                "lm",
                "--data",
                str(bad),
                "--out",
                str(tmp_path / "r"),
                "--trainer.max_steps=1",
            ]
        )
        == 1
    )
    assert "bad.txt:2: invalid UTF-8 byte 0xff" in capsys.readouterr().err


def test_ctrl_c_writes_checkpoint_and_resume_finishes(corpus, tmp_path):
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "rnnkit.cli.main",
        "train",
        "lm",
        "--data",
        str(corpus),
        "--out",
        str(out),
        *TINY,
        "--trainer.max_steps=100000",
        "--trainer.log_every=1",
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 120
    while not (out / "log.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "checkpoint written; continue with --resume" in err
    state = json.loads(next((out / "checkpoints").glob("step-*/trainer.json")).read_text())
    assert state["step"] > 0
    stop_at = state["step"] + 3
    assert _train(corpus, out, f"--trainer.max_steps={stop_at}", "--resume") == 0
