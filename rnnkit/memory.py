"""Keep freed memory in the process, so the next training step does not page-fault it back.

glibc's ``malloc`` serves every block above its mmap threshold with a fresh ``mmap`` and
returns it to the kernel on ``free``; the threshold starts at 128 KiB and follows the sizes
freed, but never beyond 32 MiB. A recurrent training step allocates blocks of tens to hundreds
of megabytes (the saved gates of every time step) and frees them after the backward, so every
step touches them for the first time again: each 4 KiB page costs a page fault, tens of
thousands per training call at common sizes (``benchmarks/speed.py --keep-freed-memory``
measures the grid with this setting).

``keep_freed_memory()`` raises the mmap threshold and the trim threshold with ``mallopt`` so
large blocks come from the heap and stay mapped after ``free`` (what PyTorch's GPU caching
allocator does for device memory, and what jemalloc or tcmalloc do with their own policies).
The cost: the process keeps its peak memory instead of returning it. It affects the whole
process, so rnnkit's command-line tools call it (``RNNKIT_KEEP_FREED_MEMORY=0`` turns that off)
and a Python program opts in by calling it. Only on Linux with glibc; elsewhere it does nothing
and returns False.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 30
TRIM_THRESHOLD = (1 << 31) - 1


def keep_freed_memory() -> bool:
    """Make glibc keep freed large blocks mapped; True if the settings took effect."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


def keep_freed_memory_from_env() -> bool:
    """``keep_freed_memory()`` unless ``RNNKIT_KEEP_FREED_MEMORY`` is 0/false/no/off."""
    value = os.environ.get("RNNKIT_KEEP_FREED_MEMORY", "1").lower()
    return value not in {"0", "false", "no", "off"} and keep_freed_memory()
