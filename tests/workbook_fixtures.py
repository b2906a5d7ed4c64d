"""A small synthetic marts database for the board-workbook tests, with constructed statuses.

Every figure is made up: values are plain n/d arithmetic and the intervals value ± 5, because
the workbook only shows what the marts hold. The board LA is E06000001 and the pack is for
2018-19 Q3 (``PERIOD``); the cases the tests look for are named constants below.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.periods import Quarter, quarter_range

REGISTRY = Path(__file__).resolve().parents[1] / "pipelines" / "indicators.toml"
PERIOD = Quarter.parse("2018-19 Q3")
BOARD = "E06000001"
LAS = ["E06000001", "E06000002", "E06000003", "E06000004"]
QUARTERS = quarter_range(Quarter.parse("2016-17 Q1"), PERIOD)
FINISHED_AT = datetime(2019, 1, 20, 9, 30)

# (indicator, la, period) -> (numerator, denominator); everything else gets the defaults.
COUNT_OVERRIDES: dict[tuple[str, str, str], tuple[int | None, int | None]] = {
    ("MARAC", BOARD, PERIOD.label): (3, 41),  # a count of 3: "<5", and its percentage "c"
    ("LSCB11e", BOARD, PERIOD.label): (0, 5),  # 0 and 5 are shown as they are
    ("SM_COMPLETIONS", BOARD, PERIOD.label): (0, 3),  # small denominator of a percentage: "c"
    ("CPP_NEGLECT", BOARD, PERIOD.label): (3, 20_000),  # small numerator of a rate: "c"
    ("MARAC", "E06000002", PERIOD.label): (2, 30),  # a comparator's suppressed value
    ("PMH_ACCESS", BOARD, "2018-19 Q2"): (None, None),  # not received
}
NOT_RECEIVED_REASON = "not received: health_treatment_episodes for 2018-19 Q2"


def _definitions() -> pd.DataFrame:
    with open(REGISTRY, "rb") as handle:
        registry = tomllib.load(handle)
    rows = []
    for code, body in registry.items():
        unit_label = "%" if body["unit"] == "percent" else f"per 10,000 {body.get('population', '')}".strip()
        rows.append({
            "indicator_code": code,
            "title": body["title"],
            "unit": body["unit"],
            "unit_label": unit_label,
            "polarity": body["polarity"],
            "definition": body["definition"],
            "sources": ", ".join(body["sources"]),
            "evidences": ", ".join(body["evidences"]),
            "ci_methods": "Wilson score (95%)" if body["unit"] == "percent" else "Byar / exact Poisson, 95%",
        })
    return pd.DataFrame(rows)


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
                scale = 100 if definition.unit == "percent" else 10_000
                value = None if numerator is None else scale * numerator / denominator
                rows.append({
                    "indicator_code": definition.indicator_code,
                    "la_code": la_code,
                    "period": quarter.label,
                    "period_start": quarter.start_date,
                    "period_end": quarter.end_date,
                    "numerator": numerator,
                    "denominator": denominator,
                    "value": value,
                    "ci_lower": None if value is None else max(0.0, value - 5),
                    "ci_upper": None if value is None else value + 5,
                    "ci_method": "wilson" if definition.unit == "percent" else "byar",
                    "unit": definition.unit,
                    "polarity": definition.polarity,
                    "status_reason": NOT_RECEIVED_REASON if numerator is None else None,
                    "history_incomplete": q_index < 4 and definition.indicator_code == "LSCB19",
                })
    frame = pd.DataFrame(rows)
    frame["numerator"] = frame["numerator"].astype("Int64")
    frame["denominator"] = frame["denominator"].astype("Int64")
    return frame


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
    (PERIOD.label, "la_cp_plans", "la_cp_plans--E06000001.csv", 250, 243, 7, "accepted", ""),
    (PERIOD.label, "health_ae_attendances", "health_ae_attendances.xlsx", 0, 0, 0, "accepted", ""),
    (PERIOD.shift(-1).label, "police_da_incidents", "police_da_incidents.csv", 900, 900, 0, "accepted", ""),
]
QUARANTINE = (
    [("police_da_incidents", "police_da_incidents.csv", "reported_at", "unparseable date")] * 2
    + [("police_da_incidents", "police_da_incidents.csv", "dash_risk", "unknown code")]
    + [("la_cp_plans", "la_cp_plans--E06000001.csv", "child_id", "required value missing")] * 7
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


def build_marts(path: Path, *, with_refresh_log: bool = True) -> Path:
    """Write the synthetic marts to ``path`` (a DuckDB file) and return it."""
    definitions = _definitions()
    values = _values(definitions)
    tables = {
        "indicator_definitions": definitions,
        "indicator_values": values,
        "work_plan_status": _work_plan_status(values),
        "data_quality": _data_quality(),
        "quarantine": _quarantine(),
    }
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
