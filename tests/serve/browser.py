"""A running ``rnnkit serve`` and a headless Debian chromium driven by selenium.

Used by the browser test and by ``docs/playground_screenshots.py``. The server listens on a free
loopback port and is stopped (SIGTERM, then SIGKILL) when the block ends; chromium runs from
``/usr/bin/chromium`` with ``/usr/bin/chromedriver`` and a fresh profile, and selenium-manager
is told to stay offline (``SE_OFFLINE=true``): nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]  # fmt: skip
ROOT = Path(__file__).resolve().parents[2]  # the repository: the server imports this rnnkit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(model_dirs: Sequence[Path], log: Path, limit: float = 120.0) -> Iterator[str]:
    """``rnnkit serve`` on the model directories; yields its base URL once ``/health`` answers.
    The server is stopped when the block ends, or after ``limit`` seconds at the latest."""
    port = free_port()
    argv = [sys.executable, "-m", "rnnkit.cli.main", "serve", *map(str, model_dirs),
            "--port", str(port), "--log-level", "warning", "--timeout", "30"]  # fmt: skip
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"rnnkit serve exited with {proc.returncode}: {log.read_text()}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            if time.monotonic() > deadline:
                raise RuntimeError(f"rnnkit serve did not answer within 60 s: {log.read_text()}")
            time.sleep(0.2)
        watchdog = threading.Timer(limit, proc.terminate)  # a bounded lifetime, whatever happens
        watchdog.daemon = True
        watchdog.start()
        try:
            yield url
        finally:
            watchdog.cancel()
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def browser_missing() -> str | None:
    """Why the browser cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    return None


@contextlib.contextmanager
def chromium(profile: Path, width: int = 1400, height: int = 1000) -> Iterator:
    """A headless chromium (selenium WebDriver) with a fresh profile and the console log kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ARGS:
        options.add_argument(arg)
    options.add_argument(f"--window-size={width},{height}")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()
