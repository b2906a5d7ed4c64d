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


DEFAULT_KEY_FILE = Path.home() / ".config" / "pmf" / "pseudonym.key"
MIN_KEY_LENGTH = 32
PSEUDONYM_HEX_CHARACTERS = 32
_BLOCK_BYTES = 64  # SHA-256's block size (RFC 2104's B)


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
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX_CHARACTERS]


def register(connection, key: bytes) -> None:
    """Make ``pmf_pseudonym(text)``, and the keys built on it (``KEY_MACROS``: ``pmf_nhs_key``
    and the rest), available to the staging SQL on a DuckDB connection.

    The same HMAC-SHA256 as ``pseudonym``, written with DuckDB's own ``sha256`` (RFC 2104:
    H((K xor opad) || H((K xor ipad) || message)), K padded to the 64-byte block) so that it runs
    vectorised on DuckDB's threads rather than once a value in Python (~30% of staging time).
    The two padded keys are session variables of this connection: never in the SQL text, a
    table or a log.
    """
    block = hashlib.sha256(key).digest() if len(key) > _BLOCK_BYTES else key
    block = block.ljust(_BLOCK_BYTES, b"\0")
    connection.execute("set variable pmf_hmac_inner = from_hex(?)", [bytes(b ^ 0x36 for b in block).hex()])
    connection.execute("set variable pmf_hmac_outer = from_hex(?)", [bytes(b ^ 0x5C for b in block).hex()])
    connection.execute(
        "create or replace temp macro pmf_pseudonym(value) as left(sha256("
        "getvariable('pmf_hmac_outer') || from_hex(sha256(getvariable('pmf_hmac_inner') || encode(value)))"
        f"), {PSEUDONYM_HEX_CHARACTERS})"
    )
    for name, (parameters, namespaced) in KEY_MACROS.items():
        connection.execute(f"create or replace temp macro {name}({parameters}) as pmf_pseudonym({namespaced})")


# The staging SQL's keys, one namespace per kind of identifier: an NHS number links across
# agencies; a person id of one agency (an LA's child id: of one LA) matches only that agency's.
KEY_MACROS = {
    "pmf_nhs_key": ("nhs_number", "'nhs:' || nhs_number"),
    "pmf_la_child_key": ("la_code, child_id", "'la:' || la_code || ':' || child_id"),
    "pmf_police_key": ("person_id", "'police:' || person_id"),
    "pmf_health_key": ("client_id", "'health:' || client_id"),
}
