"""Training: a model-agnostic trainer, callbacks, checkpoints and distributed helpers."""

from rnnkit.training.callbacks import Callback, CSVLogger, ProgressBar, TensorBoardLogger
from rnnkit.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from rnnkit.training.config import TrainerConfig
from rnnkit.training.trainer import Trainer, TrainResult

__all__ = [
    "CSVLogger",
    "Callback",
    "ProgressBar",
    "TensorBoardLogger",
    "TrainResult",
    "Trainer",
    "TrainerConfig",
    "latest_checkpoint",
    "load_checkpoint",
    "save_checkpoint",
]
