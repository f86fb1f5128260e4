"""Character-level Shakespeare: rnnkit's rnn vs lstm vs gru, and a plain torch.nn.LSTM baseline.

    python benchmarks/lm_shakespeare.py --minutes 5

The 5 MB text is split into train (first 90%), valid (next 5%) and a held-out test tail (last
5%), on line boundaries. Every model has the same sizes (embedding 128, 2 layers of 512) and
the same wall-clock training budget; each run gets the machine to itself, one after another.
rnnkit's runs use the CLI defaults (``rnnkit train lm``) with only the cell changed; the
baseline is Embedding -> torch.nn.LSTM -> Linear trained by a plain PyTorch loop (same
optimizer, batch, window and clipping, no dropout). All are scored in bits per character on the
test tail with the same windows.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, data_dir, write_result

from rnnkit.data import CharTokenizer, LMStream, read_text
from rnnkit.metrics.lm import bits_per_character
from rnnkit.tasks.defaults import resolve
from rnnkit.tasks.lm import evaluate_lm, train_lm

EVAL = {"bptt": 100, "batch_size": 10}


def split(text: str) -> tuple[str, str, str]:
    def cut(frac: float) -> int:
        return text.rfind("\n", 0, int(len(text) * frac)) + 1

    a, b = cut(0.90), cut(0.95)
    return text[:a], text[a:b], text[b:]


class TorchCharLSTM(nn.Module):
    """The baseline: what a PyTorch user writes by hand."""

    def __init__(self, vocab: int, emb: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, layers, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, x, state=None):
        h, state = self.lstm(self.embed(x), state)
        return self.out(h), state


def train_torch_baseline(
    train_ids: torch.Tensor, test_ids: torch.Tensor, vocab: int, seconds: float | None, seed: int,
    epochs: int | None = None, valid_ids: torch.Tensor | None = None,
    checkpoint: Path | None = None,
) -> dict:  # fmt: skip
    """Train ``TorchCharLSTM`` with the LM task's defaults (optimizer, batch, window, clipping)
    for ``seconds`` of wall time and/or ``epochs`` passes, whichever ends first; its bits per
    character on ``test_ids`` (and ``valid_ids``, as ``valid_bpc``). ``checkpoint``: a file
    written after each whole epoch (weights, optimiser, where the data stream stands, steps,
    epochs and training time so far); if it exists, training goes on from it."""
    defaults = resolve("lm")
    model_cfg, trainer_cfg = defaults.model_config(), defaults.trainer
    torch.manual_seed(seed)
    model = TorchCharLSTM(
        vocab, model_cfg.embedding_size, model_cfg.hidden_size, model_cfg.num_layers
    )
    opt = torch.optim.Adam(model.parameters(), lr=trainer_cfg.lr)
    stream = LMStream(train_ids, trainer_cfg.batch_size, defaults.data.bptt, seed=seed)
    start, steps, epoch, state = time.monotonic(), 0, 0, None
    if checkpoint is not None and checkpoint.is_file():
        saved = torch.load(checkpoint, weights_only=True)  # tensors and ints only
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        stream.load_state_dict(saved["stream"])
        steps, epoch, start = saved["steps"], saved["epoch"], start - saved["train_seconds"]

    def more() -> bool:
        return seconds is None or time.monotonic() - start < seconds

    while more() and (epochs is None or epoch < epochs):
        for x, y in stream:
            if state is not None:
                state = tuple(s.detach() for s in state)
            logits, state = model(x, state)
            loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), trainer_cfg.clip_grad_norm)
            opt.step()
            steps += 1
            if not more():
                break
        state, epoch = None, epoch + 1
        if checkpoint is not None and more():  # the epoch ran to its end
            _save_epoch(checkpoint, model, opt, stream, steps, epoch, time.monotonic() - start)
    train_seconds = time.monotonic() - start
    result = {"bpc": _bpc(model, test_ids, vocab), "steps": steps, "epochs": epoch,
              "train_seconds": train_seconds}  # fmt: skip
    if valid_ids is not None:
        result["valid_bpc"] = _bpc(model, valid_ids, vocab)
    return result


def _save_epoch(
    path: Path, model: nn.Module, opt: torch.optim.Optimizer, stream: LMStream, steps: int,
    epoch: int, train_seconds: float,
) -> None:  # fmt: skip
    """Write the plain loop's state after a whole epoch (to a temporary file, then renamed)."""
    state = {"model": model.state_dict(), "optimizer": opt.state_dict(),
             "stream": stream.state_dict(), "steps": steps, "epoch": epoch,
             "train_seconds": train_seconds}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)


@torch.no_grad()
def _bpc(model: TorchCharLSTM, ids: torch.Tensor, vocab: int) -> float:
    """Bits per character of ``model`` over ``ids`` in the evaluation windows (one token per
    character: the tokens counted are the characters)."""
    model.eval()
    total, count, state = 0.0, 0, None
    for x, y in LMStream(ids, EVAL["batch_size"], EVAL["bptt"]).windows_for_eval():
        logits, state = model(x, state)
        total += F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    model.train()
    return bits_per_character(total, count)


def run_rnnkit(cell: str, train_path, valid_path, test_path, seconds: float, seed: int) -> dict:
    cfg = resolve(
        "lm",
        model={"cell": cell},
        trainer={"max_time": seconds, "max_epochs": None, "seed": seed, "progress": False,
                 "log_every": 500},
        data={"data": str(train_path), "valid": str(valid_path)},
    )  # fmt: skip
    model, trainer, data = cfg.model, cfg.trainer, cfg.data
    out = RESULTS / "runs" / f"shakespeare_{cell}"
    if out.exists():
        import shutil

        shutil.rmtree(out)
    result = train_lm(data, model, trainer, out)
    test = evaluate_lm(out, test_path, **EVAL)
    return {
        "bpc": test["bpc"],
        "steps": result.steps,
        "train_seconds": result.elapsed,
        "stopped": result.stopped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget per model")
    parser.add_argument("--cells", default="lstm,gru,rnn")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    text = read_text(data_dir() / "shakespeare" / "shakespeare.txt")
    train, valid, test = split(text)
    seconds = args.minutes * 60
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, part in (("train", train), ("valid", valid), ("test", test)):
            paths.append(Path(tmp) / f"{name}.txt")
            paths[-1].write_text(part)
        for cell in args.cells.split(","):
            runs[f"rnnkit {cell}"] = run_rnnkit(cell, *paths, seconds, args.seed)
            print(cell, runs[f"rnnkit {cell}"], flush=True)
        tok = CharTokenizer.train(train)
        train_ids = torch.tensor(tok.encode(train))
        test_ids = torch.tensor(tok.encode(test))
        runs["torch.nn.LSTM (plain loop)"] = train_torch_baseline(
            train_ids, test_ids, tok.vocab_size, seconds, args.seed
        )
    write_result(
        "lm_shakespeare",
        {
            "budget_minutes_per_model": args.minutes,
            "sizes": {
                k: resolve("lm").to_dict()["model"][k]
                for k in ("embedding_size", "hidden_size", "num_layers")
            },
            "test_characters": len(test),
            "runs": {
                k: {kk: round(vv, 4) if isinstance(vv, float) else vv for kk, vv in v.items()}
                for k, v in runs.items()
            },
        },
    )


if __name__ == "__main__":
    main()
