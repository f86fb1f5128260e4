"""Load on ``rnnkit serve``: generation streams and classify requests over loopback HTTP.

Serves the default character LSTM (``rnnkit train lm``'s architecture: 2 x 512 LSTM, embedding
128, untrained: throughput does not depend on the weights' values) and the default classifier
(BiLSTM 128, untrained) with ``rnnkit serve`` in a subprocess on a free 127.0.0.1 port, then:

- generation: 1, 8, 32 and 64 concurrent clients, each opening ``/generate/stream`` requests
  one after another for ``--seconds``; aggregate generated tokens per second, and the time
  between two token events of a stream as the client receives them (p50, p99);
- classify: 1 and 32 concurrent clients posting one text each (keep-alive), requests per second
  and latency (p50, p99);
- errors: any non-200 answer or broken stream.

The clients speak HTTP/1.1 over asyncio streams directly (no HTTP library), so that the load
generator, which shares the machine's cores with the server, costs as little as it can. Events
that arrive in one read count as arriving together (a gap of 0 between them). Everything is
bounded: each phase runs for ``--seconds`` (streams still open then are left by their
clients, and the tokens counted are those received within the phase); the server is stopped
(SIGTERM) at the end.

    python benchmarks/serve_load.py [--seconds 8] [--max-tokens 200]

Writes benchmarks/results/serve_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, write_result

HOST = "127.0.0.1"
STREAMS = (1, 8, 32, 64)
CLIENTS = (1, 32)


def make_models(root: Path) -> tuple[Path, Path]:
    """The default char LM and the default classifier, untrained, as model directories."""
    from rnnkit.data import CharTokenizer, load_bundled
    from rnnkit.data.labelled import TextExample
    from rnnkit.models import LanguageModel
    from rnnkit.models.io import save_model_dir
    from rnnkit.tasks.classify import ClassifyDataConfig, build_classifier
    from rnnkit.tasks.defaults import resolve

    torch.manual_seed(0)
    tokenizer = CharTokenizer.train(load_bundled("shakespeare"))
    lm_cfg = resolve("lm")
    lm = LanguageModel(tokenizer.vocab_size, **lm_cfg.model)
    meta = {"task": "lm", "data": lm_cfg.data.to_dict()}
    save_model_dir(root / "char_lstm", lm, tokenizer, meta)
    texts = [line for line in load_bundled("shakespeare").splitlines() if len(line) > 20][:400]
    examples = [TextExample(t, ("a" if i % 2 else "b",)) for i, t in enumerate(texts)]
    cfg = ClassifyDataConfig()
    model, tok, labels = build_classifier(cfg, resolve("classify").model, examples, 0)
    meta = {"task": "classify", "labels": labels.to_dict(), "data": cfg.to_dict()}
    save_model_dir(root / "classifier", model, tok, meta)
    return root / "char_lstm", root / "classifier"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(dirs: list[Path], port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [sys.executable, "-m", "rnnkit.cli.main", "serve", *map(str, dirs), "--host", HOST,
           "--port", str(port), "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                sys.exit("rnnkit serve exited before listening")
            time.sleep(0.2)
    proc.kill()
    sys.exit("rnnkit serve did not listen within 180 s")


def request_bytes(path: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n")  # fmt: skip
    return head.encode() + data


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    return status, headers


async def one_stream(
    port: int, body: dict[str, Any], gaps: list[float], stop_at: float
) -> tuple[int, bool]:
    """One /generate/stream request until it ends or the phase does (then the client leaves):
    (token events seen, no error)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(request_bytes("/generate/stream", body))
        status, headers = await read_head(reader)
        if status != 200 or headers.get("transfer-encoding") != "chunked":
            return 0, False
        tokens, last, pending = 0, None, b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return tokens, False
            now = time.perf_counter()
            if now > stop_at:
                return tokens, True
            pending += chunk[:-2]
            *events, pending = pending.split(b"\n\n")
            for event in events:
                if event.startswith(b'data: {"token"'):
                    tokens += 1
                    if last is not None:
                        gaps.append(now - last)
                    last = now
                elif b"finish_reason" in event:
                    return tokens, b'"finish_reason": "length"' in event
    finally:
        writer.close()


async def generation_phase(port: int, streams: int, seconds: float, max_tokens: int) -> dict:
    gaps: list[float] = []
    counts = {"tokens": 0, "requests": 0, "errors": 0}
    stop_at = time.perf_counter() + seconds

    async def client(k: int) -> None:
        seed = k * 100000
        while time.perf_counter() < stop_at:
            seed += 1
            body = {"prompt": "KING HENRY.\n", "max_tokens": max_tokens, "temperature": 0.8,
                    "seed": seed, "model": "char_lstm"}  # fmt: skip
            try:
                tokens, ok = await one_stream(port, body, gaps, stop_at)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                tokens, ok = 0, False
            counts["tokens"] += tokens
            counts["requests"] += 1
            counts["errors"] += not ok

    start = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(streams)))
    wall = min(time.perf_counter(), stop_at) - start
    return {"streams": streams, "seconds": round(wall, 2),
            "tokens_per_s": round(counts["tokens"] / wall, 1), **counts,
            "inter_token_ms": percentiles(gaps)}  # fmt: skip


async def classify_phase(port: int, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    counts = {"requests": 0, "errors": 0}
    stop_at = time.perf_counter() + seconds
    text = "Now is the winter of our discontent made glorious summer by this sun of York"

    async def client() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        payload = request_bytes("/classify", {"model": "classifier", "texts": [text]})
        try:
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                writer.write(payload)
                status, headers = await read_head(reader)
                await reader.readexactly(int(headers.get("content-length", "0")))
                latencies.append(time.perf_counter() - t0)
                counts["requests"] += 1
                counts["errors"] += status != 200
        except (OSError, asyncio.IncompleteReadError, ValueError):
            counts["errors"] += 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - start
    return {"clients": clients, "seconds": round(wall, 2),
            "requests_per_s": round(counts["requests"] / wall, 1), **counts,
            "latency_ms": percentiles(latencies)}  # fmt: skip


def percentiles(values: list[float]) -> dict[str, float | None]:
    if len(values) < 2:
        return {"p50": None, "p99": None, "count": len(values)}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49] * 1e3, 3), "p99": round(cuts[98] * 1e3, 3), "count": len(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    parser.add_argument("--max-tokens", type=int, default=200, help="tokens per stream")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        lm_dir, clf_dir = make_models(Path(tmp))
        port = free_port()
        proc = start_server([lm_dir, clf_dir], port)
        try:
            asyncio.run(generation_phase(port, 1, 2.0, 20))  # warm-up, not recorded
            gen = [asyncio.run(generation_phase(port, n, args.seconds, args.max_tokens))
                   for n in STREAMS]  # fmt: skip
            clf = [asyncio.run(classify_phase(port, n, args.seconds)) for n in CLIENTS]
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
    one, most = gen[0]["tokens_per_s"], gen[-1]["tokens_per_s"]
    ratio = round(most / one, 2) if one else None
    errors = sum(p["errors"] for p in gen + clf)
    p99 = gen[-1]["inter_token_ms"]["p99"]
    write_result("serve_load", {
        "model": "default char LSTM (2 x 512, embedding 128), untrained; default classifier",
        "server": "rnnkit serve, defaults (--max-batch 64), one process", "client": "asyncio, "
        "raw HTTP/1.1 in a second process on the same machine",
        "max_tokens": args.max_tokens, "phase_seconds": args.seconds,
        "generation": gen, "classify": clf, "errors": errors, "server_exit_code": code,
        "streams_64_over_1": ratio,
        "targets": {"streams_64_over_1 >= 15": ratio is not None and ratio >= 15,
                    "p99_inter_token_ms_64 < 25": p99 is not None and p99 < 25,
                    "errors == 0": errors == 0},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    })  # fmt: skip


if __name__ == "__main__":
    main()
