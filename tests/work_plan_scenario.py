"""Scenarios for the work-plan status mart (sql/marts/work_plan_status.sql), for
tests/test_work_plan_status*.py: a ``Scenario`` writes the tables the model reads straight into an
in-memory DuckDB (indicator_values, int_quarters, ref_work_plan, ref_plan_line_updates,
run_settings, spc_readings, indicator_benchmark), runs the model as the refresh does, and returns
its rows keyed by plan line × indicator × LA × quarter. Intervals are given, not computed, so that
overlap is exact.

Quarters (all in the spine): 2017-18 Q1 .. 2018-19 Q4. Default baseline 2017-18 Q2.
"Not received" means the row exists (every indicator × LA × quarter has one) with a null value.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date

import duckdb

from pipelines import models
from pipelines.config import TEES_LAS
from pipelines.indicators import INDICATOR_VALUE_COLUMNS
from query_rows import query_rows
from repo_paths import REFERENCE_DIR
from sql_harness import create_indicator_values

HPL, MBRO, _, _ = TEES_LAS

# (period, period_start, period_end), written out by hand.
QUARTERS = [
    ("2017-18 Q1", date(2017, 4, 1), date(2017, 6, 30)),
    ("2017-18 Q2", date(2017, 7, 1), date(2017, 9, 30)),
    ("2017-18 Q3", date(2017, 10, 1), date(2017, 12, 31)),
    ("2017-18 Q4", date(2018, 1, 1), date(2018, 3, 31)),
    ("2018-19 Q1", date(2018, 4, 1), date(2018, 6, 30)),
    ("2018-19 Q2", date(2018, 7, 1), date(2018, 9, 30)),
    ("2018-19 Q3", date(2018, 10, 1), date(2018, 12, 31)),
    ("2018-19 Q4", date(2019, 1, 1), date(2019, 3, 31)),
]
BASELINE = "2017-18 Q2"


def _csv_header(name: str) -> list[str]:
    with open(REFERENCE_DIR / name, encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


WORK_PLAN_COLUMNS = _csv_header("work_plan.csv")
UPDATE_COLUMNS = _csv_header("plan_line_updates.csv")
STATUS_MODEL = next(model for model in models.discover_models(layers=("marts",)) if model.name == "work_plan_status")


@dataclass
class Scenario:
    """Indicator series, plan lines and lead updates for one test database."""

    values: dict[tuple[str, str, str], dict] = field(default_factory=dict)
    polarities: dict[str, str] = field(default_factory=dict)
    lines: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    las: set[str] = field(default_factory=lambda: {HPL})
    default_baseline_period: str = BASELINE
    # (code, la_code, pack_period, period) -> variation: the SPC readings the refresh computes.
    spc: dict[tuple[str, str, str, str], str] = field(default_factory=dict)
    # (code, la_code, period) -> comparison with the Tees figure.
    tees: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def series(
        self,
        code: str,
        points: dict[str, tuple[float, float, float]],
        *,
        polarity: str = "lower",
        la_code: str = HPL,
        history_incomplete: tuple[str, ...] = (),
    ) -> None:
        """Values (value, ci_lower, ci_upper) by period; every other quarter is 'not received'."""
        self.polarities[code] = polarity
        self.las.add(la_code)
        for period, (value, lower, upper) in points.items():
            self.values[(code, la_code, period)] = {
                "value": value,
                "ci_lower": lower,
                "ci_upper": upper,
                "history_incomplete": period in history_incomplete,
            }
        for period in history_incomplete:  # flagged quarters with no value given still carry the flag
            self.values.setdefault(
                (code, la_code, period),
                {"value": None, "ci_lower": None, "ci_upper": None, "history_incomplete": True},
            )

    def line(
        self,
        line_id: str,
        indicator_codes: str | None,
        *,
        due_date: str | None = None,
        due_kind: str | None = None,
        baseline_period: str | None = BASELINE,
    ) -> None:
        row = dict.fromkeys(WORK_PLAN_COLUMNS)
        row.update(
            line_id=line_id,
            plan="work_plan",
            section="Priority 1: Addressing the impact of Neglect",
            objective="1.1 An objective",
            text=f"Line {line_id}",
            due_date=due_date,
            due_kind=due_kind or ("date" if due_date else "ongoing"),
            indicator_codes=indicator_codes,
            baseline_period=baseline_period if indicator_codes else None,
        )
        self.lines.append(row)

    def update(self, line_id: str, rag: str | None, commentary: str | None) -> None:
        row = dict.fromkeys(UPDATE_COLUMNS)
        row.update(line_id=line_id, rag=rag, commentary=commentary, updated_by="Lead", updated_on="2018-10-15")
        self.updates.append(row)

    def build(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        try:
            con.execute(
                "create table int_quarters (period varchar, period_start date, period_end date, window_start date, "
                "quarter_index bigint, has_folder boolean, first_received_start date)"
            )
            con.executemany(
                "insert into int_quarters values (?, ?, ?, ?::date - interval 9 month, ?, true, ?)",
                [(label, start, end, start, index, QUARTERS[0][1]) for index, (label, start, end) in enumerate(QUARTERS, 1)],
            )
            rows = []
            for code, polarity in self.polarities.items():
                for la_code in sorted(self.las):
                    for label, start, end in QUARTERS:
                        point = self.values.get((code, la_code, label))
                        available = point is not None and point["value"] is not None
                        rows.append({
                            "indicator_code": code,
                            "la_code": la_code,
                            "period": label,
                            "period_start": start,
                            "period_end": end,
                            "numerator": 12 if available else None,
                            "denominator": 100 if available else None,
                            "value": point["value"] if point else None,
                            "ci_lower": point["ci_lower"] if point else None,
                            "ci_upper": point["ci_upper"] if point else None,
                            "ci_method": "wilson" if available else None,
                            "unit": "percent",
                            "polarity": polarity,
                            "status_reason": None if available else f"not received: test_extract for {label}",
                            "history_incomplete": bool(point and point["history_incomplete"]),
                        })
            if rows:
                assert list(rows[0]) == INDICATOR_VALUE_COLUMNS
            create_indicator_values(con, rows)
            _create_varchar_table(con, "ref_work_plan", WORK_PLAN_COLUMNS, self.lines)
            _create_varchar_table(con, "ref_plan_line_updates", UPDATE_COLUMNS, self.updates)
            con.execute("create table run_settings (board_la_code varchar, default_baseline_period varchar)")
            con.execute("insert into run_settings values (?, ?)", [HPL, self.default_baseline_period])
            con.execute(
                "create table spc_readings (indicator_code varchar, la_code varchar, pack_period varchar, "
                "period varchar, variation varchar)"
            )
            if self.spc:
                con.executemany("insert into spc_readings values (?, ?, ?, ?, ?)", [(*key, v) for key, v in self.spc.items()])
            con.execute(
                "create table indicator_benchmark (indicator_code varchar, la_code varchar, period varchar, comparison varchar)"
            )
            if self.tees:
                con.executemany("insert into indicator_benchmark values (?, ?, ?, ?)", [(*key, v) for key, v in self.tees.items()])
            models.run_macros(con)
            models.run_model(con, STATUS_MODEL, published_schema="main", work_schema="main")
        except BaseException:
            con.close()
            raise
        return con

    def statuses(self) -> dict[tuple[str, str | None, str, str], dict]:
        """{(line_id, indicator_code, la_code, period): row} for every row of the mart."""
        with self.build() as con:
            rows = query_rows(con, "select * from work_plan_status")
        result = {}
        for row in rows:
            key = (row["line_id"], row["indicator_code"], row["la_code"], row["period"])
            assert key not in result, f"duplicate status row {key}"
            result[key] = row
        return result

    def status(self, line_id: str, code: str | None, period: str, la_code: str = HPL) -> dict:
        return self.statuses()[(line_id, code, la_code, period)]


def _create_varchar_table(con: duckdb.DuckDBPyConnection, name: str, columns: list[str], rows: list[dict]) -> None:
    # The refresh reads the reference CSVs with all_varchar = true.
    con.execute(f"create table {name} ({', '.join(f'{column} varchar' for column in columns)})")
    if rows:
        con.executemany(
            f"insert into {name} values ({', '.join('?' * len(columns))})",
            [[row[column] for column in columns] for row in rows],
        )


def judged(row: dict) -> tuple:
    return (row["change_vs_baseline"], row["direction_of_travel"], row["rag"], row["is_overdue"])


# Intervals used below (percent): apart = no overlap; the numbers are chosen so the answer is by eye.
HIGH = (50.0, 45.0, 55.0)
LOW = (30.0, 25.0, 35.0)
