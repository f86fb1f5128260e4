"""Unlabelled text -> a language model that starts the classifier (``--data.unlabelled``).

A word-level language model with the classifier's own cell and sizes (embedding E, hidden H,
one layer, untied) is trained for ``data.pretrain_time`` seconds (10 passes at most) on the
unlabelled text plus the training texts, minimising the next-token cross-entropy

    L = -(1/T) sum_t log p(w_{t+1} | w_1..w_t),   p = softmax(W h_t + b),
    h_t = LSTM(E[w_t], h_{t-1}).

Every classifier (every ensemble member) then starts from it: the tokenizer (so words seen only
in the unlabelled text have vectors), the embedding E, and the forward direction of the first
recurrent layer, whose parameters have the same names and shapes in a bidirectional encoder
(``weight_ih_l0`` ...). The backward direction, the pooling and the output start fresh; all of it
is fine-tuned on the labels. This is the core of ULMFiT (Howard and Ruder 2018) with the budget
of a short run: what the model knows about the words comes from more text than the labelled
texts alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rnnkit.data.errors import DataError
from rnnkit.data.labelled import TextExample
from rnnkit.data.readers import read_text
from rnnkit.models import ClassifierConfig
from rnnkit.tasks.lm import LMDataConfig, train_lm
from rnnkit.training import TrainerConfig

#: passes over the unlabelled text at most (a small corpus is learnt by then)
PRETRAIN_EPOCHS = 10


def unlabelled_texts(path: str | Path) -> list[str]:
    """The texts of an unlabelled file: plain text as it is; JSONL, each line's ``title`` and
    ``text``; TSV, each line's last column (labels, if any, are ignored)."""
    raw = read_text(path)
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".json"):
        texts = []
        for number, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}:{number}: not a JSON object ({err.msg})") from None
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise DataError(f'{path}:{number}: expected an object with a "text" string')
            title = row.get("title")
            texts.append(f"{title}\n{row['text']}" if isinstance(title, str) else row["text"])
        return texts
    if suffix == ".tsv":
        return [line.rsplit("\t", 1)[-1] for line in raw.splitlines() if line.strip()]
    return [raw]


def pretrain_language_model(
    unlabelled: str | Path,
    train: list[TextExample],
    text_of: Callable[[TextExample], str],
    model: dict[str, Any],
    data_options: dict[str, Any],
    trainer: TrainerConfig,
    seconds: float,
    out_dir: Path,
) -> Path:
    """Train the classifier's language model; its model directory.

    Args:
        unlabelled: the unlabelled text file (see ``unlabelled_texts``).
        train: the labelled training examples, whose texts are added; ``text_of`` reads one.
        model: the classifier's options (cell, embedding_size, hidden_size, cell_options).
        data_options: ``min_freq`` and ``max_vocab`` of the classifier's tokenizer.
        trainer: the classifier's trainer settings (seed, logging); the budget is ``seconds``.
        out_dir: where the language model's run goes (``out_dir/model`` is returned).
    """
    texts = unlabelled_texts(unlabelled) + [text_of(e) for e in train]
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus = out_dir / "corpus.txt"
    corpus.write_text("\n".join(t.replace("\r", " ") for t in texts) + "\n", encoding="utf-8")
    c = ClassifierConfig.from_dict(model)
    lm_model = {
        "cell": c.cell,
        "embedding_size": c.embedding_size,
        "hidden_size": c.hidden_size,
        "cell_options": c.cell_options,
        "num_layers": 1,
        "tie_weights": False,
        "dropout": 0.3,
        "input_dropout": 0.2,
    }
    data = LMDataConfig(data=str(corpus), level="text", bptt=50, **data_options)
    lm_trainer = TrainerConfig(
        max_time=seconds,
        max_epochs=PRETRAIN_EPOCHS,
        batch_size=32,
        lr=2e-3,
        clip_grad_norm=1.0,
        eval_every=500,
        progress=trainer.progress,
        log_every=trainer.log_every,
        seed=trainer.seed,
    )
    train_lm(data, lm_model, lm_trainer, out_dir)
    return out_dir / "model"
