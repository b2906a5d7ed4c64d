"""The indicator SQL models (sql/indicators/ind_*.sql) all return the same shape: one row per LA
and quarter of the spine, with the shared columns, and rates over the population.

Each indicator's own rules are tested beside this file, by source (test_indicator_sql_police.py,
_la.py, _health.py, and _linkage.py for the cross-agency RISKY_CHILDREN and int_linkage_keys):
raw rows built to hit the indicator's edges are loaded into an in-memory DuckDB built as the
refresh builds it (tests/sql_harness.py), every model is run, and the numerator and denominator
of every LA × quarter are compared with numbers worked out by hand in the comments
(indicators.md is the authority).
"""

from __future__ import annotations

import pytest
from sql_harness import DEFAULTS, HPL, MBRO, OUTPUT_COLUMNS, Q1, Q2, Dataset, indicator_rows

from pipelines.indicators import INDICATOR_SQL_COLUMNS, load_registry

REGISTRY = load_registry()


# ------------------------------------------------------------------------ every indicator


@pytest.fixture(scope="module")
def one_row_per_extract():
    """One default row of every extract in two LAs over two quarters, plus populations."""
    data = Dataset(periods=[Q1, Q2])
    data.population(HPL, 2018, persons_per_age=10)
    data.population(MBRO, 2018, persons_per_age=5)
    for la_code in (HPL, MBRO):
        for extract in DEFAULTS:
            if extract == "police_da_children":
                continue
            if extract == "police_da_incidents":
                incident = data.add(extract, la_code=la_code)
                data.add("police_da_children", incident_id=incident["incident_id"])
            else:
                data.add(extract, la_code=la_code)
    with data.build() as con:
        yield con


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_every_indicator_returns_one_row_per_la_and_quarter(one_row_per_extract, code):
    con = one_row_per_extract
    rows = indicator_rows(con, code)
    # The indicator's SQL returns the same columns as every other's; the spine, population and
    # history flag are added centrally (pipelines.indicators.indicator_counts).
    columns = [column[0] for column in con.execute(f"select * from ind_{code.lower()} limit 0").description]
    assert columns == INDICATOR_SQL_COLUMNS
    assert all(list(row) == OUTPUT_COLUMNS for row in rows)
    spine = con.execute("select la_code, period from int_la_quarters order by all").fetchall()
    assert sorted((row["la_code"], row["period"]) for row in rows) == spine
    assert len(spine) == 4  # 2 LAs × 2 quarters
    assert {row["indicator_code"] for row in rows} == {code}
    assert all(row["numerator"] is not None and row["numerator"] >= 0 for row in rows)
    if code not in ("LSCB11e", "LSCB19"):
        assert not any(row["history_incomplete"] for row in rows)


@pytest.mark.parametrize("code", sorted(code for code, ind in REGISTRY.items() if ind.unit == "per_10000"))
def test_rate_denominators_are_the_population(one_row_per_extract, code):
    # HPL 10 per age, MBRO 5 per age: 0-17 = 180 / 90; 10-17 = 80 / 40 (RISKY_CHILDREN).
    expected = {HPL: 80, MBRO: 40} if code == "RISKY_CHILDREN" else {HPL: 180, MBRO: 90}
    for row in indicator_rows(one_row_per_extract, code):
        assert row["denominator"] == expected[row["la_code"]]
