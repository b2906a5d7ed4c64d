"""The comparison mart (sql/marts/indicator_comparison.sql): one row per indicator × LA × quarter
for the board LA and the comparator LAs of the settings, each compared with the board LA. Long,
so any set of LAs works: no column is named after an LA (outputs.md v2).

The tables it reads (indicator_values, indicator_definitions, run_settings, comparator_las) are
written straight into an in-memory DuckDB; expectations are worked out by hand in the comments.
Significance is the work-plan rule: the 95% intervals do not overlap, and intervals that touch
overlap.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from pipelines import models
from pipelines.config import TEES_LAS
from pipelines.indicators import Indicator, definitions_frame
from query_rows import query_rows
from sql_harness import create_indicator_values

HPL, MBRO, RCL, STOCK = TEES_LAS
OTHER_LA = "E06000099"  # not a Tees LA: only in the mart when the settings name it
Q1, Q2 = "2018-19 Q1", "2018-19 Q2"
DATES = {Q1: (date(2018, 4, 1), date(2018, 6, 30)), Q2: (date(2018, 7, 1), date(2018, 9, 30))}
MODEL = next(model for model in models.discover_models(layers=("marts",)) if model.name == "indicator_comparison")

TEES = (HPL, MBRO, RCL, STOCK)
NAMES = {**TEES_LAS, OTHER_LA: "Elsewhere"}

# (indicator, la_code, period) -> (value, ci_lower, ci_upper); absent = not received (null value).
VALUES = {
    # Q1, MISSED (lower is better). Board (Hartlepool) 50 [45, 55].
    ("MISSED", HPL, Q1): (50.0, 45.0, 55.0),
    ("MISSED", MBRO, Q1): (30.0, 25.0, 35.0),  # 35 < 45: significantly lower
    ("MISSED", RCL, Q1): (60.0, 55.0, 65.0),  # 55 touches 55: not significantly different
    ("MISSED", STOCK, Q1): (70.0, 55.01, 80.0),  # 55.01 > 55: significantly higher
    ("MISSED", OTHER_LA, Q1): (99.0, 98.0, 100.0),
    # Q2: Hartlepool not received, so nothing is compared; Middlesbrough's value still shown.
    ("MISSED", MBRO, Q2): (31.0, 26.0, 36.0),
    # RHI (higher is better), Q1: Middlesbrough not received.
    ("RHI", HPL, Q1): (60.0, 50.0, 70.0),
    ("RHI", RCL, Q1): (40.0, 30.0, 49.99),  # 49.99 < 50: significantly lower
    ("RHI", STOCK, Q1): (65.0, 58.0, 72.0),  # overlap
    # RHI, Q2: everything overlaps Hartlepool's 60 [50, 70].
    ("RHI", HPL, Q2): (60.0, 50.0, 70.0),
    ("RHI", MBRO, Q2): (45.0, 40.0, 50.0),  # touches 50 from below
    ("RHI", RCL, Q2): (75.0, 70.0, 80.0),  # touches 70 from above
    ("RHI", STOCK, Q2): (60.0, 50.0, 70.0),  # the same interval
}
# Two made-up indicators; their indicator_definitions rows are what production writes for them.
INDICATORS = {
    "MISSED": Indicator(code="MISSED", title="Children missing often", unit="percent", polarity="lower",
                        sources=("police_missing_reports",), evidences=("2.1.9",), definition="n / d"),
    "RHI": Indicator(code="RHI", title="Return interviews", unit="percent", polarity="higher",
                     sources=("la_missing_episodes",), evidences=("2.2.3",), definition="n / d"),
}


def build(board_la_code: str = HPL, comparator_la_codes: tuple[str, ...] = TEES) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    try:
        rows = []
        for code, unit, polarity in ((i.code, i.unit, i.polarity) for i in INDICATORS.values()):
            for la_code in (HPL, MBRO, RCL, STOCK, OTHER_LA):
                for period, (start, end) in DATES.items():
                    point = VALUES.get((code, la_code, period))
                    value, lower, upper = point or (None, None, None)
                    rows.append(dict(
                        indicator_code=code, la_code=la_code, period=period, period_start=start, period_end=end,
                        numerator=10 if point else None, denominator=20 if point else None,
                        value=value, ci_lower=lower, ci_upper=upper, ci_method="wilson" if point else None,
                        unit=unit, polarity=polarity, status_reason=None if point else "not received: x",
                        history_incomplete=False,
                    ))
        create_indicator_values(con, rows)
        con.register("definitions", definitions_frame(INDICATORS))
        con.execute("create table indicator_definitions as select * from definitions")
        con.unregister("definitions")
        con.execute("create table run_settings (board_la_code varchar, default_baseline_period varchar)")
        con.execute("insert into run_settings values (?, '2017-18 Q2')", [board_la_code])
        # As the refresh writes it: the board LA, then the comparator LAs of the settings.
        con.execute("create table comparator_las (la_code varchar, la_name varchar)")
        areas = list(dict.fromkeys([board_la_code, *comparator_la_codes]))
        con.executemany("insert into comparator_las values (?, ?)", [(code, NAMES[code]) for code in areas])
        models.run_macros(con)  # as the refresh runs them first: vs_board is pmf_significance
        models.run_model(con, MODEL, published_schema="main", work_schema="main")
    except BaseException:
        con.close()
        raise
    return con


def comparison_rows(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], dict]:
    rows = query_rows(con, "select * from indicator_comparison")
    keyed = {(row["indicator_code"], row["la_code"], row["period"]): row for row in rows}
    assert len(keyed) == len(rows), "one row per indicator × LA × period"
    return keyed


def compared(board_la_code: str = HPL, comparator_la_codes: tuple[str, ...] = TEES) -> dict[tuple[str, str, str], dict]:
    with build(board_la_code, comparator_la_codes) as con:
        return comparison_rows(con)


def by_la(rows: dict, code: str, period: str, column: str) -> dict[str, object]:
    return {la: row[column] for (ind, la, quarter), row in rows.items() if (ind, quarter) == (code, period)}


@pytest.fixture(scope="module")
def hartlepool_board():
    return compared(HPL)


def test_the_table_is_long_no_column_is_named_after_an_la():
    with build() as con:
        columns = [column[0] for column in con.execute("select * from indicator_comparison limit 0").description]
        assert columns == [
            "indicator_code", "title", "unit", "unit_label", "polarity", "la_code", "la_name",
            "period", "period_start", "period_end", "board_la_code", "value", "ci_lower", "ci_upper",
            "board_value", "vs_board",
        ]


def test_one_row_per_indicator_la_and_quarter_of_the_comparator_las(hartlepool_board):
    assert sorted(hartlepool_board) == sorted(
        (code, la, period) for code in ("MISSED", "RHI") for la in TEES for period in (Q1, Q2)
    )
    assert hartlepool_board[("RHI", RCL, Q1)]["la_name"] == "Redcar and Cleveland"


def test_definitions_and_dates_are_carried(hartlepool_board):
    row = hartlepool_board[("RHI", MBRO, Q2)]
    assert (row["title"], row["unit"], row["unit_label"], row["polarity"]) == ("Return interviews", "percent", "%", "higher")
    assert (row["period_start"], row["period_end"], row["board_la_code"]) == (date(2018, 7, 1), date(2018, 9, 30), HPL)
    assert row["board_value"] == 60.0


def test_values_and_intervals_per_la(hartlepool_board):
    assert by_la(hartlepool_board, "MISSED", Q1, "value") == {HPL: 50.0, MBRO: 30.0, RCL: 60.0, STOCK: 70.0}
    assert by_la(hartlepool_board, "MISSED", Q1, "ci_lower") == {HPL: 45.0, MBRO: 25.0, RCL: 55.0, STOCK: 55.01}
    assert by_la(hartlepool_board, "MISSED", Q1, "ci_upper") == {HPL: 55.0, MBRO: 35.0, RCL: 65.0, STOCK: 80.0}
    # Not received: null, not zero.
    assert by_la(hartlepool_board, "RHI", Q1, "value") == {HPL: 60.0, MBRO: None, RCL: 40.0, STOCK: 65.0}


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (("MISSED", Q1), {
            HPL: None,  # the board LA is not compared with itself
            MBRO: "significantly lower",
            RCL: "not significantly different",  # touching
            STOCK: "significantly higher",
        }),
        # Board value missing: nothing to compare with.
        (("MISSED", Q2), {HPL: None, MBRO: None, RCL: None, STOCK: None}),
        # Middlesbrough missing: null; Redcar's 49.99 < 50: lower.
        (("RHI", Q1), {HPL: None, MBRO: None, RCL: "significantly lower", STOCK: "not significantly different"}),
        # Touching from either side, and identical intervals, all overlap.
        (("RHI", Q2), {
            HPL: None,
            MBRO: "not significantly different",
            RCL: "not significantly different",
            STOCK: "not significantly different",
        }),
    ],
)
def test_each_la_is_compared_with_the_board_la(hartlepool_board, key, expected):
    assert by_la(hartlepool_board, *key, "vs_board") == expected


def test_the_board_la_comes_from_the_settings():
    rows = compared(MBRO)
    # Middlesbrough 30 [25, 35] against: Hartlepool 50 [45, 55] higher; Redcar [55, 65] higher;
    # Stockton [55.01, 80] higher.
    assert {row["board_la_code"] for row in rows.values()} == {MBRO}
    assert by_la(rows, "MISSED", Q1, "vs_board") == {
        HPL: "significantly higher", MBRO: None, RCL: "significantly higher", STOCK: "significantly higher",
    }
    # Q2: Middlesbrough 31 [26, 36]; nobody else has a value.
    assert by_la(rows, "MISSED", Q2, "vs_board") == {HPL: None, MBRO: None, RCL: None, STOCK: None}


def test_the_comparator_las_come_from_the_settings():
    # Two comparators, one of them outside Tees; the board LA is always there.
    rows = compared(HPL, comparator_la_codes=(STOCK, OTHER_LA))
    # Elsewhere 99 [98, 100] against Hartlepool 50 [45, 55]: higher.
    assert by_la(rows, "MISSED", Q1, "vs_board") == {HPL: None, STOCK: "significantly higher", OTHER_LA: "significantly higher"}
    assert by_la(rows, "MISSED", Q1, "la_name") == {HPL: "Hartlepool", STOCK: "Stockton-on-Tees", OTHER_LA: "Elsewhere"}


def test_every_column_is_documented():
    with build() as con:
        undocumented = models.apply_comments(con, "memory.main", models.load_column_docs(), {})
        assert [name for name in undocumented if name.startswith("indicator_comparison.")] == []
        (table,) = query_rows(con, "select comment from duckdb_tables() where table_name = 'indicator_comparison'")
        comment = table["comment"]
        assert comment.startswith("one row per indicator × la_code × period")
