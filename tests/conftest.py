"""Shared fixtures: every test starts from a fixed seed, on the CPU, in float32 by default."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
