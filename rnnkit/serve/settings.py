"""The server's limits, shared by the app, the batchers and the command line."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ServeSettings:
    """Limits of ``rnnkit serve``.

    Args:
        max_batch: most items (texts, documents, generation streams) in one model call.
        max_queue: most requests waiting for a model; one more is refused (503, Retry-After).
        timeout: seconds a request may take, queueing included (504 past it; a stream that
            has started ends with finish_reason ``time_limit``).
        max_body: most bytes in a request body (413 past it).
        batch_wait: seconds a batch waits for more requests after the first arrives.
        retry_after: the ``Retry-After`` seconds sent with a 503.
    """

    max_batch: int = 64
    max_queue: int = 256
    timeout: float = 60.0
    max_body: int = 8 * 1024 * 1024
    batch_wait: float = 0.003
    retry_after: int = 1

    def __post_init__(self) -> None:
        for name in ("max_batch", "max_queue", "max_body", "retry_after"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {self.timeout}")
        if self.batch_wait < 0:
            raise ValueError(f"batch_wait must be >= 0 seconds, got {self.batch_wait}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_size(text: str) -> int:
    """Bytes from ``"8MB"``, ``"512KB"``, ``"1GB"`` or a plain number (powers of 1024)."""
    units = {"GB": 1 << 30, "MB": 1 << 20, "KB": 1 << 10, "B": 1}
    raw = text.strip().upper()
    number, factor = raw, 1
    for unit, size in units.items():
        if raw.endswith(unit) and raw[: -len(unit)].strip():
            number, factor = raw[: -len(unit)].strip(), size
            break
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"expected a size such as 8MB, 512KB or 1000000, got {text!r}") from None
    if value <= 0:
        raise ValueError(f"expected a size > 0, got {text!r}")
    return int(value * factor)
