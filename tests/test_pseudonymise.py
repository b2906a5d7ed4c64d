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


def test_each_kind_of_identifier_has_its_own_namespace():
    """An NHS number links across agencies; an agency's own person id (an LA's child id: of one LA)
    only within it, so the same text from two agencies gives two different keys."""
    key = b"k" * 32
    con = duckdb.connect()
    pseudonymise.register(con, key)

    def expected(text):
        return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    calls = {
        "pmf_nhs_key('9434765919')": "nhs:9434765919",
        "pmf_la_child_key('E06000001', 'C123')": "la:E06000001:C123",
        "pmf_police_key('C123')": "police:C123",
        "pmf_health_key('C123')": "health:C123",
    }
    for call, text in calls.items():
        assert con.execute(f"select {call}").fetchone() == (expected(text),), call
    assert con.execute("select pmf_nhs_key(null), pmf_la_child_key('E06000001', null)").fetchone() == (None, None)
    con.close()
