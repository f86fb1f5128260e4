"""Bidirectional LM recipe: plain text -> biLM tables -> ``BiLanguageModel`` -> model directory.

``train_bilm`` reads a text file (one sentence or line per line; a line longer than
``max_length`` tokens is cut into chunks), builds the word (and character) tables, trains a
``BiLanguageModel`` on length-bucketed batches of independent sentences and writes ``OUT/model``
(config, weights, ``vocab.json``) whenever validation improves. ``embed_texts`` gives the
contextual vectors of lines of text; ``load_bilm`` is what task models use for features.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.config import Config
from rnnkit.data import TextTokenizer, read_text
from rnnkit.data.bilm_vocab import BiLMVocab
from rnnkit.layers.scalar_mix import ScalarMix
from rnnkit.metrics.lm import perplexity
from rnnkit.models.bilm import BiLanguageModel, BiLMConfig
from rnnkit.models.io import load_model_dir, read_model_file, save_model_dir
from rnnkit.tasks.batches import Batches, shard_examples
from rnnkit.tasks.recipe import fit, split_data
from rnnkit.training import TrainerConfig, TrainResult
from rnnkit.training import distributed as dist
from rnnkit.training.evaluation import evaluate_loss

TOKENIZATIONS = ("whitespace", "text")


@dataclass
class BiLMDataConfig(Config):
    """Where the text comes from and how it becomes sentences of ids.

    Fields:
        data / valid: UTF-8 text files, one sentence (or line) per line; without ``valid`` a
            seeded ``valid_fraction`` of the training sentences is held out.
        tokenizer: ``"whitespace"`` (split on spaces: PTB-style pre-tokenized text) or ``"text"``
            (words and punctuation apart, case kept: ``TextTokenizer``'s rule).
        max_length: tokens per sequence; longer lines are cut into chunks of this many.
        lowercase, number_token: how tokens are normalised before the lookup, in training and use
            (see ``rnnkit.data.bilm_vocab``); min_freq, max_vocab: the word table (the softmax);
            max_word_length: characters kept per word (character input).
        eval_batch_size: batch size for validation and embedding.
    """

    data: str | None = None
    valid: str | None = None
    valid_fraction: float = 0.05
    tokenizer: str = "whitespace"
    max_length: int = 50
    lowercase: bool = False
    number_token: str | None = None
    min_freq: int = 1
    max_vocab: int | None = 20000
    max_word_length: int = 20
    eval_batch_size: int = 64


def tokenize_line(line: str, tokenizer: str = "whitespace") -> list[str]:
    """The tokens of one line: ``"whitespace"`` split or ``"text"`` (case kept)."""
    if tokenizer not in TOKENIZATIONS:
        raise ValueError(f"biLM: tokenizer must be one of {TOKENIZATIONS}, got {tokenizer!r}")
    if tokenizer == "whitespace":
        return line.split()
    return TextTokenizer.split(line, lowercase=False)


def read_sentences(path: str | Path, cfg: BiLMDataConfig) -> list[list[str]]:
    """Non-empty lines of ``path`` as token lists, cut into chunks of ``max_length``."""
    if cfg.max_length < 1:
        raise ValueError(f"BiLMDataConfig: max_length must be >= 1, got {cfg.max_length}")
    out = []
    for line in read_text(path).splitlines():
        tokens = tokenize_line(line, cfg.tokenizer)
        out += [tokens[i : i + cfg.max_length] for i in range(0, len(tokens), cfg.max_length)]
    return out


def _batches(vocab: BiLMVocab, sentences: list[list[str]], size: int, shuffle: bool, seed=0):
    items = [vocab.encode(s) for s in sentences]
    return Batches(items, vocab.collate, [len(s) for s in sentences], size, shuffle, seed)


def train_bilm(
    data: BiLMDataConfig,
    model_options: dict[str, Any],
    trainer: TrainerConfig,
    out_dir: Path,
    resume: bool = False,
) -> TrainResult:
    """Train a bidirectional LM; ``OUT/model`` holds the best one by validation loss.

    With ``resume=True`` the tables are read back from ``out_dir`` so ids stay the same.
    """
    out_dir = Path(out_dir)
    dist.init_from_env()
    train, valid = split_data(data, lambda path: read_sentences(path, data), trainer.seed)
    char_input = model_options.get("input", BiLMConfig.input) == "char"
    if resume and (out_dir / "model" / "vocab.json").is_file():
        vocab = BiLMVocab.from_dict(read_model_file(out_dir, "vocab"))
    else:
        vocab = BiLMVocab.build(
            train, data.min_freq, data.max_vocab, char_input, data.lowercase,
            data.number_token, data.max_word_length,
        )  # fmt: skip
    torch.manual_seed(trainer.seed)
    options = dict(model_options)
    if char_input:
        options["num_chars"] = len(vocab.chars or ())
    model = BiLanguageModel(len(vocab.words), **options)
    train_batches = _batches(vocab, shard_examples(train), trainer.batch_size, True, trainer.seed)
    valid_batches = _batches(vocab, valid, data.eval_batch_size, False)
    meta = {"task": "bilm", "data": data.to_dict()}

    def export(directory: Path) -> None:
        save_model_dir(directory, model, None, meta, files={"vocab": vocab.to_dict()})

    return fit(model, train_batches, valid_batches, trainer, out_dir, export, resume)


def load_bilm(directory: str | Path) -> tuple[BiLanguageModel, BiLMVocab, BiLMDataConfig]:
    """A trained biLM (eval mode), its tables and its data config."""
    model, _, meta = load_model_dir(Path(directory))
    if meta.get("task") != "bilm":
        raise ValueError(f"{directory}: not a bidirectional LM (task {meta.get('task')!r})")
    vocab = BiLMVocab.from_dict(read_model_file(Path(directory), "vocab"))
    return model, vocab, BiLMDataConfig.from_dict(meta["data"])


@torch.no_grad()
def embed_sentences(
    model: BiLanguageModel,
    vocab: BiLMVocab,
    sentences: Sequence[Sequence[str]],
    layer: int | None = None,
    mix: bool = False,
    batch_size: int = 64,
) -> list[np.ndarray]:
    """One float32 (T_i, 2H) array per token list: ``layer`` k, the equal average of all
    layers (``mix=True``: an untrained ``ScalarMix``), or by default the top layer."""
    if layer is not None and mix:
        raise ValueError("embed: give a layer or mix, not both")
    model.eval()
    device = next(model.parameters()).device
    chosen = model.num_outputs - 1 if layer is None and not mix else layer
    mixer = ScalarMix(model.num_outputs).to(device) if mix else None
    out: list[np.ndarray] = []
    for start in range(0, len(sentences), batch_size):
        chunk = sentences[start : start + batch_size]
        batch = vocab.collate([vocab.encode(s) for s in chunk])
        batch = {k: v.to(device) for k, v in batch.items()}
        vectors = model.embed(
            batch["words"], batch["lengths"], batch.get("chars"), batch.get("char_lengths"),
            layer=chosen, mix=mixer,
        ).float().cpu().numpy()  # fmt: skip
        out += [vectors[i, : len(s)].copy() for i, s in enumerate(chunk)]
    return out


def text_tokens(directory: str | Path, lines: Sequence[str]) -> list[list[str]]:
    """The tokens ``embed_texts`` gives vectors for, with the biLM's own tokenizer."""
    _, _, meta = load_model_dir(Path(directory))
    tokenizer = meta.get("data", {}).get("tokenizer", "whitespace")
    return [tokenize_line(line, tokenizer) for line in lines]


def embed_texts(
    directory: str | Path, lines: Sequence[str], layer: int | None = None, mix: bool = False
) -> list[np.ndarray]:
    """Contextual vectors of each line of text: a float32 (T_i, 2H) array per line, T_i its
    tokens (``text_tokens``), each line one sentence. See ``embed_sentences`` for the layers.

    Example:
        >>> vectors = embed_texts("runs/bilm", ["the cat sat .", "a dog"], mix=True)
        >>> [v.shape for v in vectors]                   # [(4, 512), (2, 512)]
    """
    model, vocab, cfg = load_bilm(directory)
    sentences = [tokenize_line(line, cfg.tokenizer) for line in lines]
    return embed_sentences(model, vocab, sentences, layer, mix, cfg.eval_batch_size)


@torch.no_grad()
def evaluate_bilm(directory: str | Path, path: str | Path) -> dict[str, float]:
    """Perplexity of a trained biLM on a text file (both directions' tokens together).

    Returns:
        ``{"perplexity", "loss", "tokens"}``; loss in nats per predicted token.
    """
    model, vocab, cfg = load_bilm(directory)
    sentences = read_sentences(path, cfg)
    total, count = evaluate_loss(model, _batches(vocab, sentences, cfg.eval_batch_size, False))
    mean = total / count
    return {"perplexity": perplexity(mean), "loss": mean, "tokens": count}
