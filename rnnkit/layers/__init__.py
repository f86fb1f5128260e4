"""Layers that run cells over sequences, and the wrappers that compose them."""

from rnnkit.layers.base import FusedPathWarning, SequenceLayer
from rnnkit.layers.bidirectional import Bidirectional
from rnnkit.layers.recurrent import Recurrent
from rnnkit.layers.rnn import GRU, LSTM, RNN, RecurrentStack
from rnnkit.layers.stacked import Stacked

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Bidirectional",
    "FusedPathWarning",
    "Recurrent",
    "RecurrentStack",
    "SequenceLayer",
    "Stacked",
]
