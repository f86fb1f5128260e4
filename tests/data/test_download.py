"""download(): only against a local HTTP server on 127.0.0.1, started and stopped here."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest

from rnnkit.data import DataError, download, sha256_of

BODY = "line one\nline two, ünïcödé\n".encode() * 500


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[str, list[str]]]:
    root = tmp_path / "www"
    root.mkdir()
    (root / "corpus.txt").write_bytes(BODY)
    handler = type("Handler", (_Handler,), {"requests": []})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(root))
    )
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler.requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_download_verifies_and_writes(server, tmp_path) -> None:
    base, requests = server
    dest = tmp_path / "out" / "corpus.txt"
    digest = hashlib.sha256(BODY).hexdigest()
    got = download(f"{base}/corpus.txt", dest, sha256=digest.upper(), timeout=5)
    assert got == dest and dest.read_bytes() == BODY
    assert sha256_of(dest) == digest
    assert requests == ["/corpus.txt"]
    assert list(dest.parent.iterdir()) == [dest]  # no temporary file left


def test_hash_mismatch_leaves_nothing_behind(server, tmp_path) -> None:
    base, _ = server
    dest = tmp_path / "out" / "corpus.txt"
    wrong = "0" * 64
    with pytest.raises(DataError) as info:
        download(f"{base}/corpus.txt", dest, sha256=wrong, timeout=5)
    message = str(info.value)
    assert str(dest) in message and wrong in message
    assert hashlib.sha256(BODY).hexdigest() in message
    assert list(dest.parent.iterdir()) == []  # neither dest nor the temporary file


def test_existing_good_file_is_not_fetched_again(server, tmp_path) -> None:
    base, requests = server
    dest = tmp_path / "corpus.txt"
    digest = hashlib.sha256(BODY).hexdigest()
    download(f"{base}/corpus.txt", dest, sha256=digest, timeout=5)
    download(f"{base}/corpus.txt", dest, sha256=digest, timeout=5)
    download(f"{base}/corpus.txt", dest, timeout=5)  # no hash given: kept as is
    assert len(requests) == 1
    dest.write_bytes(b"corrupted")  # a stale copy with the wrong hash is replaced
    download(f"{base}/corpus.txt", dest, sha256=digest, timeout=5)
    assert len(requests) == 2 and dest.read_bytes() == BODY


def test_http_error_is_a_data_error(server, tmp_path) -> None:
    base, _ = server
    out = tmp_path / "out"
    with pytest.raises(DataError, match=r"could not fetch .*/missing\.txt.*404"):
        download(f"{base}/missing.txt", out / "missing.txt", timeout=5)
    assert list(out.iterdir()) == []


def test_rejects_non_http_urls_and_bad_hashes(tmp_path) -> None:
    with pytest.raises(ValueError, match="http:// or https://"):
        download("file:///etc/hostname", tmp_path / "x")
    with pytest.raises(ValueError, match="64 hex digits"):
        download("http://127.0.0.1:9/x", tmp_path / "x", sha256="abc")
