"""Backends: the paths that run a layer, and the one rule that picks one
(``rnnkit.backends.dispatch``). Layers ask, backends answer."""

from rnnkit.backends.fused import run_fused
from rnnkit.backends.generic import run_generic
from rnnkit.backends.select import Backend, combine, force

__all__ = ["Backend", "combine", "force", "run_fused", "run_generic"]
