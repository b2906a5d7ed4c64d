"""A small in-memory DuckDB built exactly as the refresh builds it, for testing the SQL models.

A test states the raw rows that matter (everything else takes a per-extract default), the period
folders received and the population; ``Dataset.build()`` loads them into the ``raw_<extract>``
tables (as the validated, normalised text intake writes: dates ``YYYY-MM-DD``, datetimes
``YYYY-MM-DD HH:MM:SS``, codes upper-case), runs the macros and every SQL model, and returns the
connection. ``indicator_counts`` reads one indicator's rows back keyed by (la_code, period).

    data = Dataset(periods=["2018-19 Q1"])
    data.population(HARTLEPOOL, 2018, persons_per_age=10)
    data.add("police_da_incidents", incident_id="I1", reported_at="2018-04-01 00:00:00")
    with data.build() as con:
        counts = indicator_counts(con, "MARAC")
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

import duckdb

from extract_rows import CONTRACT, DEFAULTS, NHS_A  # tests/ is on sys.path under pytest
from pipelines import indicators, intake, models, pseudonymise
from pipelines.indicators import INDICATOR_VALUE_COLUMNS
from pipelines.config import TEES_LAS
from pipelines.periods import Quarter

HARTLEPOOL, MIDDLESBROUGH, REDCAR, STOCKTON = TEES_LAS

# Valid (modulus-11) NHS numbers, with NHS_A; staging assumes intake already nulled invalid ones.
NHS_B = "9434765927"
NHS_C = "9434765935"
NHS_D = "9434765943"
NHS_E = "9434765951"
NHS_F = "9434765978"
NHS_G = "9434765986"

# Marts read tables the refresh writes from Python (indicator_values, ref_work_plan): not built here.
MODEL_LAYERS = ("staging", "intermediate", "indicators")

OUTPUT_COLUMNS = ["indicator_code", "la_code", "period", "numerator", "denominator", "history_incomplete"]

# What the indicator tests (tests/test_indicator_sql*.py) call the LAs and quarters: 2018-19 Q1 =
# 2018-04-01..2018-06-30, Q2 = 07-01..09-30, Q3 = 10-01..12-31, Q4 = 2019-01-01..2019-03-31;
# 2019-20 Q1 = 2019-04-01..06-30.
HPL, MBRO, RCL = HARTLEPOOL, MIDDLESBROUGH, REDCAR
Q1, Q2, Q3, Q4 = "2018-19 Q1", "2018-19 Q2", "2018-19 Q3", "2018-19 Q4"
NEXT_Q1 = "2019-20 Q1"

class Counts(NamedTuple):
    numerator: int | None
    denominator: int | None


@dataclass
class Dataset:
    """Raw rows, period folders and population for one test database."""

    periods: list[str]
    rows: dict[str, list[dict[str, str | None]]] = field(default_factory=dict)
    population_rows: list[tuple[str, int, int, int]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.quarters = sorted(Quarter.parse(period) for period in self.periods)

    def add(self, extract: str, *, period: str | None = None, **columns: str | None) -> dict[str, str | None]:
        """One raw row: the extract's defaults overridden by ``columns``.

        ``period`` is the folder the row was submitted in (default: the folder of the row's
        latest date, as a record is re-sent until its last event is known; a date before the
        first folder goes in the first folder, one after the last in the last).
        """
        contract = CONTRACT[extract]
        unknown = set(columns) - set(contract.column_names)
        if unknown:
            raise ValueError(f"{extract} has no column(s) {sorted(unknown)}")
        row = {**DEFAULTS[extract], **columns}
        key = contract.key[0] if len(contract.key) == 1 else None  # a single-column key left out: a fresh one
        if key and row[key] is None:
            row[key] = f"{key.split('_')[0].upper()}{next(self._ids)}"
        if contract.parent and row[contract.parent.on] is None:
            raise ValueError(f"{extract} rows need the {contract.parent.on} of their {contract.parent.extract} row")
        row["_period"] = Quarter.parse(period).folder_id if period else self._default_folder(extract, row)
        self.rows.setdefault(extract, []).append(row)
        return row

    def population(self, la_code: str, year: int, *, persons_per_age: int) -> None:
        """The same number of persons at every age 0-24: 18 × it aged 0-17, 8 × it aged 10-17."""
        self.population_rows.extend((la_code, year, age, persons_per_age) for age in range(25))

    def build(self) -> duckdb.DuckDBPyConnection:
        """The database with every model built; the caller closes it (``with data.build() as con``)."""
        con = duckdb.connect()
        try:
            pseudonymise.register(con, b"k" * 32)
            intake.create_raw_tables(con, schema="main")
            con.execute("create table period_folders (period varchar, period_start date, period_end date)")
            con.executemany(
                "insert into period_folders values (?, ?, ?)",
                [(quarter.label, quarter.start_date, quarter.end_date) for quarter in self.quarters],
            )
            con.execute("create table ref_population (la_code varchar, year integer, age integer, persons integer)")
            if self.population_rows:
                con.executemany("insert into ref_population values (?, ?, ?, ?)", self.population_rows)
            for extract, rows in self.rows.items():
                columns = ["_period", "_period_start", "_file_name", "_row_number", *CONTRACT[extract].column_names]
                values = [
                    (
                        row["_period"],
                        Quarter.parse(row["_period"]).start_date,
                        f"{extract}.csv",
                        row_number,
                        *(row[name] for name in CONTRACT[extract].column_names),
                    )
                    for row_number, row in enumerate(rows, start=2)
                ]
                placeholders = ", ".join("?" for _ in columns)
                con.executemany(f"insert into raw_{extract} ({', '.join(columns)}) values ({placeholders})", values)
            models.run_macros(con)
            models.run_models(con, models.discover_models(layers=MODEL_LAYERS), published_schema="main", work_schema="main")
        except BaseException:
            con.close()
            raise
        return con

    def _default_folder(self, extract: str, row: dict[str, str | None]) -> str:
        dates = [
            date.fromisoformat(row[column.name][:10])
            for column in CONTRACT[extract].columns
            if column.type in ("date", "datetime") and column.name != "dob" and row[column.name]
        ]
        if not dates and extract == "police_da_children":
            incident = next(
                (
                    other
                    for other in self.rows.get("police_da_incidents", [])
                    if other["incident_id"] == row["incident_id"]
                ),
                None,
            )
            if incident:
                return incident["_period"]
        if not dates:
            return self.quarters[-1].folder_id
        latest = Quarter.containing(max(dates))
        later_or_same = [quarter for quarter in self.quarters if quarter >= latest]
        return (later_or_same[0] if later_or_same else self.quarters[-1]).folder_id


def create_indicator_values(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    """``indicator_values`` as the refresh writes it from Python (typed as its table), holding ``rows``
    (dicts by column name): for the tests of the mart models that read it."""
    con.execute(
        "create table indicator_values (indicator_code varchar, la_code varchar, period varchar, "
        "period_start date, period_end date, numerator bigint, denominator bigint, value double, "
        "ci_lower double, ci_upper double, ci_method varchar, unit varchar, polarity varchar, "
        "status_reason varchar, history_incomplete boolean)"
    )
    if rows:
        con.executemany(
            f"insert into indicator_values values ({', '.join('?' * len(INDICATOR_VALUE_COLUMNS))})",
            [[row[column] for column in INDICATOR_VALUE_COLUMNS] for row in rows],
        )


def indicator_rows(con: duckdb.DuckDBPyConnection, code: str) -> list[dict]:
    """The indicator's rows for every LA × quarter, as the refresh places its SQL's counts on the
    spine (``pipelines.indicators.indicator_counts``); missing values are None."""
    frame = indicators.indicator_counts(con, registry={code: indicators.load_registry()[code]}, schema="main")
    frame = frame[OUTPUT_COLUMNS].astype(object)
    frame = frame.where(frame.notna(), None).sort_values(["la_code", "period"])
    return [dict(zip(OUTPUT_COLUMNS, values, strict=True)) for values in frame.itertuples(index=False)]


def indicator_counts(con: duckdb.DuckDBPyConnection, code: str) -> dict[tuple[str, str], Counts]:
    """{(la_code, period): (numerator, denominator)} for every row of the indicator."""
    return {
        (row["la_code"], row["period"]): Counts(row["numerator"], row["denominator"])
        for row in indicator_rows(con, code)
    }


def assert_counts(con: duckdb.DuckDBPyConnection, code: str,
                  expected: dict[tuple[str, str], tuple[int, int | None]]) -> None:
    """Every LA × quarter row of the indicator, as (numerator, denominator)."""
    actual = {key: tuple(value) for key, value in indicator_counts(con, code).items()}
    assert actual == expected


def history_flags(con: duckdb.DuckDBPyConnection, code: str) -> dict[tuple[str, str], bool]:
    return {(row["la_code"], row["period"]): row["history_incomplete"] for row in indicator_rows(con, code)}
