"""Layers that run cells over sequences, and the wrappers that compose them."""

from rnnkit.layers.base import FusedPathWarning, SequenceLayer
from rnnkit.layers.bidirectional import Bidirectional
from rnnkit.layers.dropout import LockedDropout, WeightDrop, embedding_dropout
from rnnkit.layers.factory import make_layer
from rnnkit.layers.ngram_bag import NgramBag
from rnnkit.layers.ngram_logistic import NgramLogistic
from rnnkit.layers.recurrent import Recurrent
from rnnkit.layers.rnn import GRU, LSTM, RNN, RecurrentStack
from rnnkit.layers.scalar_mix import ScalarMix
from rnnkit.layers.stacked import Stacked

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Bidirectional",
    "FusedPathWarning",
    "LockedDropout",
    "NgramBag",
    "NgramLogistic",
    "Recurrent",
    "RecurrentStack",
    "ScalarMix",
    "SequenceLayer",
    "Stacked",
    "WeightDrop",
    "embedding_dropout",
    "make_layer",
]
