"""The work-plan status mart (sql/marts/work_plan_status.sql): "Is the target moving?" (indicators.md).

Each test writes the tables the model reads straight into an in-memory DuckDB (indicator_values,
int_quarters, ref_work_plan, ref_plan_line_updates, run_settings), runs the model as the refresh
does and compares the row for one plan line × indicator × LA × quarter with what the spec says,
worked out by hand in the comments. Intervals are given, not computed, so that overlap is exact.

Quarters (all in the spine): 2017-18 Q1 .. 2018-19 Q4. Default baseline 2017-18 Q2.
"Not received" means the row exists (every indicator × LA × quarter has one) with a null value.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pytest

from pipelines import models
from pipelines.config import TEES_LAS
from pipelines.indicators import INDICATOR_VALUE_COLUMNS
from query_rows import query_rows
from repo_paths import REFERENCE_DIR

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
PERIOD_DATES = {label: (start, end) for label, start, end in QUARTERS}
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
            con.execute(
                "create table indicator_values (indicator_code varchar, la_code varchar, period varchar, "
                "period_start date, period_end date, numerator bigint, denominator bigint, value double, "
                "ci_lower double, ci_upper double, ci_method varchar, unit varchar, polarity varchar, "
                "status_reason varchar, history_incomplete boolean)"
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
                con.executemany(
                    f"insert into indicator_values values ({', '.join('?' * len(INDICATOR_VALUE_COLUMNS))})",
                    [[row[column] for column in INDICATOR_VALUE_COLUMNS] for row in rows],
                )
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


# ----------------------------------------------------------------- change since baseline


@pytest.mark.parametrize(
    ("polarity", "baseline", "latest", "change", "direction", "rag"),
    [
        # lower is better: 50 [45, 55] -> 30 [25, 35]; 35 < 45, apart and lower: better.
        ("lower", HIGH, LOW, "improved", "improving", "green"),
        # lower is better: 30 [25, 35] -> 50 [45, 55]; apart and higher: worse.
        ("lower", LOW, HIGH, "worsened", "worsening", "red"),
        # higher is better: 30 -> 50, apart: better.
        ("higher", LOW, HIGH, "improved", "improving", "green"),
        # higher is better: 50 -> 30, apart: worse.
        ("higher", HIGH, LOW, "worsened", "worsening", "red"),
    ],
)
def test_significant_change_since_baseline_follows_the_polarity(polarity, baseline, latest, change, direction, rag):
    # Reported quarter 2018-19 Q2: its year-ago quarter is the baseline quarter 2017-18 Q2, so the
    # direction of travel makes the same comparison. 2017-18 Q1 (before the baseline) is given a
    # value that would reverse the answer if it were taken as the baseline.
    scenario = Scenario()
    scenario.series("IND", {"2017-18 Q1": latest, BASELINE: baseline, "2018-19 Q2": latest}, polarity=polarity)
    scenario.line("1.1.5", "IND", due_date="2019-03-31")
    row = scenario.status("1.1.5", "IND", "2018-19 Q2")
    assert judged(row) == (change, direction, rag, False)  # due 2019-03-31, after 2018-09-30
    assert (row["baseline_period"], row["baseline_value"]) == (BASELINE, baseline[0])
    assert (row["latest_period"], row["latest_value"]) == ("2018-19 Q2", latest[0])
    assert row["year_ago_value"] == baseline[0]
    assert (row["latest_numerator"], row["latest_denominator"]) == (12, 100)
    assert (row["status_source"], row["commentary"]) == ("computed", None)
    assert (row["plan"], row["line_text"], row["due_date"], row["due_kind"]) == (
        "work_plan", "Line 1.1.5", date(2019, 3, 31), "date",
    )


@pytest.mark.parametrize("polarity", ["lower", "higher"])
@pytest.mark.parametrize(
    ("baseline", "latest"),
    [
        ((50.0, 40.0, 60.0), (45.0, 38.0, 52.0)),  # 45 inside [40, 60]: overlap
        ((50.0, 40.0, 60.0), (62.0, 55.0, 69.0)),  # [55, 69] overlaps [40, 60] from above
        ((50.0, 40.0, 60.0), (50.0, 10.0, 90.0)),  # the latest interval contains the baseline's
    ],
)
def test_overlapping_intervals_are_no_significant_change(polarity, baseline, latest):
    scenario = Scenario()
    scenario.series("IND", {BASELINE: baseline, "2018-19 Q2": latest}, polarity=polarity)
    scenario.line("1.1.5", "IND")
    row = scenario.status("1.1.5", "IND", "2018-19 Q2")
    assert judged(row) == ("no significant change", "no significant change", "amber", False)


@pytest.mark.parametrize(
    ("polarity", "baseline", "latest", "change", "rag"),
    [
        # Touching intervals overlap (indicators.md): 40 [35, 45] against 50 [45, 55].
        ("lower", (50.0, 45.0, 55.0), (40.0, 35.0, 45.0), "no significant change", "amber"),
        ("higher", (40.0, 35.0, 45.0), (50.0, 45.0, 55.0), "no significant change", "amber"),
        ("lower", (40.0, 35.0, 45.0), (50.0, 45.0, 55.0), "no significant change", "amber"),
        ("higher", (50.0, 45.0, 55.0), (40.0, 35.0, 45.0), "no significant change", "amber"),
        # Controls: a hair apart (44.99 < 45) is significant.
        ("lower", (50.0, 45.0, 55.0), (40.0, 35.0, 44.99), "improved", "green"),
        ("higher", (40.0, 35.0, 44.99), (50.0, 45.0, 55.0), "improved", "green"),
        ("higher", (50.0, 45.0, 55.0), (40.0, 35.0, 44.99), "worsened", "red"),
    ],
)
def test_intervals_that_touch_overlap(polarity, baseline, latest, change, rag):
    scenario = Scenario()
    scenario.series("IND", {BASELINE: baseline, "2018-19 Q3": latest}, polarity=polarity)
    scenario.line("1.1.5", "IND")
    row = scenario.status("1.1.5", "IND", "2018-19 Q3")
    assert (row["change_vs_baseline"], row["rag"]) == (change, rag)


def test_missing_baseline_is_no_data_and_grey():
    # The baseline quarter was not received: no data, even though 2017-18 Q3 has a value that
    # would make the change significant (the baseline is not moved to the next quarter received).
    scenario = Scenario()
    scenario.series("IND", {"2017-18 Q3": HIGH, "2018-19 Q3": LOW})
    scenario.line("1.1.5", "IND", due_date="2018-06-30")
    row = scenario.status("1.1.5", "IND", "2018-19 Q3")
    # No data is not "improved": past its due date (2018-06-30 < 2018-12-31), so overdue. The
    # direction of travel does not need the baseline: 2017-18 Q3 [45, 55] -> [25, 35], improving.
    assert judged(row) == ("no data", "improving", "grey", True)
    assert (row["baseline_period"], row["baseline_value"]) == (BASELINE, None)
    assert (row["latest_period"], row["latest_value"]) == ("2018-19 Q3", 30.0)


def test_baseline_before_the_first_quarter_received_is_no_data():
    scenario = Scenario()
    scenario.series("IND", {"2017-18 Q1": HIGH, "2018-19 Q2": LOW})
    scenario.line("1.1.5", "IND", baseline_period="2016-17 Q4")  # not in int_quarters
    row = scenario.status("1.1.5", "IND", "2018-19 Q2")
    assert (row["change_vs_baseline"], row["rag"], row["baseline_period"], row["baseline_value"]) == (
        "no data", "grey", "2016-17 Q4", None,
    )


def test_quarters_before_the_baseline_have_no_data():
    # Reported 2017-18 Q1: the latest value is from before the baseline, so there is nothing to compare.
    scenario = Scenario()
    scenario.series("IND", {"2017-18 Q1": HIGH, BASELINE: LOW})
    scenario.line("1.1.5", "IND")
    row = scenario.status("1.1.5", "IND", "2017-18 Q1")
    assert (row["latest_period"], row["baseline_value"], row["change_vs_baseline"], row["rag"]) == (
        "2017-18 Q1", None, "no data", "grey",
    )


def test_the_baseline_quarter_reported_against_itself_is_no_significant_change():
    scenario = Scenario()
    scenario.series("IND", {BASELINE: HIGH})
    scenario.line("1.1.5", "IND")
    row = scenario.status("1.1.5", "IND", BASELINE)
    assert (row["change_vs_baseline"], row["direction_of_travel"], row["rag"]) == (
        "no significant change", "no data", "amber",  # 2016-17 Q2 is not in the data
    )


def test_blank_baseline_period_takes_the_default_and_an_explicit_one_is_kept():
    scenario = Scenario()
    # 2017-18 Q2 50 [45, 55]; 2017-18 Q4 30 [25, 35]; reported 2018-19 Q4 28 [24, 32] (lower is better).
    scenario.series("IND", {BASELINE: HIGH, "2017-18 Q4": LOW, "2018-19 Q4": (28.0, 24.0, 32.0)})
    scenario.line("A", "IND", baseline_period=None)  # default 2017-18 Q2: improved
    scenario.line("B", "IND", baseline_period="2017-18 Q4")  # 30 [25, 35] vs [24, 32]: overlap
    statuses = scenario.statuses()
    a, b = statuses[("A", "IND", HPL, "2018-19 Q4")], statuses[("B", "IND", HPL, "2018-19 Q4")]
    assert (a["baseline_period"], a["baseline_value"], a["change_vs_baseline"]) == (BASELINE, 50.0, "improved")
    assert (b["baseline_period"], b["baseline_value"], b["change_vs_baseline"]) == (
        "2017-18 Q4", 30.0, "no significant change",
    )


# ------------------------------------------------------------------------ latest quarter


def test_latest_quarter_missing_uses_the_latest_earlier_quarter_with_a_value():
    # Reported 2018-19 Q4 (not received); 2018-19 Q3 is the latest value. Lower is better.
    # 2018-19 Q2 (earlier) is worse than the baseline, to show Q3 is the one taken.
    scenario = Scenario()
    scenario.series("IND", {
        BASELINE: HIGH,
        "2017-18 Q3": (48.0, 44.0, 52.0),
        "2018-19 Q2": (70.0, 65.0, 75.0),
        "2018-19 Q3": LOW,
    })
    scenario.line("1.1.5", "IND")
    row = scenario.status("1.1.5", "IND", "2018-19 Q4")
    assert (row["latest_period"], row["latest_value"]) == ("2018-19 Q3", 30.0)
    assert (row["change_vs_baseline"], row["rag"]) == ("improved", "green")  # 35 < 45
    # Direction of travel is against a year before the latest quarter: 2017-18 Q3, 48 [44, 52].
    assert (row["year_ago_value"], row["direction_of_travel"]) == (48.0, "improving")  # 35 < 44


def test_no_value_up_to_the_quarter_is_no_data():
    scenario = Scenario()
    scenario.series("IND", {BASELINE: HIGH, "2018-19 Q4": LOW})
    scenario.line("1.1.5", "IND")
    statuses = scenario.statuses()
    # Reported 2017-18 Q1: nothing at or before it.
    row = statuses[("1.1.5", "IND", HPL, "2017-18 Q1")]
    assert (row["latest_period"], row["latest_value"]) == (None, None)
    assert judged(row) == ("no data", "no data", "grey", False)
    # Reported 2018-19 Q3: the latest value is the baseline itself (2018-19 Q4 is later).
    row = statuses[("1.1.5", "IND", HPL, "2018-19 Q3")]
    assert (row["latest_period"], row["change_vs_baseline"]) == (BASELINE, "no significant change")


# ---------------------------------------------------------------- history_incomplete baseline


def test_history_incomplete_baseline_moves_to_the_earliest_later_complete_quarter():
    # 2017-18 Q2 and Q3 are flagged (their look-back reaches before the data): the baseline is
    # 2017-18 Q4, 40 [36, 44]. Against the flagged 2017-18 Q2 (50 [45, 55]) the latest
    # 38 [33, 43] would be improved; against 2017-18 Q4 it overlaps.
    scenario = Scenario()
    scenario.series(
        "IND",
        {
            BASELINE: HIGH,
            "2017-18 Q3": (49.0, 44.0, 54.0),
            "2017-18 Q4": (40.0, 36.0, 44.0),
            "2018-19 Q1": (20.0, 15.0, 25.0),
            "2018-19 Q4": (38.0, 33.0, 43.0),
        },
        history_incomplete=(BASELINE, "2017-18 Q3"),
    )
    scenario.line("2.1.9", "IND")
    row = scenario.status("2.1.9", "IND", "2018-19 Q4")
    assert (row["baseline_period"], row["baseline_value"]) == ("2017-18 Q4", 40.0)
    assert (row["change_vs_baseline"], row["rag"]) == ("no significant change", "amber")


def test_history_incomplete_baseline_with_no_complete_quarter_yet_is_no_data():
    # Reported 2017-18 Q3: the only complete quarter (2017-18 Q4) is after it.
    scenario = Scenario()
    scenario.series(
        "IND",
        {BASELINE: HIGH, "2017-18 Q3": LOW, "2017-18 Q4": LOW},
        history_incomplete=(BASELINE, "2017-18 Q3"),
    )
    scenario.line("2.1.9", "IND")
    row = scenario.status("2.1.9", "IND", "2017-18 Q3")
    assert (row["baseline_value"], row["change_vs_baseline"], row["rag"]) == (None, "no data", "grey")


def test_history_incomplete_baseline_is_chosen_per_la():
    # Middlesbrough's baseline quarter is complete, Hartlepool's is not.
    scenario = Scenario()
    scenario.series("IND", {BASELINE: HIGH, "2017-18 Q3": LOW, "2018-19 Q2": LOW}, history_incomplete=(BASELINE,))
    scenario.series("IND", {BASELINE: HIGH, "2017-18 Q3": LOW, "2018-19 Q2": LOW}, la_code=MBRO)
    scenario.line("1.1.5", "IND")
    statuses = scenario.statuses()
    hpl, mbro = statuses[("1.1.5", "IND", HPL, "2018-19 Q2")], statuses[("1.1.5", "IND", MBRO, "2018-19 Q2")]
    assert (hpl["baseline_period"], hpl["change_vs_baseline"]) == ("2017-18 Q3", "no significant change")
    assert (mbro["baseline_period"], mbro["change_vs_baseline"]) == (BASELINE, "improved")


# --------------------------------------------------------------------- direction of travel


@pytest.mark.parametrize(
    ("polarity", "year_ago", "direction", "change", "rag"),
    [
        # lower is better. Latest 2018-19 Q3 30 [25, 35]; baseline 50 [45, 55]: improved.
        # A year earlier (2017-18 Q3) 10 [5, 15]: 25 > 15, higher now: worsening.
        ("lower", (10.0, 5.0, 15.0), "worsening", "improved", "green"),
        # Year ago 50 [40, 60]: 35 < 40, lower now: improving.
        ("lower", (50.0, 40.0, 60.0), "improving", "improved", "green"),
        # Year ago 33 [28, 38]: overlap.
        ("lower", (33.0, 28.0, 38.0), "no significant change", "improved", "green"),
        # higher is better: baseline 50 -> 30 is worsened; year ago 10 [5, 15] -> 30 improving.
        ("higher", (10.0, 5.0, 15.0), "improving", "worsened", "red"),
        ("higher", (50.0, 40.0, 60.0), "worsening", "worsened", "red"),
        # Year ago [20, 25] touches [25, 35]: overlap.
        ("higher", (22.0, 20.0, 25.0), "no significant change", "worsened", "red"),
    ],
)
def test_direction_of_travel_is_against_the_same_quarter_a_year_earlier(polarity, year_ago, direction, change, rag):
    scenario = Scenario()
    # 2018-19 Q2 (the quarter before) and 2017-18 Q4 are decoys: neither is a year before 2018-19 Q3.
    scenario.series(
        "IND",
        {BASELINE: HIGH, "2017-18 Q3": year_ago, "2017-18 Q4": (90.0, 85.0, 95.0), "2018-19 Q2": (1.0, 0.5, 1.5), "2018-19 Q3": LOW},
        polarity=polarity,
    )
    scenario.line("1.1.5", "IND")
    row = scenario.status("1.1.5", "IND", "2018-19 Q3")
    assert row["year_ago_value"] == year_ago[0]
    assert (row["direction_of_travel"], row["change_vs_baseline"], row["rag"]) == (direction, change, rag)


def test_direction_of_travel_is_no_data_when_the_year_ago_quarter_is_missing():
    # 2017-18 Q3 not received; the quarters around it are not used instead.
    scenario = Scenario()
    scenario.series("IND", {BASELINE: HIGH, "2017-18 Q4": HIGH, "2018-19 Q3": LOW})
    scenario.line("1.1.5", "IND")
    row = scenario.status("1.1.5", "IND", "2018-19 Q3")
    assert (row["year_ago_value"], row["direction_of_travel"]) == (None, "no data")
    assert (row["change_vs_baseline"], row["rag"]) == ("improved", "green")


# ------------------------------------------------------------------------------- overdue


@pytest.mark.parametrize(
    ("due_date", "period", "latest", "is_overdue", "why"),
    [
        ("2018-09-30", "2018-19 Q3", LOW, True, "amber, due before 2018-12-31"),
        ("2018-09-30", "2018-19 Q3", (70.0, 65.0, 75.0), True, "red, due before 2018-12-31"),
        ("2018-09-30", "2018-19 Q3", (10.0, 5.0, 15.0), False, "green: improved, so not overdue"),
        ("2018-09-30", "2018-19 Q2", LOW, False, "due on the quarter's last day: not yet past"),
        ("2018-12-30", "2018-19 Q3", LOW, True, "due the day before the quarter's end"),
        ("2019-03-31", "2018-19 Q3", LOW, False, "due later"),
        (None, "2018-19 Q4", LOW, False, "ongoing: no due date"),
    ],
)
def test_overdue_is_past_the_due_date_and_not_improved(due_date, period, latest, is_overdue, why):
    # Lower is better; baseline 32 [28, 36]. LOW 30 [25, 35] overlaps (amber), 70 [65, 75] is
    # worse (red), 10 [5, 15] is better (green).
    scenario = Scenario()
    scenario.series("IND", {BASELINE: (32.0, 28.0, 36.0), period: latest})
    scenario.line("1.1.5", "IND", due_date=due_date)
    row = scenario.status("1.1.5", "IND", period)
    assert row["is_overdue"] is is_overdue, why
    assert row["due_date"] == (date.fromisoformat(due_date) if due_date else None)


# --------------------------------------------------------------- lines and their indicators


def test_a_line_with_two_indicators_has_a_row_for_each():
    # 2.2.3: LSCB19 (lower is better) improved; RHI72 (higher is better) also fell, so worsened.
    scenario = Scenario()
    scenario.series("LSCB19", {BASELINE: HIGH, "2018-19 Q4": LOW}, polarity="lower")
    scenario.series("RHI72", {BASELINE: HIGH, "2018-19 Q4": LOW}, polarity="higher")
    scenario.line("2.2.3", "LSCB19;RHI72", due_date="2018-02-28")
    statuses = scenario.statuses()
    rows = {code: row for (line, code, la, period), row in statuses.items() if line == "2.2.3" and period == "2018-19 Q4"}
    assert sorted(rows) == ["LSCB19", "RHI72"]
    assert judged(rows["LSCB19"]) == ("improved", "no data", "green", False)
    assert judged(rows["RHI72"]) == ("worsened", "no data", "red", True)  # due 2018-02-28


def test_a_computed_line_has_one_row_per_la_and_quarter_and_other_indicators_do_not_leak_in():
    scenario = Scenario()
    scenario.series("IND", {BASELINE: HIGH}, la_code=HPL)
    scenario.series("IND", {BASELINE: HIGH}, la_code=MBRO)
    scenario.series("OTHER", {BASELINE: LOW})
    scenario.line("1.1.5", "IND")
    keys = sorted(key for key in scenario.statuses() if key[0] == "1.1.5")
    assert keys == sorted(("1.1.5", "IND", la, label) for la in (HPL, MBRO) for label, _, _ in QUARTERS)


def test_a_lead_line_takes_its_rag_and_commentary_from_the_leads_for_the_board_la_only():
    scenario = Scenario()
    scenario.series("IND", {BASELINE: HIGH}, la_code=HPL)
    scenario.series("IND", {BASELINE: HIGH}, la_code=MBRO)
    scenario.line("1.1.1", None, due_date="2018-04-30")
    scenario.line("1.1.2", "", due_kind="ongoing")  # blank (not null) indicator codes: a lead line too
    scenario.line("1.2.1", None, due_date="2018-04-30")
    scenario.line("1.2.2", None)
    scenario.update("1.1.1", " Amber ", "Campaign running; feedback due in January.")
    scenario.update("1.1.2", "GREEN", "Done.")
    scenario.update("1.2.1", "", "")  # entered but blank: as if not updated
    # 1.2.2 has no row in plan_line_updates at all.
    statuses = scenario.statuses()
    lead_keys = sorted(key for key in statuses if key[1] is None)
    assert lead_keys == sorted((line, None, HPL, label) for line in ("1.1.1", "1.1.2", "1.2.1", "1.2.2") for label, _, _ in QUARTERS)

    row = statuses[("1.1.1", None, HPL, "2018-19 Q1")]
    assert (row["rag"], row["commentary"], row["status_source"]) == ("amber", "Campaign running; feedback due in January.", "lead")
    assert (row["change_vs_baseline"], row["direction_of_travel"]) == ("no data", "no data")
    assert (row["baseline_period"], row["baseline_value"], row["latest_period"], row["latest_value"]) == (None, None, None, None)
    assert row["is_overdue"] is True  # due 2018-04-30 < 2018-06-30, amber
    assert statuses[("1.1.1", None, HPL, "2017-18 Q4")]["is_overdue"] is False  # due after 2018-03-31

    row = statuses[("1.1.2", None, HPL, "2018-19 Q4")]
    assert (row["rag"], row["commentary"], row["is_overdue"]) == ("green", "Done.", False)

    row = statuses[("1.2.1", None, HPL, "2018-19 Q4")]
    assert (row["rag"], row["commentary"], row["is_overdue"]) == ("grey", "awaiting update", True)

    row = statuses[("1.2.2", None, HPL, "2018-19 Q4")]
    assert (row["rag"], row["commentary"], row["is_overdue"]) == ("grey", "awaiting update", False)  # ongoing


def test_a_green_lead_line_past_its_due_date_is_not_overdue():
    scenario = Scenario()
    scenario.series("IND", {BASELINE: HIGH})
    scenario.line("3.5.1", None, due_date="2017-12-31")
    scenario.update("3.5.1", "green", "Processes embedded.")
    row = scenario.status("3.5.1", None, "2018-19 Q4")
    assert (row["rag"], row["is_overdue"]) == ("green", False)


def test_the_mart_has_the_published_columns():
    scenario = Scenario()
    scenario.series("IND", {BASELINE: HIGH})
    scenario.line("1.1.5", "IND")
    with scenario.build() as con:
        columns = [column[0] for column in con.execute("select * from work_plan_status limit 0").description]
    # outputs.md: the fixed names of work_plan_status.
    for name in ("line_id", "indicator_code", "la_code", "period", "baseline_period", "baseline_value",
                 "latest_value", "change_vs_baseline", "direction_of_travel", "rag", "due_date", "is_overdue"):
        assert name in columns


# ----------------------------------------------------------------- SPC reading, Tees comparison, red-red


def _spc_and_tees_scenario() -> Scenario:
    # Lower is better: baseline 30 [25, 35]; 2018-19 Q1 50 [45, 55] against a year earlier
    # (2017-18 Q1) 30 [25, 35]: worsening. 2018-19 Q2 has no value, so its latest quarter is Q1.
    scenario = Scenario()
    scenario.series("IND", {"2017-18 Q1": LOW, BASELINE: LOW, "2018-19 Q1": HIGH}, polarity="lower")
    scenario.line("1.1.5", "IND")
    # The reading of Q1's point differs by the quarter the series runs up to: the status of a
    # quarter takes the series up to that quarter.
    scenario.spc[("IND", HPL, "2018-19 Q1", "2018-19 Q1")] = "special cause concern"
    scenario.spc[("IND", HPL, "2018-19 Q2", "2018-19 Q1")] = "common cause"
    scenario.spc[("IND", HPL, "2018-19 Q2", "2017-18 Q1")] = "special cause improvement"  # not the latest point
    scenario.tees[("IND", HPL, "2018-19 Q1")] = "worse"
    scenario.tees[("IND", HPL, "2018-19 Q2")] = "better"  # not the latest quarter with a value
    return scenario


def test_spc_reading_and_tees_comparison_are_those_of_the_latest_quarter():
    statuses = _spc_and_tees_scenario().statuses()
    q1, q2 = statuses[("1.1.5", "IND", HPL, "2018-19 Q1")], statuses[("1.1.5", "IND", HPL, "2018-19 Q2")]
    assert (q1["latest_period"], q1["direction_of_travel"]) == ("2018-19 Q1", "worsening")
    assert (q1["spc_variation"], q1["tees_comparison"], q1["is_red_red"]) == ("special cause concern", "worse", True)
    assert (q2["latest_period"], q2["direction_of_travel"]) == ("2018-19 Q1", "worsening")
    assert (q2["spc_variation"], q2["tees_comparison"], q2["is_red_red"]) == ("common cause", "worse", True)


@pytest.mark.parametrize("comparison", ["similar", "better", "not compared"])
def test_red_red_needs_worse_than_tees(comparison):
    scenario = _spc_and_tees_scenario()
    scenario.tees[("IND", HPL, "2018-19 Q1")] = comparison
    row = scenario.status("1.1.5", "IND", "2018-19 Q1")
    assert (row["tees_comparison"], row["direction_of_travel"], row["is_red_red"]) == (comparison, "worsening", False)


def test_red_red_needs_worsening():
    # Worse than Tees but the same as a year earlier (30 -> 30 [25, 35]): not red-red.
    scenario = Scenario()
    scenario.series("IND", {"2017-18 Q1": LOW, BASELINE: LOW, "2018-19 Q1": LOW}, polarity="lower")
    scenario.line("1.1.5", "IND")
    scenario.tees[("IND", HPL, "2018-19 Q1")] = "worse"
    row = scenario.status("1.1.5", "IND", "2018-19 Q1")
    assert (row["tees_comparison"], row["direction_of_travel"], row["is_red_red"]) == (
        "worse", "no significant change", False,
    )


def test_a_latest_quarter_left_out_of_the_series_has_too_few_points():
    # 2018-19 Q1 has a value but is flagged history_incomplete: not in the SPC series, so no reading.
    scenario = Scenario()
    scenario.series("IND", {BASELINE: LOW, "2018-19 Q1": HIGH}, history_incomplete=("2018-19 Q1",))
    scenario.line("1.1.5", "IND")
    scenario.spc[("IND", HPL, "2018-19 Q1", BASELINE)] = "common cause"
    row = scenario.status("1.1.5", "IND", "2018-19 Q1")
    assert (row["latest_period"], row["spc_variation"], row["tees_comparison"]) == (
        "2018-19 Q1", "too few points", "not compared",
    )


def test_lines_without_an_indicator_have_no_spc_or_tees_reading():
    scenario = Scenario()
    scenario.line("1.1.1", None)
    scenario.update("1.1.1", "red", "Behind")
    row = scenario.status("1.1.1", None, "2018-19 Q1")
    assert (row["spc_variation"], row["tees_comparison"], row["is_red_red"]) == (None, None, False)
