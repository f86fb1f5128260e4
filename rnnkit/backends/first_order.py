"""Moved to ``rnnkit.ops.first_order``; this name stays so existing imports keep working."""

from rnnkit.ops.first_order import GENERIC, LOG_SCAN, first_order  # noqa: F401
