"""Variable-length batches: rnnkit's layers with ``lengths`` against torch.nn on packed sequences.

    python benchmarks/lengths.py                 # about 5 minutes on 2 cores

A PyTorch user with padded batches of different lengths packs them
(``pack_padded_sequence`` -> ``nn.LSTM`` -> ``pad_packed_sequence``); rnnkit takes
``layer(x, lengths=lengths)``. Both give the same outputs and final states (each sequence stops
at its own end). Also timed, for reference: ``nn.LSTM`` on the padded batch without lengths,
which runs the padding too and so gives wrong final states for the shorter sequences. Bidirectional
layers, input size = hidden size, fp32; training = forward + ``out.sum().backward()``, inference
= forward under no_grad; rnnkit and torch alternate, median of ``--repeats`` calls after a
warm-up call. Lengths are drawn once per configuration (seeded): ``bucketed`` between 0.8 L and
L, as a length-bucketing loader makes them; ``spread`` between 1 and L.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import timed, write_result

import rnnkit
from rnnkit.memory import keep_freed_memory

#: (name, hidden, batch, steps): a document classifier, a sentence tagger, a large layer
SHAPES = [("classifier", 64, 32, 400), ("tagger", 256, 32, 40), ("large", 512, 32, 128)]
LAYERS = {"lstm": (rnnkit.LSTM, nn.LSTM), "gru": (rnnkit.GRU, nn.GRU)}


def draw_lengths(kind: str, batch: int, steps: int) -> torch.Tensor:
    low = int(0.8 * steps) if kind == "bucketed" else 1
    lengths = torch.randint(low, steps + 1, (batch,), generator=torch.Generator().manual_seed(0))
    lengths[0] = steps  # the batch is padded to its longest sequence
    return lengths


def packed_call(layer: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, _ = layer(packed)
    return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]


def measure(layer_name: str, shape: tuple, kind: str, train: bool, repeats: int) -> dict:
    name, hidden, batch, steps = shape
    ours_cls, torch_cls = LAYERS[layer_name]
    torch.manual_seed(0)
    ours = ours_cls(hidden, hidden, bidirectional=True).train(train)
    base = torch_cls(hidden, hidden, batch_first=True, bidirectional=True).train(train)
    x = torch.randn(batch, steps, hidden)
    lengths = draw_lengths(kind, batch, steps)
    calls = {
        "rnnkit": lambda: ours(x, lengths=lengths)[0],
        "torch_packed": lambda: packed_call(base, x, lengths),
        "torch_padded": lambda: base(x)[0],
    }

    def run(key: str) -> None:
        if train:
            calls[key]().sum().backward()
        else:
            with torch.no_grad():
                calls[key]()

    times: dict[str, list[float]] = {key: [] for key in calls}
    for key in calls:
        run(key)  # warm-up
    for r in range(repeats):
        for key in calls if r % 2 == 0 else reversed(list(calls)):
            times[key].append(timed(lambda key=key: run(key)))
    tokens = int(lengths.sum())  # real tokens only
    row = {
        "layer": layer_name, "shape": name, "hidden": hidden, "batch": batch, "steps": steps,
        "lengths": kind, "distinct_lengths": len(set(lengths.tolist())),
        "mode": "train" if train else "infer", "backend": ours.backend.name,
        **{f"{k}_tok_s": round(tokens / statistics.median(v)) for k, v in times.items()},
    }  # fmt: skip
    row["ratio_vs_packed"] = round(row["rnnkit_tok_s"] / row["torch_packed_tok_s"], 2)
    row["ratio_vs_padded"] = round(row["rnnkit_tok_s"] / row["torch_padded_tok_s"], 2)
    print(row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default="lstm,gru")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--name", default="lengths", help="benchmarks/results/NAME.json")
    args = parser.parse_args()
    keep_freed_memory()  # as ``rnnkit train`` does; the baselines share the process
    rows = [
        measure(layer, shape, kind, train, args.repeats)
        for layer in args.layers.split(",")
        for shape in SHAPES
        for kind in ("bucketed", "spread")
        for train in (True, False)
    ]
    write_result(args.name, {"repeats": args.repeats, "threads": torch.get_num_threads(),
                             "rows": rows})  # fmt: skip


if __name__ == "__main__":
    main()
