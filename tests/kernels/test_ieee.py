"""The native kernels keep IEEE arithmetic: no process-wide side effects, NaN passes through.

``ieee_probe.py`` runs in a fresh process (flush-to-zero, once set by a library's start-up code,
stays for the life of the process): it multiplies two float32 numbers whose product is
subnormal, in numpy and in torch, before ``import rnnkit`` and after loading and running every
kernel, and feeds each kernel entry point (float32 and float64) a batch whose first row holds
one NaN. Built with ``-ffast-math``, the kernels turned those products into 0.0 and their
clamped exponentials turned the NaN into finite numbers.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnkit.kernels import build

PROBE = Path(__file__).with_name("ieee_probe.py")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not build.enabled() or build._compiler() is None, reason="no C compiler for the kernels"
)


@pytest.fixture(scope="module")
def probe() -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(PROBE)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_subnormals_survive_loading_and_running_every_kernel(probe):
    assert all(0 < v < 1.2e-38 for v in probe["before"]), probe["before"]
    assert probe["after"] == probe["before"]


def test_every_exported_function_was_loaded_and_called(probe):
    assert sorted(probe["exported"]) == probe["loaded"]
    functions = [f for names in probe["exported"].values() for f in names]
    assert functions and sorted(probe["called"]) == sorted(functions)


def test_a_nan_in_a_kernel_input_comes_out_as_nan(probe):
    failed = {k: v for k, v in probe["nan"].items() if False in v}
    assert not failed, f"[output, input gradient] rows not as expected: {failed}"
    assert len(probe["nan"]) == 18


def test_flags_never_link_the_fast_math_start_file():
    forbidden = {"-ffast-math", "-Ofast", "-funsafe-math-optimizations", "-ffinite-math-only"}
    assert not forbidden & set(build.FLAGS + build.OPENMP + build.LIBS)
    assert torch.tensor([1e-38]).mul(1e-3).item() > 0  # this process too
