"""``Routed``: the base of the layers whose calls the dispatch routes.

``RNN``/``LSTM``/``GRU`` stacks, ``Recurrent`` and one direction of a MinGRU / MinLSTM ask
``rnnkit.backends.dispatch.route`` how to run each call. What they share lives here:
``backend`` reads what the last call ran, and moving or retyping the parameters (``.to()``,
``.cuda()``, ``.double()``) drops the routes cached for the old ones.
"""

from __future__ import annotations

from typing import Any

from rnnkit.backends import Backend, dispatch
from rnnkit.layers.base import SequenceLayer


class Routed(SequenceLayer):
    """A ``SequenceLayer`` run by the dispatch's routes (see the module docstring)."""

    @property
    def backend(self) -> Backend:
        """The path the last call ran, with its name and reason; before any call in the current
        mode (and forced path), the path a sequence call would take now
        (``rnnkit.backends.dispatch``)."""
        return dispatch.last(self)

    def _apply(self, fn: Any, recurse: bool = True) -> Routed:
        dispatch.forget(self)  # new parameters: the cached routes closed over the old ones
        return super()._apply(fn, recurse)  # type: ignore[no-any-return]
