"""keep_freed_memory: freed activations stay mapped, so a repeated step stops page-faulting."""

import resource
import subprocess
import sys

import pytest

from rnnkit import memory as allocator

PROGRAM = """
import resource, sys, torch
from rnnkit.memory import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def step():
    x = torch.ones(16, 1024, 1024)  # 64 MiB (above glibc's 32 MiB cap), touched, freed
    return float(x.sum())
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(6):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_repeated_large_allocations_stop_faulting():
    def faults(mode: str) -> int:
        done = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True,
                              text=True, check=True)  # fmt: skip
        return int(done.stdout.split()[-1])

    default, kept = faults("default"), faults("keep")
    per_step = 64 * 2**20 // resource.getpagesize()
    assert default > 5 * per_step  # each freed block is unmapped and faulted in again
    assert kept < 2 * per_step  # the heap may grow once; then the pages are reused


def test_the_environment_switch_turns_it_off(monkeypatch):
    monkeypatch.setenv("RNNKIT_KEEP_FREED_MEMORY", "0")
    assert allocator.keep_freed_memory_from_env() is False
