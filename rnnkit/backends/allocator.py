"""Moved to ``rnnkit.memory``; this name stays so existing imports keep working."""

from rnnkit.memory import keep_freed_memory, keep_freed_memory_from_env  # noqa: F401
