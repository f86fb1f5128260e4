"""Recurrent cells: one step of a recurrence, ``cell(x_t, state) -> (h_t, new_state)``."""

from rnnkit.cells.affine import AffineCell
from rnnkit.cells.base import DropoutMasks, RecurrentCell, State
from rnnkit.cells.elman import ElmanCell
from rnnkit.cells.gru import GRUCell
from rnnkit.cells.lstm import LSTMCell

__all__ = [
    "AffineCell",
    "DropoutMasks",
    "ElmanCell",
    "GRUCell",
    "LSTMCell",
    "RecurrentCell",
    "State",
]
