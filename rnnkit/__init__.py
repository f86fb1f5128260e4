"""rnnkit: recurrent neural networks for NLP on PyTorch.

Cells (``rnnkit.cells``) define one step of a recurrence; layers run them over sequences with
lengths, state and direction; backends pick PyTorch's fused kernels where they apply and a
generic loop everywhere else.
"""

from rnnkit.backends import Backend
from rnnkit.backends.allocator import keep_freed_memory
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
    "keep_freed_memory",
]


def __getattr__(name: str) -> object:
    # rnnkit.from_keras loads its module (and h5py) on first use, keeping `import rnnkit` light
    if name == "from_keras":
        from rnnkit.interop.keras import from_keras

        return from_keras
    raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")
