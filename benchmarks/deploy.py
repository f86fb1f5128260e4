"""Deployment: ONNX export on onnxruntime and int8 weights, against PyTorch, in one run.

Models: the default character LSTM (``rnnkit train lm``: embedding 128, 2 x 512 LSTM) and one
BiLSTM classifier (``rnnkit train classify`` with ``SINGLE_BILSTM``: embedding 128, 128 units
each way, max pooling; one network, not the default ensemble), either given as trained run
directories (``--lm``, ``--classifier``) or trained here for ``--lm-seconds`` /
``--classifier-seconds`` (the first 2 MB of Shakespeare; sentiment/train.tsv). Each is
exported (``rnnkit export``), quantized (``rnnkit quantize``: int8 weights, per-row scales) and
its export quantized too (onnxruntime dynamic quantization). Measured:

- per-token generation latency at batch 1 (median of ``--repeats`` runs of ``--tokens`` steps,
  the same token sequence), at each of ``--threads`` (default: one thread, and PyTorch's default,
  which is what a user gets; everything else runs at the last): ``torch.nn.LSTM`` stepped one
  token at a time with the model's weights; rnnkit fp32 (``LanguageModel.step``); rnnkit int8
  (the int8 directory as loaded); onnxruntime fp32 and int8 (``step.onnx`` through rnnkit's
  runtime, what ``rnnkit generate`` runs);
- classifier throughput: texts per second over sentiment/test.tsv (``classify``, batches of 64);
- size on disk of the weights of each form;
- quality: bits per character on held-out Shakespeare (the last ``--heldout`` characters, never
  trained on; ``rnnkit evaluate``'s windows), the same over the first ``--step-chars`` of them
  read token by token through each form's generation step (for int8 on a CPU with AVX-512 VNNI
  that step quantizes activations too), and accuracy on sentiment/test.tsv, for each form.

    python benchmarks/deploy.py [--lm RUN --classifier RUN] [--lm-seconds 120] [--threads 1 2]

Writes benchmarks/results/deploy.json. Timings depend on the machine's load at the time.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_dir, write_result

import rnnkit
from rnnkit.cli.main import main as rnnkit_main
from rnnkit.kernels import int8_step

#: the classifier measured: one BiLSTM, so the figures are those of one network
SINGLE_BILSTM = ["--model.ensemble=1", "--model.ngram_buckets=0", "--model.embedding_size=128",
                 "--model.hidden_size=128", "--model.dropout=0.3", "--model.input_dropout=0.2",
                 "--model.embedding_dropout=0.0", "--trainer.max_epochs=10"]  # fmt: skip


def run(*argv: str) -> None:
    code = rnnkit_main(list(argv))
    if code != 0:
        sys.exit(f"rnnkit {' '.join(argv)} failed ({code})")


def train_models(root: Path, args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """The LM and classifier runs (trained here unless given) and the held-out text file."""
    text = (data_dir() / "shakespeare" / "shakespeare.txt").read_text(encoding="utf-8")
    heldout = root / "heldout.txt"
    heldout.write_text(text[-args.heldout :], encoding="utf-8")
    lm = Path(args.lm) if args.lm else root / "lm"
    if not args.lm:
        train = root / "train.txt"
        train.write_text(text[:2_000_000], encoding="utf-8")
        run("train", "lm", "--data", str(train), "--out", str(lm), "--seed=1",
            f"--trainer.max_time={args.lm_seconds}", "--trainer.log_every=100000")  # fmt: skip
    clf = Path(args.classifier) if args.classifier else root / "classifier"
    if not args.classifier:
        sentiment = data_dir() / "sentiment"
        budget = f"--trainer.max_time={args.classifier_seconds}"
        run("train", "classify", "--data", str(sentiment / "train.tsv"), "--valid",
            str(sentiment / "dev.tsv"), "--out", str(clf), "--seed=1", budget,
            "--trainer.log_every=100000", *SINGLE_BILSTM)  # fmt: skip
    return lm, clf, heldout


def forms(run_dir: Path, root: Path, name: str) -> dict[str, Path]:
    """fp32 directory, int8 directory, ONNX export and its int8 version."""
    out = {"rnnkit fp32": run_dir, "rnnkit int8": root / f"{name}-int8",
           "onnxruntime fp32": root / f"{name}-onnx",
           "onnxruntime int8": root / f"{name}-onnx-int8"}  # fmt: skip
    run("quantize", str(run_dir), "--out", str(out["rnnkit int8"]))
    run("export", str(run_dir), "--out", str(out["onnxruntime fp32"]))
    run("quantize", str(out["onnxruntime fp32"]), "--out", str(out["onnxruntime int8"]))
    return out


def weight_bytes(path: Path) -> int:
    from rnnkit.models.io import resolve_model_dir

    root = resolve_model_dir(path)
    return sum(p.stat().st_size for p in root.iterdir() if p.suffix in (".safetensors", ".onnx"))


def torch_lstm_stepper(model: Any) -> Any:
    """``torch.nn.LSTM`` (and the model's embedding and output layer) with the LM's weights."""
    layers = [layer for layer in model.layers]
    sizes = [(l.input_size, l.hidden_size) for l in layers]  # noqa: E741
    stack = [torch.nn.LSTM(i, h, batch_first=True).eval() for i, h in sizes]
    for mine, theirs in zip(layers, stack):
        theirs.load_state_dict(mine.state_dict())

    def step(token: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        x = model.embed(token)[:, None]
        new = []
        for k, layer in enumerate(stack):
            x, s = layer(x, None if state is None else state[k])
            new.append(s)
        return model.decoder(x[:, 0]), new

    return step


def per_token_ms(step: Any, tokens: list[int], repeats: int) -> float:
    """Median over ``repeats`` of the mean milliseconds per ``step`` call."""
    runs = []
    with torch.no_grad():
        for _ in range(repeats + 1):  # the first run warms up (kernels built, caches filled)
            state = None
            start = time.perf_counter()
            for t in tokens:
                _, state = step(torch.tensor([t]), state)
            runs.append((time.perf_counter() - start) * 1000 / len(tokens))
    return statistics.median(runs[1:])


def step_bpc(step: Any, ids: list[int]) -> float:
    """Bits per token (a character here) of ``step`` run token by token from a zero state:
    the path generation runs (for int8 with VNNI, activations quantized too)."""
    total, state = 0.0, None
    with torch.no_grad():
        for t in range(len(ids) - 1):
            logits, state = step(torch.tensor([ids[t]]), state)
            total -= float(torch.log_softmax(logits[0].float(), -1)[ids[t + 1]])
    return total / ((len(ids) - 1) * math.log(2))


def lm_figures(paths: dict[str, Path], heldout: Path, args: argparse.Namespace) -> dict[str, Any]:
    from rnnkit.tasks.lm import evaluate_lm

    text = heldout.read_text(encoding="utf-8")
    native = rnnkit.load(paths["rnnkit fp32"])
    tokens = native.tokenizer.encode(text[: args.tokens * 4])[: args.tokens]
    by_threads = {}
    for threads in args.threads:  # each form loaded again: onnxruntime reads its threads then
        use_threads(threads)
        latency = {"torch.nn.LSTM fp32": per_token_ms(torch_lstm_stepper(native.model), tokens,
                                                      args.repeats)}  # fmt: skip
        for name, path in paths.items():
            latency[name] = per_token_ms(rnnkit.load(path).model.step, tokens, args.repeats)
        by_threads[threads] = latency
    quality, stepped, size = {}, {}, {}
    step_ids = native.tokenizer.encode(text[: args.step_chars])
    for name, path in paths.items():
        model = rnnkit.load(path).model
        quality[name] = round(evaluate_lm(path, heldout)["bpc"], 4)
        stepped[name] = round(step_bpc(model.step, step_ids), 4)
        size[name] = weight_bytes(path)
    fp32, int8 = "rnnkit fp32", "rnnkit int8"
    return {"latency_ms_per_token": {str(t): {k: round(v, 4) for k, v in latency.items()}
                                     for t, latency in by_threads.items()},
            "bpc_heldout": quality, "bpc_heldout_by_generation_step": stepped,
            "step_chars": len(step_ids), "weight_bytes": size,
            "int8_vnni": int8_step.has_vnni(),
            "int8_step": getattr(rnnkit.load(paths[int8]).model, "int8_step", "absent"),
            "int8_vs_fp32": {"speedup": {str(t): round(latency[fp32] / latency[int8], 2)
                                        for t, latency in by_threads.items()},
                             "bpc_relative_change": round(quality[int8] / quality[fp32] - 1, 5),
                             "step_bpc_relative_change": round(stepped[int8] / stepped[fp32] - 1,
                                                               5),
                             "size_ratio": round(size[int8] / size[fp32], 3)}}  # fmt: skip


def use_threads(threads: int) -> None:
    """PyTorch's threads and onnxruntime's (read when a session is made) for what follows."""
    torch.set_num_threads(threads)
    os.environ["RNNKIT_ORT_THREADS"] = str(threads)


def classifier_figures(paths: dict[str, Path], args: argparse.Namespace) -> dict[str, Any]:
    from rnnkit.data.labelled import read_classification
    from rnnkit.tasks.classify import evaluate_classifier

    test = data_dir() / "sentiment" / "test.tsv"
    examples = read_classification(str(test), "tsv", False, ",")
    speed, quality, size = {}, {}, {}
    for name, path in paths.items():
        predictor = rnnkit.load(path)
        predictor.classify_examples(examples[:64], 64)  # warm-up
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            predictor.classify_examples(examples, 64)
            times.append(time.perf_counter() - start)
        speed[name] = round(len(examples) / statistics.median(times), 1)
        quality[name] = round(evaluate_classifier(path, test)["accuracy"], 4)
        size[name] = weight_bytes(path)
    fp32, int8 = "rnnkit fp32", "rnnkit int8"
    return {"texts_per_second": speed, "accuracy_test": quality, "weight_bytes": size,
            "texts": len(examples),
            "int8_vs_fp32": {"accuracy_points": round(100 * (quality[int8] - quality[fp32]), 2),
                             "size_ratio": round(size[int8] / size[fp32], 3)}}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lm", help="a trained char LM run (default: train one here)")
    parser.add_argument("--classifier", help="a trained classifier run (default: train one)")
    parser.add_argument("--lm-seconds", type=int, default=120)
    parser.add_argument("--classifier-seconds", type=int, default=60)
    parser.add_argument("--heldout", type=int, default=30_000, help="held-out characters")
    parser.add_argument(
        "--step-chars",
        type=int,
        default=3000,
        help="held-out characters scored token by token with each step",
    )
    parser.add_argument("--tokens", type=int, default=200, help="steps per latency run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=sorted({1, torch.get_num_threads()}),
        help="torch and onnxruntime threads: latency is measured at each, the rest at the last "
        "(default: 1 and PyTorch's default, the machine's cores)",
    )
    parser.add_argument("--name", default="deploy")
    args = parser.parse_args()
    use_threads(args.threads[-1])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        lm_run, clf_run, heldout = train_models(root, args)
        lm = lm_figures(forms(lm_run, root, "lm"), heldout, args)
        clf = classifier_figures(forms(clf_run, root, "classifier"), args)
    names = ("lm_seconds", "classifier_seconds", "heldout", "step_chars", "tokens", "repeats",
             "threads")  # fmt: skip
    settings = {k: getattr(args, k) for k in names}
    settings["trained_here"] = {"lm": not args.lm, "classifier": not args.classifier}
    write_result(args.name, {"settings": settings, "char_lstm": lm, "bilstm_classifier": clf})


if __name__ == "__main__":
    main()
