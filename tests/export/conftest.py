"""Export tests need the ``export`` extra (onnx, onnxruntime); they are skipped without it."""

from pathlib import Path

import pytest

from tests.tiny_runs import tiny_runs

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Tiny trained runs of every task (shared with the other suites in the process)."""
    root = tmp_path_factory.getbasetemp() / "tiny_runs"
    root.mkdir(exist_ok=True)
    return tiny_runs(root)
