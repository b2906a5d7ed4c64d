"""Keyed hashes for identifiers (HMAC-SHA256), so records link without revealing who they are.

The key never lives in the repository: it comes from ``PMF_PSEUDONYM_KEY`` or from a key file
(``PMF_PSEUDONYM_KEY_FILE``, default ``~/.config/pmf/pseudonym.key``) created with mode 0600 on
first use and reused, so pseudonyms stay the same between refreshes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

DEFAULT_KEY_FILE = Path.home() / ".config" / "pmf" / "pseudonym.key"
MIN_KEY_LENGTH = 32


class KeyProblem(ValueError):
    """The key is unusable; the message says why without showing it."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message


def load_key() -> bytes:
    """The pseudonymisation key from the environment, else from (or into) the key file."""
    from_env = os.environ.get("PMF_PSEUDONYM_KEY")
    if from_env:
        if len(from_env) < MIN_KEY_LENGTH:
            raise KeyProblem("PMF_PSEUDONYM_KEY", f"{len(from_env)} characters; at least {MIN_KEY_LENGTH} are needed")
        return from_env.encode()
    path = Path(os.environ.get("PMF_PSEUDONYM_KEY_FILE", DEFAULT_KEY_FILE)).expanduser()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    key = path.read_text().strip()
    if len(key) < MIN_KEY_LENGTH:
        raise KeyProblem(str(path), f"the key file holds {len(key)} characters; at least {MIN_KEY_LENGTH} are needed")
    return key.encode()


def pseudonym(key: bytes, value: str | None) -> str | None:
    """A stable 32-hex-character pseudonym (128 bits of HMAC-SHA256); None stays None."""
    if value is None:
        return None
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def register(connection, key: bytes) -> None:
    """Make ``pmf_pseudonym(text)`` available to the staging SQL on a DuckDB connection."""

    known: dict[str, str] = {}  # people recur across files and quarters: each is hashed once a refresh

    def _vectorised(values: pa.Array) -> pa.Array:
        distinct = pc.unique(values)
        hashed = []
        for value in distinct.to_pylist():
            if value is None:
                hashed.append(None)
                continue
            found = known.get(value)
            if found is None:
                found = known[value] = pseudonym(key, value)
            hashed.append(found)
        return pc.take(pa.array(hashed, type=pa.string()), pc.index_in(values, value_set=distinct))

    connection.create_function("pmf_pseudonym", _vectorised, ["VARCHAR"], "VARCHAR", type="arrow", side_effects=False)
