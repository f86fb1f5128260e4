"""rnnkit: recurrent neural networks for NLP on PyTorch.

Cells (``rnnkit.cells``) define one step of a recurrence; layers run them over sequences with
lengths, state and direction; backends pick PyTorch's fused kernels where they apply and a
generic loop everywhere else.
"""

import os
from typing import Any

from rnnkit.backends import Backend
from rnnkit.cells import ElmanCell, GRUCell, LSTMCell, RecurrentCell
from rnnkit.layers import (
    GRU,
    LSTM,
    RNN,
    Bidirectional,
    FusedPathWarning,
    Recurrent,
    SequenceLayer,
    Stacked,
)
from rnnkit.layers.minimal import MinGRU, MinLSTM

__version__ = "0.1.0"


def load(path: str | os.PathLike[str]) -> Any:
    """A trained model's predictor by task (``rnnkit.tasks.predictors.load``): imported on
    use, so ``import rnnkit`` stays light.

    Example:
        >>> lm = rnnkit.load("runs/shakespeare")
        >>> lm.generate("ROMEO.", max_tokens=60, seed=1).text  # doctest: +SKIP
    """
    from rnnkit.tasks.predictors import load as load_predictor

    return load_predictor(path)


__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Backend",
    "Bidirectional",
    "ElmanCell",
    "FusedPathWarning",
    "GRUCell",
    "LSTMCell",
    "MinGRU",
    "MinLSTM",
    "Recurrent",
    "RecurrentCell",
    "SequenceLayer",
    "Stacked",
    "__version__",
    "from_keras",
    "load",
]


def __getattr__(name: str) -> object:
    # rnnkit.from_keras loads its module (and h5py) on first use, keeping `import rnnkit` light
    if name == "from_keras":
        from rnnkit.interop.keras import from_keras

        return from_keras
    # ``rnnkit.keep_freed_memory`` (a process-wide allocator setting) lives in ``rnnkit.memory``
    if name == "keep_freed_memory":
        import warnings

        from rnnkit.memory import keep_freed_memory

        warnings.warn("rnnkit.keep_freed_memory moved to rnnkit.memory.keep_freed_memory",
                      DeprecationWarning, stacklevel=2)  # fmt: skip
        return keep_freed_memory
    raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")
