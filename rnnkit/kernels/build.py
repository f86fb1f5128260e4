"""Compile a kernel's C source once per machine and load it with ctypes.

rnnkit's native kernels are plain C (no PyTorch headers), so building one takes well under a
second with ``cc -O3 -march=native``; the shared library is cached under
``$RNNKIT_CACHE_DIR`` (default ``~/.cache/rnnkit``) in ``kernels/``, named by a hash of the
source, the flags, the compiler and the CPU, and written atomically (temporary file, then
rename) so concurrent processes never load a half-written file. Later processes load it in
milliseconds. Where the cache cannot be written, the library is built into a temporary folder
for this process only.

When there is no compiler, the build fails, or ``RNNKIT_NATIVE=0`` is set, ``load`` returns
None after one warning and callers use their pure-PyTorch path, which computes the same numbers.

Kernels are built with ``-fopenmp`` so their loops over batch rows run on PyTorch's own OpenMP
threads (``parallel.h``); where the compiler has no OpenMP they are built without it and run
single-threaded (``Kernel.threads`` then answers 1).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import warnings
from pathlib import Path

import torch

#: IEEE arithmetic with the licences that let loops vectorise: no errno from libm, no trapping,
#: reassociation (sums vectorise; fastmath.h's exact steps are explicit fmaf calls) and
#: reciprocals. Never -ffast-math, -Ofast or -funsafe-math-optimizations: at link time gcc then
#: adds crtfastmath.o, which turns on flush-to-zero for the whole process when the library is
#: loaded (every subnormal float in numpy and torch becomes 0). Never -ffinite-math-only: NaN and
#: infinity must pass through the kernels (the trainer's non-finite check reads them).
FLAGS = [
    "-O3",
    "-march=native",
    "-fno-math-errno",
    "-fno-trapping-math",
    "-fno-signed-zeros",
    "-fassociative-math",
    "-freciprocal-math",
    "-fPIC",
    "-shared",
    "-pthread",
]
OPENMP = ["-fopenmp"]  #: tried first; dropped when the compiler cannot build with it
#: argument codes of ``load``'s signatures: int, long, pointer (an address, or None for NULL)
CODES = {"i": ctypes.c_int, "l": ctypes.c_long, "p": ctypes.c_void_p}
#: dtypes the kernels are compiled for, and the flag that selects them (0 float, 1 double)
DTYPES = {torch.float32: 0, torch.float64: 1}
LIBS = ["-lm"]
#: a step over fewer values (rows x width) than this runs on one thread
MIN_PARALLEL_VALUES = 8192
_loaded: dict[str, ctypes.CDLL | None] = {}
_lock = threading.Lock()
_MISSING = object()


class NativeKernelWarning(UserWarning):
    """A native kernel could not be built; the pure-PyTorch path is used instead."""


def enabled() -> bool:
    """False when ``RNNKIT_NATIVE=0`` (or ``false``/``no``/``off``) is set."""
    return os.environ.get("RNNKIT_NATIVE", "1").lower() not in {"0", "false", "no", "off"}


def cache_dir() -> Path:
    """Where built kernels live: ``$RNNKIT_CACHE_DIR/kernels`` or ``~/.cache/rnnkit/kernels``."""
    root = os.environ.get("RNNKIT_CACHE_DIR") or Path.home() / ".cache" / "rnnkit"
    return Path(root) / "kernels"


def _compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


def _cpu_id() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            lines = [ln for ln in f if ln.startswith(("model name", "flags"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.processor() or platform.machine()


def _headers() -> str:
    """The text of the kernels' shared headers (part of every kernel's cache key)."""
    return "".join(p.read_text(encoding="utf-8") for p in sorted(Path(__file__).parent.glob("*.h")))


def library_path(name: str, source: str, compiler: str) -> Path:
    """The cache file for ``name`` built from ``source`` with ``compiler`` on this CPU."""
    digest = hashlib.sha256(
        "\0".join(
            [source + _headers(), " ".join(FLAGS + OPENMP + LIBS), compiler, _cpu_id()]
        ).encode()
    ).hexdigest()[:16]
    return cache_dir() / f"{name}-{digest}.so"


def _build(source_file: Path, target: Path, compiler: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        for extra in (OPENMP, []):  # without OpenMP when the compiler cannot link it
            cmd = [compiler, *FLAGS, *extra, str(source_file), "-o", tmp, *LIBS]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            if done.returncode == 0:
                break
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr.strip()[-2000:]}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def cpu_float(x: torch.Tensor) -> bool:
    """Whether the kernels take tensors like ``x``: on the CPU, float32 or float64."""
    return x.device.type == "cpu" and x.dtype in DTYPES


def load(name: str, signatures: dict[str, tuple[str, type | None]]) -> ctypes.CDLL | None:
    """The compiled kernel ``rnnkit/kernels/<name>.c`` (built on first use), or None.

    ``signatures`` maps each exported function to its argument codes (``CODES``: ``"ilp"`` is
    int, long, pointer) and its ctypes return type (None for void), set once when loaded.
    """
    loaded = _loaded.get(name, _MISSING)  # asked per call of a step: no lock once loaded
    if loaded is not _MISSING:
        return loaded  # type: ignore[return-value]
    with _lock:
        if name in _loaded:
            return _loaded[name]
        library = None
        if enabled():
            try:
                library = _load(name)
                library.rnnkit_max_threads.restype = ctypes.c_int
                for function, (codes, restype) in signatures.items():
                    entry = getattr(library, function)
                    entry.argtypes = [CODES[c] for c in codes]
                    entry.restype = restype
            except Exception as error:  # any failure: fall back, once, loudly
                warnings.warn(
                    f"rnnkit: could not build the native kernel {name!r} ({error}); "
                    "using the pure-PyTorch path (same results, slower)",
                    NativeKernelWarning,
                    stacklevel=3,
                )
        _loaded[name] = library
        return library


class Kernel:
    """One native kernel's entry points for its Python module: ``library()`` (loaded on first
    use, None when it cannot be built) and ``supported(x)`` (CPU float32/64 and it builds)."""

    def __init__(self, name: str, signatures: dict[str, tuple[str, type | None]]) -> None:
        self.name, self.signatures = name, signatures

    def library(self) -> ctypes.CDLL | None:
        """The loaded kernel (built on first use), or None when it cannot be built."""
        return load(self.name, self.signatures)

    def supported(self, x: torch.Tensor) -> bool:
        """Whether the kernel can run on tensors like ``x`` (CPU, float32/64) and builds."""
        return cpu_float(x) and self.library() is not None

    def threads(self, rows: int, width: int) -> int:
        """How many threads a step over ``rows`` batch rows of ``width`` values should use:
        PyTorch's thread count (the OpenMP team the kernel joins), at most one per row, and
        one for steps under ``MIN_PARALLEL_VALUES`` values, where starting a team costs more
        than it saves."""
        library = self.library()
        if library is None or rows < 2 or rows * width < MIN_PARALLEL_VALUES:
            return 1
        return max(1, min(int(library.rnnkit_max_threads()), rows))


def _load(name: str) -> ctypes.CDLL:
    source_file = Path(__file__).with_name(f"{name}.c")
    compiler = _compiler()
    if compiler is None:
        raise RuntimeError("no C compiler found (set CC)")
    target = library_path(name, source_file.read_text(encoding="utf-8"), compiler)
    if not target.exists():
        try:
            _build(source_file, target, compiler)
        except OSError:  # the cache is not writable: build into a private temporary folder
            target = Path(tempfile.mkdtemp(prefix="rnnkit-kernels-")) / target.name
            _build(source_file, target, compiler)
    return ctypes.CDLL(str(target))
