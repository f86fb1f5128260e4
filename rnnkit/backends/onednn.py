"""Moved to ``rnnkit.ops.onednn``; this name stays so existing imports keep working."""

from rnnkit.ops.onednn import (  # noqa: F401
    Linear,
    PackedProduct,
    available,
    linear,
    linear_add,
    pack,
    project,
)
