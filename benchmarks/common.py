"""Shared by the benchmark scripts: where the data is, machine facts, timing, writing results."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def data_dir() -> Path:
    """``$RNNKIT_DATA`` or ``../shared/data`` beside the repository."""
    path = Path(os.environ.get("RNNKIT_DATA", ROOT.parent / "shared" / "data"))
    if not path.is_dir():
        sys.exit(f"benchmark data not found at {path}; set RNNKIT_DATA")
    return path


def timed(fn: Callable[[], object]) -> float:
    """Wall-clock seconds of one call of ``fn``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def trainer_seconds(out: Path) -> float:
    """The trainer's own time for a run folder: the last ``elapsed`` of its ``log.csv`` (the
    sum over an auto summarizer's candidates, which train one after the other)."""
    total = 0.0
    for log in sorted(out.rglob("log.csv")):
        header, *rows = log.read_text().strip().splitlines()
        column = header.split(",").index("elapsed")
        total += float(rows[-1].split(",")[column]) if rows else 0.0
    return round(total, 1)


def write_result(name: str, result: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/NAME.json`` with the command and machine attached."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": name,
        "command": "python " + " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        **result,
    }
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(path)
    print(json.dumps(record, indent=2))
    return path
