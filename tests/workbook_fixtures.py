"""A small synthetic marts database for the board-workbook tests, with constructed statuses.

The counts are made up; the definitions are the production registry's (``definitions_frame``)
and each value and interval method is what production computes from the counts for the
indicator's unit (``pipelines.intervals``), so nothing here re-implements a label, a method or
a unit's scale. The interval limits alone are made up, value ± 5, so that the tests can state
them by hand: the workbook only shows what the marts hold. The board LA is Hartlepool (the
first of config.TEES_LAS, as in the settings' defaults) and the pack is for 2018-19 Q3
(``PERIOD``); the cases the tests look for are named constants below.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.config import TEES_LAS
from pipelines.indicators import INDICATOR_VALUE_COLUMNS, definitions_frame, load_registry
from pipelines.intervals import interval_for_unit, intervals_frame
from pipelines.periods import Quarter, quarter_range

PERIOD = Quarter.parse("2018-19 Q3")
BOARD, MIDDLESBROUGH, REDCAR, STOCKTON = TEES_LAS  # the board LA is the first
LAS = list(TEES_LAS)
QUARTERS = quarter_range(Quarter.parse("2015-16 Q1"), PERIOD)  # 15 quarters: enough for SPC limits
FINISHED_AT = datetime(2019, 1, 20, 9, 30)
INDICATOR_COUNT = len(load_registry())  # the workbook has one chart, one definition per indicator of the registry

# (indicator, la, period) -> (numerator, denominator); everything else gets the defaults.
COUNT_OVERRIDES: dict[tuple[str, str, str], tuple[int | None, int | None]] = {
    ("MARAC", BOARD, PERIOD.label): (3, 41),  # a count of 3: "<5", and its percentage "c"
    ("LSCB11e", BOARD, PERIOD.label): (0, 5),  # 0 and 5 are shown as they are
    ("SM_COMPLETIONS", BOARD, PERIOD.label): (0, 3),  # small denominator of a percentage: "c"
    ("CPP_NEGLECT", BOARD, PERIOD.label): (3, 20_000),  # small numerator of a rate: "c"
    ("MARAC", MIDDLESBROUGH, PERIOD.label): (2, 30),  # a comparator's suppressed value
    ("PMH_ACCESS", BOARD, "2018-19 Q2"): (None, None),  # not received
}
NOT_RECEIVED_REASON = "not received: health_treatment_episodes for 2018-19 Q2"


def _definitions() -> pd.DataFrame:
    return definitions_frame()  # the production registry and labels


def _values(definitions: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for definition in definitions.itertuples():
        for la_index, la_code in enumerate(LAS):
            for q_index, quarter in enumerate(QUARTERS):
                if definition.unit == "percent":
                    counts = (20 + q_index + la_index, 100)
                else:
                    counts = (30 + q_index + la_index, 20_000)
                key = (definition.indicator_code, la_code, quarter.label)
                numerator, denominator = COUNT_OVERRIDES.get(key, counts)
                rows.append({
                    "indicator_code": definition.indicator_code,
                    "la_code": la_code,
                    "period": quarter.label,
                    "period_start": quarter.start_date,
                    "period_end": quarter.end_date,
                    "numerator": numerator,
                    "denominator": denominator,
                    "unit": definition.unit,
                    "polarity": definition.polarity,
                    "status_reason": NOT_RECEIVED_REASON if numerator is None else None,
                    "history_incomplete": quarter < Quarter.parse("2017-18 Q1") and definition.indicator_code == "LSCB19",
                })
    frame = pd.DataFrame(rows)
    frame["numerator"] = frame["numerator"].astype("Int64")
    frame["denominator"] = frame["denominator"].astype("Int64")
    frame = intervals_frame(frame, "unit", "numerator", "denominator")  # value and ci_method as production
    frame["ci_lower"] = (frame["value"] - 5).clip(lower=0.0)  # made up: value ± 5
    frame["ci_upper"] = frame["value"] + 5
    return frame[INDICATOR_VALUE_COLUMNS]


# In plan order: line_id, plan, section, indicator, rag, change since baseline, direction of travel,
# due date, due kind, is_overdue, lead's commentary.
P1 = "Priority 1: Addressing the impact of Neglect"
P2 = "Priority 2: Reducing Child Sexual Exploitation"
P3 = "Priority 3: Strengthening partnerships ensuring continuous improvement"
WP, SCR = "work_plan", "scr_action_plan"
SAME = "no significant change"
LINES = [
    ("1.1.4", WP, P1, "MARAC", "green", "improved", "improving", None, "ongoing", False, None),
    ("1.1.5", WP, P1, "LSCB11b", "amber", SAME, "worsening", date(2018, 9, 30), "date", True, None),
    ("1.2.1", WP, P1, None, "red", "no data", "no data", date(2018, 4, 30), "date", True, "Refuge places reduced."),
    ("1.2.4", WP, P1, "LSCB11e", "red", "worsened", SAME, date(2019, 3, 31), "date", False, None),
    ("1.4.1", WP, P1, "SM_COMPLETIONS", "grey", "no data", "no data", None, "ongoing", False, None),
    ("1.6.1", WP, P1, "PMH_ACCESS", "amber", SAME, "improving", date(2018, 6, 30), "date", True, None),
    ("2.1.8", WP, P2, "LSCB21", "green", "improved", "improving", date(2019, 3, 31), "date", False, None),
    ("2.2.3", WP, P2, "LSCB19", "amber", SAME, "worsening", date(2018, 2, 28), "date", True, None),
    ("2.2.3", WP, P2, "RHI72", "green", "improved", "improving", date(2018, 2, 28), "date", False, None),
    ("2.2.4a", WP, P2, None, "amber", "no data", "no data", date(2018, 4, 30), "date", True, "Feedback survey late."),
    ("3.1.1", WP, P3, None, "grey", "no data", "no data", None, "continuous", False, "awaiting update"),
    ("SCR-1.1", SCR, "Finding 1", None, "green", "no data", "no data", date(2018, 3, 31), "date", False, "Done."),
    ("SCR-S1", SCR, "Success criteria", "EH_NEGLECT", "green", "improved", "improving", date(2018, 9, 30), "date",
     False, None),
    ("SCR-S4", SCR, "Success criteria", "CPP_NEGLECT", "red", "worsened", "worsening", date(2018, 9, 30), "date",
     True, None),
]
LINE_FIELDS = ["line_id", "plan", "section", "indicator_code", "rag", "change_vs_baseline", "direction_of_travel",
               "due_date", "due_kind", "is_overdue", "commentary"]


def _work_plan_status(values: pd.DataFrame) -> pd.DataFrame:
    by_key = values.set_index(["indicator_code", "la_code", "period"])
    rows = []
    # Shuffled on purpose: the workbook orders lines itself. Earlier periods and comparator LAs
    # are there to be left out.
    for period in (PERIOD, PERIOD.shift(-1)):
        for la_code in LAS:
            for line in reversed(LINES):
                row = dict(zip(LINE_FIELDS, line, strict=True))
                if row["indicator_code"] is None and la_code != BOARD:
                    continue
                row.update(la_code=la_code, period=period.label, objective="An objective",
                           line_text=f"Text of line {row['line_id']}", status_source="lead")
                if row["indicator_code"]:
                    latest = PERIOD.label if row["indicator_code"] != "SM_COMPLETIONS" else None
                    current = by_key.loc[(row["indicator_code"], la_code, latest)] if latest else None
                    row.update(
                        status_source="computed", commentary=None, baseline_period="2017-18 Q2",
                        baseline_value=by_key.loc[(row["indicator_code"], la_code, "2017-18 Q2"), "value"],
                        latest_period=latest,
                        latest_value=None if current is None else current["value"],
                        latest_numerator=None if current is None else current["numerator"],
                        latest_denominator=None if current is None else current["denominator"],
                        year_ago_value=None,
                    )
                if row["indicator_code"] == "SM_COMPLETIONS":
                    row.update(latest_period=None, latest_value=None, latest_numerator=None, latest_denominator=None)
                rows.append(row)
    columns = ["line_id", "plan", "section", "objective", "line_text", "indicator_code", "la_code", "period",
               "baseline_period", "baseline_value", "latest_period", "latest_value", "year_ago_value",
               "change_vs_baseline", "direction_of_travel", "rag", "due_date", "due_kind", "is_overdue",
               "status_source", "commentary", "latest_numerator", "latest_denominator"]
    frame = pd.DataFrame(rows).reindex(columns=columns)
    frame["latest_numerator"] = frame["latest_numerator"].astype("Int64")
    frame["latest_denominator"] = frame["latest_denominator"].astype("Int64")
    frame["baseline_value"] = frame["baseline_value"].astype("float64")
    frame["latest_value"] = frame["latest_value"].astype("float64")
    frame["year_ago_value"] = frame["year_ago_value"].astype("float64")
    frame["due_date"] = pd.to_datetime(frame["due_date"]).dt.date
    return frame


DATA_QUALITY = [
    # period, extract, file_name, rows_received, rows_staged, rows_quarantined, status, message
    (PERIOD.label, "police_da_incidents", "police_da_incidents.csv", 1000, 997, 3, "accepted", ""),
    (PERIOD.label, "la_cp_plans", f"la_cp_plans--{BOARD}.csv", 250, 243, 7, "accepted", ""),
    (PERIOD.label, "health_ae_attendances", "health_ae_attendances.xlsx", 0, 0, 0, "accepted", ""),
    (PERIOD.shift(-1).label, "police_da_incidents", "police_da_incidents.csv", 900, 900, 0, "accepted", ""),
]
QUARANTINE = (
    [("police_da_incidents", "police_da_incidents.csv", "reported_at", "unparseable date")] * 2
    + [("police_da_incidents", "police_da_incidents.csv", "dash_risk", "unknown code")]
    + [("la_cp_plans", f"la_cp_plans--{BOARD}.csv", "child_id", "required value missing")] * 7
)


def _data_quality() -> pd.DataFrame:
    columns = ["period", "extract", "file_name", "rows_received", "rows_staged", "rows_quarantined", "status",
               "message"]
    frame = pd.DataFrame(DATA_QUALITY, columns=columns)
    frame.insert(3, "sha256", [f"{index:064x}" for index in range(len(frame))])
    return frame


def _quarantine() -> pd.DataFrame:
    rows = [
        {"period": PERIOD.label, "extract": extract, "file_name": file_name, "row_number": index + 2,
         "column_name": column, "value": "x", "rule": rule, "message": f"{rule} in {column}"}
        for index, (extract, file_name, column, rule) in enumerate(QUARANTINE)
    ]
    rows.append({"period": PERIOD.shift(-1).label, "extract": "la_cp_plans", "file_name": "old.csv", "row_number": 9,
                 "column_name": "child_id", "value": "x", "rule": "earlier period", "message": "not this period"})
    return pd.DataFrame(rows)


# --- v2 marts (outputs.md, "More marts"): made-up readings, as the workbook only shows them --------

# (line, indicator) -> (spc_variation, tees_comparison) for work_plan_status; red-red follows the
# spec's definition (worse than Tees and worsening).
LINE_V2 = {
    ("1.1.4", "MARAC"): ("common cause", "similar"),
    ("1.1.5", "LSCB11b"): ("special cause concern", "worse"),  # worsening too: red-red
    ("1.2.4", "LSCB11e"): ("common cause", "worse"),  # no significant change: not red-red
    ("1.4.1", "SM_COMPLETIONS"): ("too few points", "not compared"),
    ("1.6.1", "PMH_ACCESS"): ("common cause", "better"),
    ("2.1.8", "LSCB21"): ("special cause improvement", "better"),
    ("2.2.3", "LSCB19"): ("common cause", "similar"),
    ("2.2.3", "RHI72"): ("common cause", "similar"),
    ("SCR-S1", "EH_NEGLECT"): ("common cause", "similar"),
    ("SCR-S4", "CPP_NEGLECT"): ("special cause concern", "worse"),  # worsening: red-red
}
SPC_LIMIT_HALF_WIDTH = 8.0  # made up: upper/lower limit = mean ± this
# Revised figures: (indicator, la, period) -> (previous numerator, previous denominator)
REVISIONS = {
    ("LSCB21", BOARD, PERIOD.label): (25, 100),  # now 20+Q+0 over 100
    ("MARAC", BOARD, PERIOD.shift(-1).label): (3, 40),  # previously a small count: the note shows c
    ("RHI72", STOCKTON, PERIOD.label): (40, 100),  # a comparator's figure
}
PREVIOUS_RUN_ID = "20181020T090000Z-aaaaaa"


def _spc(values: pd.DataFrame) -> pd.DataFrame:
    """indicator_spc for every LA: the series (value not null, not history_incomplete) up to PERIOD."""
    series = values[values["value"].notna() & ~values["history_incomplete"]
                    & (values["period_start"] <= PERIOD.start_date)].copy()
    rows = []
    for (code, la_code), points in series.groupby(["indicator_code", "la_code"], sort=False):
        mean = float(points["value"].mean())
        enough = len(points) >= 12
        for point in points.itertuples():
            rows.append({
                "indicator_code": code, "la_code": la_code, "period": point.period, "value": point.value,
                "points": len(points), "mean": mean,
                "lower_limit": mean - SPC_LIMIT_HALF_WIDTH if enough else None,
                "upper_limit": mean + SPC_LIMIT_HALF_WIDTH if enough else None,
                "rules": "", "variation": "common cause" if enough else "too few points",
            })
    frame = pd.DataFrame(rows)
    for column in ("lower_limit", "upper_limit"):
        frame[column] = frame[column].astype("float64")
    return frame


def _benchmark(values: pd.DataFrame) -> pd.DataFrame:
    """indicator_benchmark: each LA against the Tees figure (the four LAs' summed counts)."""
    rows = []
    for (code, period), group in values.groupby(["indicator_code", "period"], sort=False):
        complete = group["numerator"].notna().all() and group["denominator"].notna().all()
        numerator = int(group["numerator"].sum()) if complete else None
        denominator = int(group["denominator"].sum()) if complete else None
        (unit,) = group["unit"].unique()
        tees = None if numerator is None else interval_for_unit(unit, numerator, denominator).value
        for row in group.itertuples():
            compared = tees is not None and row.value is not None and not pd.isna(row.value)
            comparison = "similar" if compared else "not compared"
            rows.append({
                "indicator_code": code, "la_code": row.la_code, "period": period, "value": row.value,
                "ci_lower": row.ci_lower, "ci_upper": row.ci_upper, "comparator": "Tees",
                "comparator_numerator": numerator, "comparator_denominator": denominator,
                "comparator_value": tees,
                "comparator_ci_lower": None if tees is None else tees - 2,
                "comparator_ci_upper": None if tees is None else tees + 2,
                "comparison": comparison,
                "not_compared_reason": None if compared else "a value is not available",
            })
    frame = pd.DataFrame(rows)
    for column in ("comparator_numerator", "comparator_denominator"):
        frame[column] = frame[column].astype("Int64")
    for column in ("comparator_value", "comparator_ci_lower", "comparator_ci_upper"):
        frame[column] = frame[column].astype("float64")
    return frame


def _revisions(values: pd.DataFrame) -> pd.DataFrame:
    by_key = values.set_index(["indicator_code", "la_code", "period"])
    rows = []
    for (code, la_code, period), (numerator, denominator) in REVISIONS.items():
        current = by_key.loc[(code, la_code, period)]
        rows.append({
            "indicator_code": code, "la_code": la_code, "period": period,
            "previous_numerator": numerator, "previous_denominator": denominator,
            "previous_value": interval_for_unit(current["unit"], numerator, denominator).value,
            "numerator": current["numerator"], "denominator": current["denominator"], "value": current["value"],
            "previous_run_id": PREVIOUS_RUN_ID, "run_id": "b",
        })
    return pd.DataFrame(rows)


def _add_v2_status(status: pd.DataFrame) -> pd.DataFrame:
    status = status.copy()
    readings = [LINE_V2.get((line, code), (None, None)) for line, code in
                zip(status["line_id"], status["indicator_code"], strict=True)]
    status["spc_variation"] = [reading[0] for reading in readings]
    status["tees_comparison"] = [reading[1] for reading in readings]
    status["is_red_red"] = [
        reading[1] == "worse" and direction == "worsening" if code else None
        for reading, direction, code in zip(readings, status["direction_of_travel"], status["indicator_code"],
                                            strict=True)
    ]
    return status


def build_marts(path: Path, *, with_refresh_log: bool = True, with_v2: bool = True,
                overrides: dict | None = None) -> Path:
    """Write the synthetic marts to ``path`` (a DuckDB file) and return it.

    ``with_v2=False`` leaves out the v2 marts and columns (SPC, Tees benchmark, revisions), as
    marts from before them; ``overrides`` replaces whole tables (name -> frame).
    """
    definitions = _definitions()
    values = _values(definitions)
    status = _work_plan_status(values)
    tables = {
        "indicator_definitions": definitions,
        "indicator_values": values,
        "work_plan_status": _add_v2_status(status) if with_v2 else status,
        "data_quality": _data_quality(),
        "quarantine": _quarantine(),
    }
    if with_v2:
        tables.update(indicator_spc=_spc(values), indicator_benchmark=_benchmark(values),
                      indicator_revisions=_revisions(values))
    tables.update(overrides or {})
    if with_refresh_log:
        tables["refresh_log"] = pd.DataFrame({
            "run_id": ["a", "b"],
            "finished_at": [datetime(2018, 10, 20, 9, 0), FINISHED_AT],
        })
    with duckdb.connect(str(path)) as con:
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"create table {name} as select * from frame")
            con.unregister("frame")
    return path
