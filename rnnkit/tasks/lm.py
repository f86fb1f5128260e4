"""Language modelling recipe: text file(s) -> tokenizer -> LM -> trained model directory.

``train_lm`` reads the training text (or the bundled Shakespeare), trains a tokenizer at the
chosen level, cuts streams for truncated BPTT, trains a ``LanguageModel`` with the ``Trainer``
and writes ``OUT/model`` (config, weights, tokenizer) whenever validation improves.
``evaluate_lm`` reports perplexity per token and bits per character on any text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rnnkit.config import Config
from rnnkit.data import LMStream, build_tokenizer, load_bundled, read_text
from rnnkit.errors import ModelFileError
from rnnkit.metrics.lm import bits_per_character, perplexity
from rnnkit.models import LanguageModel
from rnnkit.models.io import load_model_dir, save_model_dir
from rnnkit.training import Trainer, TrainerConfig, TrainResult
from rnnkit.training import distributed as dist
from rnnkit.training.evaluation import evaluate_loss


@dataclass
class LMDataConfig(Config):
    """Where the text comes from and how it becomes windows.

    Fields:
        data: training text file (None: the bundled Shakespeare corpus).
        valid: validation text file (None: the last ``valid_fraction`` of the training text).
        level: ``"char"``, ``"word"``, ``"text"`` (words and punctuation, lower-cased: what the
            classifier uses, so an LM trained at this level can initialise one) or ``"bpe"``;
            bpe_vocab_size, min_freq, max_vocab for the tokenizer.
        bptt: window length; variable_length: AWD-LSTM's random window lengths.
        eval_batch_size: streams used for evaluation.
    """

    data: str | None = None
    valid: str | None = None
    valid_fraction: float = 0.05
    level: str = "char"
    bpe_vocab_size: int = 2000
    min_freq: int = 1
    max_vocab: int | None = None
    bptt: int = 100
    variable_length: bool = False
    eval_batch_size: int = 10


class EvalWindows:
    """Re-iterable fixed windows over a stream (the trainer evaluates more than once)."""

    def __init__(self, stream: LMStream) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.stream.windows_for_eval()


def _texts(cfg: LMDataConfig) -> tuple[str, str]:
    text = read_text(cfg.data) if cfg.data else load_bundled("shakespeare")
    if cfg.valid:
        return text, read_text(cfg.valid)
    if not 0.0 < cfg.valid_fraction < 0.5:
        raise ValueError(
            f"LMDataConfig: valid_fraction must be in (0, 0.5), got {cfg.valid_fraction}"
        )
    cut = int(len(text) * (1 - cfg.valid_fraction))
    cut = text.rfind("\n", 0, cut) + 1 or cut  # split on a line boundary
    return text[:cut], text[cut:]


def _tokenizer(cfg: LMDataConfig, text: str):
    options: dict[str, Any] = {}
    if cfg.level == "bpe":
        options["vocab_size"] = cfg.bpe_vocab_size
    else:
        options["min_freq"] = cfg.min_freq
        if cfg.level in ("word", "text"):
            options["max_size"] = cfg.max_vocab
    return build_tokenizer(cfg.level, text, **options)


def train_lm(
    data: LMDataConfig,
    model_options: dict[str, Any],
    trainer: TrainerConfig,
    out_dir: Path,
    resume: bool = False,
) -> TrainResult:
    """Train a language model; the result names why training stopped.

    With ``resume=True`` the tokenizer is read back from ``out_dir`` so ids stay the same.
    """
    out_dir = Path(out_dir)
    dist.init_from_env()  # before sharding: under torchrun each rank takes its own share
    train_text, valid_text = _texts(data)
    tok_dir = out_dir / "model"
    if resume and (tok_dir / "tokenizer.json").exists():
        from rnnkit.data import load_tokenizer

        tokenizer = load_tokenizer(tok_dir)
    else:
        tokenizer = _tokenizer(data, train_text)
    ids = dist.shard(torch.tensor(tokenizer.encode(train_text), dtype=torch.long))
    stream = LMStream(ids, trainer.batch_size, data.bptt, data.variable_length, seed=trainer.seed)
    valid_ids = torch.tensor(tokenizer.encode(valid_text), dtype=torch.long)
    valid = EvalWindows(LMStream(valid_ids, data.eval_batch_size, data.bptt))
    torch.manual_seed(trainer.seed)
    model = LanguageModel(tokenizer.vocab_size, **model_options)
    meta = {"task": "lm", "data": data.to_dict()}

    def export(directory: Path) -> None:
        save_model_dir(directory, model, tokenizer, meta)

    if not resume and dist.rank() == 0:
        export(out_dir)  # the tokenizer is on disk from the start, for --resume
    return Trainer(model, stream, trainer, valid_data=valid, out_dir=out_dir, export=export).fit(
        resume
    )


def evaluate_lm(
    directory: Path,
    path: str | Path,
    bptt: int = LMDataConfig.bptt,
    batch_size: int = LMDataConfig.eval_batch_size,
) -> dict[str, float]:
    """Perplexity per token and bits per character of a trained LM on a text file, by the
    trainer's evaluation (``rnnkit.training.evaluation.evaluate_loss``) over fixed windows.

    Returns:
        ``{"perplexity", "bpc", "tokens", "characters", "loss"}``; loss in nats per token.
    """
    model, tokenizer, _ = load_model_dir(directory)
    if tokenizer is None:
        raise ModelFileError(f"{directory}: not a language model directory (no tokenizer)")
    text = read_text(path)
    ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    if ids.numel() < 2:
        raise ValueError(f"{path}: too short to evaluate ({ids.numel()} tokens; needs 2)")
    stream = LMStream(ids, min(batch_size, max(1, (ids.numel() - 1) // 2)), bptt)
    total, count = evaluate_loss(model, EvalWindows(stream))
    mean = total / count
    # characters covered by the evaluated tokens, pro rata (the stream drops a short tail)
    chars = len(text) * count / max(1, ids.numel())
    return {
        "perplexity": perplexity(mean),
        "bpc": bits_per_character(total, chars),
        "tokens": count,
        "characters": round(chars),
        "loss": mean,
    }
