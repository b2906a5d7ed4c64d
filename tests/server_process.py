"""A real Prefect server on localhost for the tests (``prefect server start`` as a subprocess with
its own PREFECT_HOME, not Prefect's test harness), and waiting for and stopping such processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent
STARTUP_BOUND_SECONDS = 600  # a guard against hanging forever, not a performance limit


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(what: str, check: Callable[[], object], process: subprocess.Popen, log: Path) -> object:
    """Poll ``check`` until it returns something truthy; fail at once if ``process`` dies."""
    deadline = time.monotonic() + STARTUP_BOUND_SECONDS
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if process.poll() is not None:
            pytest.fail(f"{what}: the process exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        time.sleep(0.5)
    pytest.fail(f"{what}: still waiting after {STARTUP_BOUND_SECONDS} s:\n{log.read_text()[-4000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_prefect_server(root: Path) -> Iterator[dict]:
    """A Prefect server on a free loopback port, its home and log under ``root``, until the block
    ends: ``{"url": its API address, "env": an environment (no other PREFECT_ settings) that reports
    to it}``."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env |= {"PREFECT_HOME": str(root / "home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    log = root / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for("prefect server start", healthy, server, log)
        yield {"url": url, "env": env | {"PREFECT_API_URL": url}}
    finally:
        stop(server)
