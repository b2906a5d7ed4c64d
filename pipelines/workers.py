"""Warm intake workers: a local Dask cluster that ``pmf server start`` starts beside the Prefect
server, so that refreshes do not pay for worker processes and their imports each time.

A refresh's read-and-validate tasks run on worker processes. Local processes (``--workers N``)
are new for every refresh: each spends ~5 s importing Great Expectations before it validates a
row, which is most of what a new quarter costs. Dask workers that stay up keep their imports
(and GX context) between refreshes. They are distributed's own ``dask scheduler`` and
``dask worker`` commands on the loopback address; pmf only starts them, records their address
in ``<PREFECT_HOME>/pmf-dask.json`` and stops them (``pmf server stop``).

A refresh uses them when no ``--workers`` or ``--dask-address`` is given and they answer. Workers
that imported an older pmf than the refresh's are restarted first (``Client.restart``), so a warm
worker never validates with stale code; any other Dask cluster with different pmf code is an
error the user must resolve (pmf does not restart someone else's cluster).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

STATE_FILE = "pmf-dask.json"
HOST = "127.0.0.1"


class WorkersError(RuntimeError):
    pass


def _home() -> Path:
    return Path(os.environ["PREFECT_HOME"])


def _dask() -> list[str]:
    executable = Path(sys.executable).with_name("dask")
    return [str(executable)] if executable.exists() else [sys.executable, "-m", "dask"]


def _answers(address: str, timeout: float = 1.0) -> bool:
    host, port = address.removeprefix("tcp://").rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def _state(home: Path | None = None) -> dict | None:
    try:
        return json.loads(((home or _home()) / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def package_fingerprint() -> str:
    """pmf's whole code (every module and data file of the package) and its libraries' versions:
    a warm cluster started with other code is restarted whole, scheduler included (Dask's
    scheduler unpickles the refresh's task functions too, so it must import the same pmf)."""
    import hashlib
    import importlib.metadata

    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".toml") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    for library in ("distributed", "dask", "prefect", "prefect-dask", "great_expectations", "pandas", "pyarrow"):
        digest.update(f"{library} {importlib.metadata.version(library)}\n".encode())
    return digest.hexdigest()


def up_to_date_address(progress=print) -> str | None:
    """The warm workers' address, once they run the code of this checkout: a cluster started with
    other code (an update, an edit) is stopped and started again, the same size. None when pmf's
    warm workers are not running."""
    state = _state()
    if not state or not _answers(state["address"]):
        return None
    if state.get("code") == package_fingerprint():
        return state["address"]
    progress("  pmf's code changed since the warm Dask workers started: restarting them (once)")
    stop_workers()
    return start_workers(int(state.get("workers", cores())), os.environ.get("PREFECT_API_URL"))


def running_address(home: Path | None = None) -> str | None:
    """The scheduler address of the warm workers ``pmf server start`` started, if it answers."""
    state = _state(home)
    return state["address"] if state and _answers(state["address"]) else None


def cores() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def worker_count(home: Path | None = None) -> int:
    state = _state(home)
    return int(state["workers"]) if state else 0


def process_ids(home: Path | None = None) -> list[int]:
    """The scheduler's and the workers' parent (nanny) process ids, for the benchmarks' memory."""
    state = _state(home)
    return list(state["pids"]) if state else []


def start_workers(count: int, api_url: str | None, timeout: float = 120.0) -> str:
    """Start (or find) the warm workers: ``count`` single-threaded worker processes, reporting
    their task runs to the Prefect API at ``api_url`` (None: whatever their environment says)."""
    home = _home()
    address = running_address(home)
    if address and (_state(home) or {}).get("code") == package_fingerprint():
        return address
    stop_workers()  # whatever is left of workers that died, or that run other code
    scheduler_file = home / "pmf-dask-scheduler.json"
    scheduler_file.unlink(missing_ok=True)
    env = {**os.environ, **({"PREFECT_API_URL": api_url} if api_url else {})}  # where workers report task runs
    log = open(home / "pmf-dask.log", "ab")  # noqa: SIM115 (the processes keep it open)
    common = dict(env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    scheduler = subprocess.Popen(
        [*_dask(), "scheduler", "--host", HOST, "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
        **common,
    )
    deadline = time.monotonic() + timeout
    while not scheduler_file.exists():
        if scheduler.poll() is not None or time.monotonic() > deadline:
            raise WorkersError(f"the Dask scheduler did not start (see {home / 'pmf-dask.log'})")
        time.sleep(0.2)
    address = json.loads(scheduler_file.read_text(encoding="utf-8"))["address"]
    nanny = subprocess.Popen(
        [*_dask(), "worker", address, "--nworkers", str(count), "--nthreads", "1", "--no-dashboard",
         "--host", HOST, "--preload", "pipelines.workers", "--name", "pmf"],
        **common,
    )
    state = {"address": address, "pids": [scheduler.pid, nanny.pid], "workers": count, "code": package_fingerprint()}
    (home / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
    from distributed import Client

    with Client(address, timeout=timeout) as client:
        client.wait_for_workers(count, timeout=timeout)
    return address


def stop_workers() -> str:
    """Stop the warm workers (their scheduler, the workers' nanny and the workers)."""
    home = _home()
    state = _state(home)
    (home / STATE_FILE).unlink(missing_ok=True)
    if not state:
        return "no pmf Dask workers were running"
    for pid in state.get("pids", []):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)  # each was started in a session (and group) of its own
    return f"stopped the Dask workers at {state['address']}"


# --------------------------------------------------------------------------- on the workers

def dask_setup(worker: object) -> None:
    """Dask preload (``dask worker --preload pipelines.workers``): import and set up what every
    validation needs once, when the worker starts (GX's import and context: ~5 s)."""
    import gc

    from pipelines import intake  # noqa: F401 (records the code it was imported with)
    from pipelines.validate import _validator

    _validator()
    # What is here now lives as long as the worker: out of the collector's way (its full passes
    # over GX's and pandas' objects made a worker's validation ~10% slower, and slower with age).
    gc.freeze()


def ensure_current(address: str, *, may_restart: bool) -> None:
    """Check that every worker at ``address`` imported the intake code on disk now; restart
    them (``may_restart``: pmf's own workers) or refuse (anyone else's cluster) when not."""
    from distributed import Client

    from pipelines.keptstate import code_fingerprint

    wanted = code_fingerprint()
    with Client(address, timeout=30) as client:
        loaded = client.run(_loaded_or_import_time)
        if all(code == wanted for code in loaded.values()):
            return
        if not may_restart:
            raise WorkersError(
                f"the Dask workers at {address} run a different version of pmf's intake code than this refresh: "
                "restart them from this checkout"
            )
        count = len(loaded)
        client.restart(wait_for_workers=False)
        client.wait_for_workers(count, timeout=120)


def _loaded_or_import_time() -> str:
    """On a worker: the intake code it imported (importing it now, if it has not yet)."""
    from pipelines import intake

    return intake.IMPORTED_CODE
