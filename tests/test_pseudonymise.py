"""The staging SQL's pmf_pseudonym is HMAC-SHA256 (truncated to 32 hex characters), exactly as
Python's hmac module computes it, for keys shorter than, equal to and longer than SHA-256's
64-byte block."""

import hashlib
import hmac

import duckdb
import pytest

from pipelines import pseudonymise

VALUES = ["nhs:9434765919", "la:E06000001:C123", "police:P-7", "", "é£ ünïcode", "x" * 200]


@pytest.mark.parametrize("key", [b"k" * 32, b"0123456789abcdef" * 4, b"a much longer key " * 10], ids=["32", "64", "180"])
def test_sql_pseudonyms_are_hmac_sha256(key):
    con = duckdb.connect()
    pseudonymise.register(con, key)
    for value in VALUES:
        expected = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
        (got,) = con.execute("select pmf_pseudonym(?)", [value]).fetchone()
        assert got == expected, value
    assert con.execute("select pmf_pseudonym(null)").fetchone() == (None,)
    con.close()


def test_the_key_is_not_in_the_macro_text():
    key = b"s3cret-key-that-must-not-show-up!"
    con = duckdb.connect()
    pseudonymise.register(con, key)
    (definition,) = con.execute("select macro_definition from duckdb_functions() where function_name = 'pmf_pseudonym'").fetchone()
    padded = key.ljust(64, b"\0")
    for secret in (key.hex(), bytes(b ^ 0x36 for b in padded).hex(), bytes(b ^ 0x5C for b in padded).hex(), key.decode()):
        assert secret not in definition.lower()
    con.close()
