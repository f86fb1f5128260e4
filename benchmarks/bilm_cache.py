"""Epoch time of a tagger with frozen biLM features, with and without the per-sentence cache.

    python benchmarks/bilm_cache.py                      # 1,000 POS sentences, 3 epochs
    python benchmarks/bilm_cache.py --sentences 2000 --epochs 4

Three taggers (BiLSTM-CRF, the sizes of ``benchmarks/tag_bilm.py``) train on the first
``--sentences`` sentences of pos/train.conll, batch 32, the same shuffled batches for each:
without biLM features, with a frozen biLM (word input, hidden ``--bilm-hidden``, 2 layers,
its vectors scalar-mixed) and ``bilm_cache_mb=0`` (every epoch runs the biLM), and with the
default cache (the first epoch runs the biLM and keeps each sentence's layers; later epochs
read them). The biLM has random weights: the time per epoch does not depend on what it
learned. Each epoch is a full pass of forward, loss, backward and an SGD step; the rounds
alternate the three taggers epoch by epoch, so a change in the machine's load hits all three.
Writes ``benchmarks/results/bilm_cache.json``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import data_dir, write_result

from rnnkit.data.batching import pad_sequences
from rnnkit.data.bilm_vocab import BiLMVocab
from rnnkit.data.conll import read_conll
from rnnkit.models import BiLanguageModel, SequenceTagger

TAGGER = {"embedding_size": 100, "hidden_size": 128, "crf": True}


def batches(sentences, vocab, bilm_vocab, tag_ids, size, seed):
    order = list(range(len(sentences)))
    random.Random(seed).shuffle(order)
    out = []
    for start in range(0, len(order), size):
        part = [sentences[i] for i in order[start : start + size]]
        words, lengths = pad_sequences([[vocab.get(t, 1) for t in s.tokens] for s in part])
        tags = pad_sequences([[tag_ids[t] for t in s.tags] for s in part])[0]
        bilm = bilm_vocab.collate([bilm_vocab.encode(s.tokens) for s in part])
        out.append({"words": words, "lengths": lengths, "tags": tags, "bilm": bilm})
    return out


def epoch(model, data) -> float:
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)
    model.train()
    start = time.perf_counter()
    for batch in data:
        if model.bilm is None:
            batch = {k: v for k, v in batch.items() if k != "bilm"}
        loss, _ = model.forward_loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--bilm-hidden", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    torch.manual_seed(0)
    sentences = read_conll(data_dir() / "pos" / "train.conll")[: args.sentences]
    words = sorted({t for s in sentences for t in s.tokens})
    vocab = {w: i + 2 for i, w in enumerate(words)}
    tag_ids = {t: i for i, t in enumerate(sorted({t for s in sentences for t in s.tags}))}
    bilm_vocab = BiLMVocab.build([s.tokens for s in sentences])
    bilm = BiLanguageModel(len(bilm_vocab.words), embedding_size=128,
                           hidden_size=args.bilm_hidden, num_layers=2)  # fmt: skip
    data = batches(sentences, vocab, bilm_vocab, tag_ids, args.batch, seed=1)
    common = {"num_tags": len(tag_ids), **TAGGER}
    config = bilm.get_config()
    models = {
        "no_bilm": SequenceTagger(len(vocab) + 2, **common),
        "bilm_no_cache": SequenceTagger(
            len(vocab) + 2, bilm_config=config, bilm_cache_mb=0, **common
        ),
        "bilm_cache": SequenceTagger(len(vocab) + 2, bilm_config=config, **common),
    }
    for model in models.values():
        if model.bilm is not None:
            model.bilm.load_bilm(bilm)
    times: dict[str, list[float]] = {name: [] for name in models}
    for e in range(args.epochs):
        for name, model in models.items():
            times[name].append(round(epoch(model, data), 3))
        print(e + 1, {k: v[-1] for k, v in times.items()}, flush=True)
    cache = models["bilm_cache"].bilm.cache
    later = {k: statistics.median(v[1:]) if len(v) > 1 else v[0] for k, v in times.items()}
    write_result("bilm_cache", {
        "sentences": len(sentences), "tokens": sum(len(s.tokens) for s in sentences),
        "batch": args.batch, "epochs": args.epochs, "bilm_hidden": args.bilm_hidden,
        "threads": torch.get_num_threads(), "epoch_seconds": times,
        "later_epochs_median_s": later,
        "cache_over_no_bilm": round(later["bilm_cache"] / later["no_bilm"], 3),
        "no_cache_over_no_bilm": round(later["bilm_no_cache"] / later["no_bilm"], 3),
        "cache_entries": len(cache), "cache_mb": round(cache.bytes / 2**20, 1),
        "cache_hits": cache.hits, "cache_misses": cache.misses,
    })  # fmt: skip


if __name__ == "__main__":
    main()
