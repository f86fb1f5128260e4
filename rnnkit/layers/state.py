"""Moved to ``rnnkit.ops.state``; this name stays so existing imports keep working."""

from rnnkit.ops.state import (  # noqa: F401
    LayerState,
    as_tuple,
    describe,
    from_tuple,
    join,
    map_state,
    select,
    split,
    stack_cells,
)
