"""``rnnkit serve`` as a real process on a free loopback port: HTTP, streaming, a disconnect,
and SIGTERM finishing the request in flight before the process exits."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _events(response):
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line[6:])


@pytest.fixture
def server(runs):
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnkit.cli.main", "serve", str(runs["lm"]), str(runs["classify"]),
         "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            if proc.poll() is not None:
                pytest.fail(f"rnnkit serve exited: {proc.stdout.read()}")
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("rnnkit serve did not answer within 120 s")
    yield proc, base
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


def test_serve_streams_over_http_and_stops_cleanly_on_sigterm(server):
    proc, base = server
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/info").json()["threads"] == torch.get_num_threads()  # its default
        assert client.post("/classify", json={"model": "classify", "texts": ["great"]}).json()[
            "results"
        ][0]["label"]
        # a stream that the client leaves after two tokens: its row is freed at the next step
        endless = {"model": "lm", "prompt": "the", "max_tokens": 10**7, "seed": 1}
        with client.stream("POST", "/generate/stream", json=endless) as response:
            events = _events(response)
            assert [next(events)["token"] for _ in range(2)]
        for _ in range(100):
            if client.get("/health").json()["models"]["lm"]["active"] == 0:
                break
            time.sleep(0.05)
        assert client.get("/health").json()["models"]["lm"]["active"] == 0
        # SIGTERM while a stream is under way: it finishes, then the server exits with 0
        body = {"model": "lm", "prompt": "the", "max_tokens": 400, "seed": 2}
        with client.stream("POST", "/generate/stream", json=body) as response:
            events = _events(response)
            first = next(events)
            proc.send_signal(signal.SIGTERM)
            rest = list(events)
    assert "token" in first and rest[-1]["finish_reason"] == "length"
    assert len(rest[-1]["tokens"]) == 400 and len(rest) == 400  # 399 tokens more, and the end
    assert proc.wait(30) == 0
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/health", timeout=2)
