"""The README's Python examples run as written, in order, in one namespace."""

import re
import warnings
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 5
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, block in enumerate(blocks):
            try:
                exec(compile(block, f"README.md python block {i}", "exec"), namespace)
            except Exception as exc:  # name the block that broke
                raise AssertionError(f"README python block {i} failed: {exc!r}\n{block}") from exc


def test_readme_error_examples_are_real():
    import pytest
    import torch

    import rnnkit

    x = torch.randn(4, 10, 31)
    with pytest.raises(
        ValueError, match=re.escape("LSTM: expected input of shape (N, L, 32), got (4, 10, 31)")
    ):
        rnnkit.LSTM(32, 64)(x)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "GRU: lengths must be in [1, 10] (the input has L=10 steps), got lengths[2] = 11"
        ),
    ):
        rnnkit.GRU(32, 64)(torch.randn(4, 10, 32), lengths=torch.tensor([10, 7, 11, 1]))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "LSTM: expected state of shape ((2, 4, 64), (2, 4, 64)), got ((1, 4, 64), (1, 4, 64))"
        ),
    ):
        rnnkit.LSTM(32, 64, num_layers=2)(
            torch.randn(4, 10, 32), (torch.zeros(1, 4, 64), torch.zeros(1, 4, 64))
        )
