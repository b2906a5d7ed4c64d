"""Which Prefect API a refresh reports to, decided before Prefect is imported.

Prefect records every flow run with an API server. Starting a temporary local one (what Prefect
does when it has none) costs 10-17 s of every refresh: more than the rest of a rerun. So, in
order of preference:

1. ``PREFECT_API_URL``, when the user has set it (their own server, or Prefect Cloud);
2. the background server that ``pmf server start`` started for this project (its address is kept
   in ``<PREFECT_HOME>/pmf-server.json``), when it answers;
3. otherwise Prefect's temporary local server, as before (slower, but needs nothing running).

``pmf server start`` runs Prefect's own ``prefect server start --background`` on the loopback
address, and ``pmf server stop`` its ``prefect server stop``: pmf does not manage the process
itself.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

STATE_FILE = "pmf-server.json"
HOST = "127.0.0.1"
PREFERRED_PORT = 4200


class ServerError(RuntimeError):
    pass


def prefect_home() -> Path:
    return Path(os.environ["PREFECT_HOME"])


def is_healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def background_server_url(home: Path | None = None) -> str | None:
    """The address of the server ``pmf server start`` started, if it is answering."""
    path = (home or prefect_home()) / STATE_FILE
    try:
        url = json.loads(path.read_text(encoding="utf-8"))["api_url"]
    except (OSError, ValueError, KeyError):
        return None
    return url if is_healthy(url) else None


def choose_api() -> str:
    """Point Prefect at the fastest API available (see module docstring); says which."""
    if os.environ.get("PREFECT_API_URL"):
        return f"Prefect server at {os.environ['PREFECT_API_URL']}"
    url = background_server_url()
    if url:
        os.environ["PREFECT_API_URL"] = url
        return f"Prefect server at {url} (pmf server start)"
    return "a temporary local Prefect server (start one with `pmf server start` to save ~15 s a refresh)"


def _free_port() -> int:
    with socket.socket() as probe:
        if probe.connect_ex((HOST, PREFERRED_PORT)) != 0:
            return PREFERRED_PORT
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _prefect(*args: str) -> subprocess.CompletedProcess:
    executable = Path(sys.executable).with_name("prefect")
    command = [str(executable)] if executable.exists() else [sys.executable, "-m", "prefect"]
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=120)


def start_background_server(timeout: float = 120.0) -> str:
    """Start (or find) this project's background Prefect server; returns its API address."""
    home = prefect_home()
    url = background_server_url(home)
    if url:
        return url
    _prefect("server", "stop")  # a stale pid file from a server that died would block the start
    port = _free_port()
    url = f"http://{HOST}:{port}/api"
    started = _prefect("server", "start", "--background", "--host", HOST, "--port", str(port))
    if started.returncode != 0:
        raise ServerError(f"`prefect server start` failed: {(started.stderr or started.stdout).strip()[-500:]}")
    deadline = time.monotonic() + timeout
    while not is_healthy(url):
        if time.monotonic() > deadline:
            raise ServerError(f"the Prefect server did not answer at {url} within {timeout:.0f} s")
        time.sleep(0.5)
    (home / STATE_FILE).write_text(json.dumps({"api_url": url}), encoding="utf-8")
    return url


def stop_background_server() -> str:
    home = prefect_home()
    stopped = _prefect("server", "stop")
    (home / STATE_FILE).unlink(missing_ok=True)
    return (stopped.stdout or stopped.stderr).strip() or "stopped"
