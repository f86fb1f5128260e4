"""The README's Python examples run as written, in order, in one namespace."""

import re
from pathlib import Path

from tests.docs.blocks import python_blocks, run_blocks

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 5
    assert not any(skipped for _, _, skipped in blocks), "every README example must run"
    monkeypatch.chdir(tmp_path)
    assert run_blocks(README, "README.md") == len(blocks)


def test_documented_error_messages_are_real():
    import pytest
    import torch

    import rnnkit

    concepts = (ROOT / "docs" / "concepts.md").read_text()
    cases = [
        (
            "LSTM: expected input of shape (N, L, 32), got (4, 10, 31)",
            lambda: rnnkit.LSTM(32, 64)(torch.randn(4, 10, 31)),
        ),
        (
            "GRU: lengths must be in [1, 10] (the input has L=10 steps), got lengths[2] = 11",
            lambda: rnnkit.GRU(32, 64)(
                torch.randn(4, 10, 32), lengths=torch.tensor([10, 7, 11, 1])
            ),
        ),
        (
            "LSTM: expected state of shape ((2, 4, 64), (2, 4, 64)), got ((1, 4, 64), (1, 4, 64))",
            lambda: rnnkit.LSTM(32, 64, num_layers=2)(
                torch.randn(4, 10, 32), (torch.zeros(1, 4, 64), torch.zeros(1, 4, 64))
            ),
        ),
        (
            "LSTM: unknown option(s) ['reset_after']; cell options are ['activation', ",
            lambda: rnnkit.LSTM(32, 64, reset_after=True),
        ),
    ]
    for message, call in cases:
        assert message.split("; cell options")[0] in concepts, message
        with pytest.raises((ValueError, TypeError), match=re.escape(message)):
            call()
