"""Ctrl-C during training: finish the current step, write a checkpoint, then stop.

The first SIGINT only sets a flag that the trainer reads between steps, so the checkpoint is
consistent (weights, optimizer and data position from the same step). A second SIGINT
interrupts at once, as usual.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any


class GracefulInterrupt:
    """Context manager: ``requested`` becomes True on the first Ctrl-C inside the block."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self._previous)  # a second Ctrl-C is a hard stop

    def __enter__(self) -> GracefulInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._previous)
