"""Load on ``rnnkit serve``: generation streams and classify requests over loopback HTTP.

Serves the default character LSTM (``rnnkit train lm``'s architecture: 2 x 512 LSTM, embedding
128, untrained: throughput does not depend on the weights' values) and the default classifier's
five BiLSTMs with their n-gram bags (untrained; its linear member left out) with ``rnnkit
serve`` in a subprocess on a free 127.0.0.1 port, then:

- generation: 1, 8, 32 and 64 concurrent clients, each opening ``/generate/stream`` requests
  one after another for ``--seconds``; aggregate generated tokens per second, the time
  between two token events of a stream as the client receives them (p50, p99), the time from
  sending a request to its first token event (p50, p99), and the CPU time per generated token
  of the server process (all its threads, from /proc) and of the load generator;
- classify: 1 and 32 concurrent clients posting one text each (keep-alive), requests per second
  and latency (p50, p99);
- errors: any non-200 answer or broken stream;
- the bare model step (no server, same PyTorch threads) for 1 and 64 rows, best of 15 rounds:
  what batching alone can give, 64 x step(1) / step(64), the ceiling of the streams' speed-up;
  and the step's matrix products alone for 1 and 64 rows, beside the GFLOP/s of a large square
  product (how close the 64-row products come to what the cores can do);
- one text classified in this process (``rnnkit.load(...).classify``), no server.

The load generator is this process; the server is another. Both share the machine's cores, so
the clients are made cheap: HTTP/1.1 spoken directly over asyncio streams (no HTTP library) on
uvloop where it is installed, each read taking whatever has arrived and parsing it at once.
Their CPU time per token is in the results beside the server's, so the share of the machine
the measurement itself took is on record. Events that arrive in one read count as arriving
together (a gap of 0 between them). Everything is bounded: each phase runs for ``--seconds``
(streams still open then are left by their clients, and the tokens counted are those received
within the phase); the server is stopped (SIGTERM) at the end.

    python benchmarks/serve_load.py [--seconds 8] [--max-tokens 200] [--rounds 1]
        [--threads N] [--name serve_load]

Writes benchmarks/results/NAME.json (``--rounds R``: the generation phases run R times, in
turn, and the median round of each stream count is reported; every round is kept).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, write_result

HOST = "127.0.0.1"
STREAMS = (1, 8, 32, 64)
CLIENTS = (1, 32)
TEXT = "Now is the winter of our discontent made glorious summer by this sun of York"


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """PyTorch's thread count set to ``threads`` inside the block, restored after it."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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
    options = {**resolve("classify").model, "linear_weight": 0.0}  # the five members and bags
    model, tok, labels = build_classifier(cfg, options, examples, 0)
    meta = {"task": "classify", "labels": labels.to_dict(), "data": cfg.to_dict()}
    save_model_dir(root / "classifier", model, tok, meta)
    return root / "char_lstm", root / "classifier"


def model_step_ms(lm_dir: Path, threads: int, rows: tuple[int, ...] = (1, 64)) -> tuple[dict, dict]:
    """The bare model step (no server) for ``rows`` streams with ``threads`` PyTorch threads,
    and the step's matrix products alone (each LSTM layer's one packed product
    [x_t | h_{t-1}] P^T + p, as the step calls it, with nothing around it): the best of 15
    rounds of 20, in ms. The first is the ceiling of what batching can give a server; the
    second is the part of it that is the machine's arithmetic (reading the weights for one
    row, multiplying them for 64)."""
    import rnnkit
    from rnnkit.backends.packed_step import packed
    from rnnkit.cells.lstm import LSTMCell
    from rnnkit.tasks.predictors.generation import GenerationBatch

    with torch_threads(threads):
        model = rnnkit.load(lm_dir).model.eval()
        GenerationBatch(model).warm_up(max(rows))
        cells = [m for m in model.modules() if isinstance(m, LSTMCell)]
        best = {k: dict.fromkeys(rows, float("inf")) for k in ("step", "products")}
        with torch.no_grad():
            for _ in range(15):
                for n in rows:
                    tokens = torch.zeros(n, dtype=torch.long)
                    _, state = model.step(tokens, None)
                    start = time.perf_counter()
                    for _ in range(20):
                        model.step(tokens, state)
                    best["step"][n] = min(best["step"][n], (time.perf_counter() - start) / 20)
                    joined = [torch.zeros(n, c.weight_ih.shape[1] + c.weight_hh.shape[1])
                              for c in cells]  # fmt: skip
                    products = [packed(c, "lstm", x)[0] for c, x in zip(cells, joined)]
                    start = time.perf_counter()
                    for _ in range(20):
                        for product, x in zip(products, joined):
                            product(x)
                    seconds = (time.perf_counter() - start) / 20
                    best["products"][n] = min(best["products"][n], seconds)
    step, products = ({str(n): round(t * 1e3, 3) for n, t in best[k].items()}
                      for k in ("step", "products"))  # fmt: skip
    return step, products


def square_gflops(threads: int, size: int = 2048) -> float:
    """GFLOP/s of one (size x size) float32 product with ``threads`` threads, the best of 5: the
    arithmetic rate PyTorch reaches on this machine when nothing limits it but the cores."""
    with torch_threads(threads):
        a, b = torch.randn(size, size), torch.randn(size, size)
        best = float("inf")
        for _ in range(7):
            start = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - start)
    return round(2 * size**3 / best / 1e9, 1)


def classify_in_process_ms(clf_dir: Path, threads: int) -> float:
    """One text through ``rnnkit.load(CLASSIFIER).classify`` in this process (no server), in
    ms: the best of 5 rounds of 20 calls."""
    import rnnkit

    with torch_threads(threads):
        predictor, best = rnnkit.load(clf_dir), float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(20):
                predictor.classify([TEXT])
            best = min(best, (time.perf_counter() - start) / 20)
    return round(best * 1e3, 3)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(dirs: list[Path], port: int, threads: int | None = None) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [sys.executable, "-m", "rnnkit.cli.main", "serve", *map(str, dirs), "--host", HOST,
           "--port", str(port), "--log-level", "warning"]  # fmt: skip
    if threads is not None:
        cmd += ["--threads", str(threads)]
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


def parse_chunks(buffer: bytearray) -> list[bytes]:
    """Take the complete chunks of a chunked HTTP body off the front of ``buffer``."""
    chunks, at = [], 0
    while True:
        eol = buffer.find(b"\r\n", at)
        if eol < 0:
            break
        size = int(buffer[at:eol], 16)
        if len(buffer) < eol + 2 + size + 2:
            break
        chunks.append(bytes(buffer[eol + 2 : eol + 2 + size]))
        at = eol + 2 + size + 2
    del buffer[:at]
    return chunks


async def one_stream(
    port: int, body: dict[str, Any], timing: dict[str, list[float]], stop_at: float
) -> tuple[int, bool]:
    """One /generate/stream request until it ends or the phase does (then the client leaves):
    (token events seen, no error). Reads whatever has arrived in one call and parses it
    (chunked framing, then events); events of one read get one arrival time."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        sent = time.perf_counter()
        writer.write(request_bytes("/generate/stream", body))
        status, headers = await read_head(reader)
        if status != 200 or headers.get("transfer-encoding") != "chunked":
            return 0, False
        tokens, last, buffer, pending = 0, None, bytearray(), b""
        while True:
            data = await reader.read(1 << 16)
            now = time.perf_counter()
            if not data:
                return tokens, False
            if now > stop_at:
                return tokens, True
            buffer += data
            for chunk in parse_chunks(buffer):
                if not chunk:
                    return tokens, False  # the body ended without a last event
                *events, pending = (pending + chunk).split(b"\n\n")
                for event in events:
                    if event.startswith(b'data: {"token"'):
                        tokens += 1
                        if last is None:
                            timing["first"].append(now - sent)
                        else:
                            timing["gaps"].append(now - last)
                        last = now
                    elif b"finish_reason" in event:
                        return tokens, b'"finish_reason": "length"' in event
    finally:
        writer.close()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of every thread of process ``pid`` so far (Linux), or None."""
    try:
        total = 0
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


async def generation_phase(
    port: int, streams: int, seconds: float, max_tokens: int, server_pid: int | None = None
) -> dict:
    timing: dict[str, list[float]] = {"gaps": [], "first": []}
    counts = {"tokens": 0, "requests": 0, "errors": 0}
    stop_at = time.perf_counter() + seconds

    async def client(k: int) -> None:
        seed = k * 100000
        while time.perf_counter() < stop_at:
            seed += 1
            body = {"prompt": "KING HENRY.\n", "max_tokens": max_tokens, "temperature": 0.8,
                    "seed": seed, "model": "char_lstm"}  # fmt: skip
            try:
                tokens, ok = await one_stream(port, body, timing, stop_at)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                tokens, ok = 0, False
            counts["tokens"] += tokens
            counts["requests"] += 1
            counts["errors"] += not ok

    server_cpu = cpu_seconds(server_pid) if server_pid else None
    client_cpu = time.process_time()
    start = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(streams)))
    wall = min(time.perf_counter(), stop_at) - start
    return {"streams": streams, "seconds": round(wall, 2),
            "tokens_per_s": round(counts["tokens"] / wall, 1), **counts,
            "inter_token_ms": percentiles(timing["gaps"]),
            "first_token_ms": percentiles(timing["first"]),
            **cpu_per_token(server_pid, server_cpu, client_cpu, counts["tokens"])}  # fmt: skip


def cpu_per_token(
    server_pid: int | None, server_cpu: float | None, client_cpu: float, tokens: int
) -> dict[str, float | None]:
    """CPU microseconds per generated token spent by the server process and by this one (the
    load generator) during a phase."""
    tokens = max(tokens, 1)
    after = cpu_seconds(server_pid) if server_pid else None
    server = None if after is None or server_cpu is None else (after - server_cpu) / tokens
    client = (time.process_time() - client_cpu) / tokens
    return {"server_cpu_us_per_token": None if server is None else round(server * 1e6, 1),
            "client_cpu_us_per_token": round(client * 1e6, 1)}  # fmt: skip


async def classify_phase(port: int, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    counts = {"requests": 0, "errors": 0}
    stop_at = time.perf_counter() + seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        payload = request_bytes("/classify", {"model": "classifier", "texts": [TEXT]})
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


def run(coroutine: Any) -> Any:
    """Run a phase's clients on uvloop where it is installed (less CPU per event than asyncio's
    own loop, which leaves more of the shared cores to the server), else on asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def median_round(rounds: list[dict], key: str) -> dict:
    """The round whose ``key`` is the median (the lower one for an even count)."""
    return sorted(rounds, key=lambda r: r[key])[(len(rounds) - 1) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    parser.add_argument("--max-tokens", type=int, default=200, help="tokens per stream")
    parser.add_argument("--rounds", type=int, default=1, help="run the generation phases "
                        "this many times; the median round of each stream count is reported, "
                        "every round kept")  # fmt: skip
    parser.add_argument("--threads", type=int, help="rnnkit serve --threads (default: its own)")
    parser.add_argument("--name", default="serve_load", help="results file name")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        lm_dir, clf_dir = make_models(Path(tmp))
        threads_here = args.threads or torch.get_num_threads()
        step, products = model_step_ms(lm_dir, threads_here)
        gflops = square_gflops(threads_here)
        classify_ms = classify_in_process_ms(clf_dir, threads_here)
        port = free_port()
        proc = start_server([lm_dir, clf_dir], port, args.threads)
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/info", timeout=30) as answer:
                threads = json.load(answer)["threads"]
            run(generation_phase(port, 1, 2.0, 20))  # warm-up, not recorded
            rounds = [[run(generation_phase(port, n, args.seconds, args.max_tokens, proc.pid))
                       for n in STREAMS] for _ in range(args.rounds)]  # fmt: skip
            clf = [run(classify_phase(port, n, args.seconds)) for n in CLIENTS]
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
    gen = [median_round([r[i] for r in rounds], "tokens_per_s") for i in range(len(STREAMS))]
    one, most = gen[0]["tokens_per_s"], gen[-1]["tokens_per_s"]
    ratio = round(most / one, 2) if one else None
    errors = sum(p["errors"] for p in [*(p for r in rounds for p in r), *clf])
    p99 = gen[-1]["inter_token_ms"]["p99"]
    write_result(args.name, {
        "model": "default char LSTM (2 x 512, embedding 128), untrained; default classifier",
        "server": "rnnkit serve, defaults (--max-batch 64)"
        + (f", --threads {args.threads}" if args.threads else "") + ", one process",
        "client": "a second process on the same machine (the cores are shared): raw HTTP/1.1 "
        "over asyncio streams on uvloop; its CPU time per token is reported beside the server's",
        "server_torch_threads": threads,
        "max_tokens": args.max_tokens, "phase_seconds": args.seconds, "rounds": args.rounds,
        "generation": gen, "classify": clf, "errors": errors, "server_exit_code": code,
        "streams_64_over_1": ratio,
        "model_step_ms": step,
        "model_step_64_over_1": round(64 * step["1"] / step["64"], 2),
        "model_products_ms": products,
        "model_products_64_over_1": round(64 * products["1"] / products["64"], 2),
        "square_product_2048_gflops": gflops,
        "classify_in_process_ms": classify_ms,
        "targets": {"streams_64_over_1 >= 15": ratio is not None and ratio >= 15,
                    "p99_inter_token_ms_64 < 25": p99 is not None and p99 < 25,
                    "errors == 0": errors == 0},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        **({"generation_rounds": rounds} if args.rounds > 1 else {}),
    })  # fmt: skip


if __name__ == "__main__":
    main()
