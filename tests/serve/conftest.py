"""Tiny trained models of every task, loaded once for the server tests."""

from pathlib import Path

import pytest

import rnnkit
from tests.tiny_runs import tiny_runs


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.getbasetemp() / "tiny_runs"
    root.mkdir(exist_ok=True)
    return tiny_runs(root)


@pytest.fixture(scope="session")
def predictors(runs) -> dict:
    return {task: rnnkit.load(run) for task, run in runs.items()}


@pytest.fixture(scope="session")
def playground(tmp_path_factory) -> dict[str, Path]:
    """A tiny LM (``demo``) and a tiny attention-pooling classifier (``sentiment``)."""
    from tests.serve.tiny_playground import playground_runs

    return playground_runs(tmp_path_factory.getbasetemp() / "playground_runs")
