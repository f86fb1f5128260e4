"""Backends: fast implementations and the rule that picks one. Layers ask, backends answer."""

from rnnkit.backends.fused import run_fused
from rnnkit.backends.generic import run_generic
from rnnkit.backends.select import Backend, choose, combine, force

__all__ = ["Backend", "choose", "combine", "force", "run_fused", "run_generic"]
