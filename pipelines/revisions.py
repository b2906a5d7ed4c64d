"""Revised figures (indicators.md, "Revisions (v2)"): what changed since the previous published refresh.

A figure published in one refresh can change in a later one (late records, resubmitted files,
records re-sent with a new end date). Each refresh compares its ``indicator_values`` with those of
the previous *published* refresh of the same marts folder (``<marts-dir>/pmf.duckdb``, read
read-only before the new one replaces it). A figure is revised when its numerator, denominator or
value differs (values: by more than 1e-9 relative) or changes between null and not null. Only
figures present in both refreshes are compared: a quarter first computed now is new, not revised.

The previous refresh's run id is read from its ``build_info`` table (written by every refresh),
or, for a database published before ``build_info`` existed, from the latest published run in its
``refresh_log``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

DATE = pd.ArrowDtype(pa.date32())  # DATE in DuckDB even for an empty table

KEY = ["indicator_code", "la_code", "period"]
COMPARED = ["numerator", "denominator", "value"]
RELATIVE_TOLERANCE = 1e-9

REVISION_COLUMNS = [
    "indicator_code",
    "la_code",
    "period",
    "period_start",
    "previous_numerator",
    "previous_denominator",
    "previous_value",
    "numerator",
    "denominator",
    "value",
    "revised_fields",
    "previous_run_id",
    "run_id",
]


@dataclass(frozen=True)
class Published:
    run_id: str | None
    values: pd.DataFrame  # indicator_code, la_code, period, numerator, denominator, value


def is_revised(previous: object, current: object, *, is_count: bool) -> bool:
    """True when a figure changed: null <-> not null, a count that differs, or a value that differs
    by more than 1e-9 relative (|a - b| > 1e-9 × max(|a|, |b|))."""
    return bool(revised(pd.Series([previous], dtype=object), pd.Series([current], dtype=object), is_count=is_count)[0])


def revised(previous: pd.Series, current: pd.Series, *, is_count: bool) -> np.ndarray:
    """``is_revised`` for each pair of figures at once."""
    before = previous.to_numpy(dtype=float, na_value=np.nan)
    after = current.to_numpy(dtype=float, na_value=np.nan)
    before_missing, after_missing = np.isnan(before), np.isnan(after)
    with np.errstate(invalid="ignore"):
        if is_count:
            differs = np.trunc(before) != np.trunc(after)
        else:  # math.isclose(before, after, rel_tol=RELATIVE_TOLERANCE, abs_tol=0): equal, or finite and near
            near = np.abs(before - after) <= RELATIVE_TOLERANCE * np.maximum(np.abs(before), np.abs(after))
            differs = ~((before == after) | (np.isfinite(before) & np.isfinite(after) & near))
    return np.where(before_missing | after_missing, before_missing != after_missing, differs)


def read_published(marts_path: Path) -> Published | None:
    """The published marts' indicator figures and run id; None when nothing is published yet."""
    if not marts_path.exists():
        return None
    try:
        with duckdb.connect(str(marts_path), read_only=True) as con:
            tables = {row[0] for row in con.execute("select table_name from duckdb_tables()").fetchall()}
            values = con.execute(
                "select indicator_code, la_code, period, numerator, denominator, value from indicator_values"
            ).df()
            run_id = None
            if "build_info" in tables:
                run_id = con.execute("select any_value(run_id) from build_info").fetchone()[0]
            elif "refresh_log" in tables:
                row = con.execute(
                    "select run_id from refresh_log where outcome = 'published' order by started_at desc limit 1"
                ).fetchone()
                run_id = row[0] if row else None
    except duckdb.Error as error:
        raise RuntimeError(
            f"cannot read the published marts {marts_path} to list revised figures: {error}"
        ) from error
    return Published(run_id, values)


def revisions_frame(previous: Published | None, current: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """``indicator_revisions``: one row per figure of ``current`` (indicator_values columns) revised
    since ``previous``; empty when there is no previous publish."""
    if previous is None:
        return _typed(pd.DataFrame(columns=REVISION_COLUMNS))
    old = previous.values.rename(columns={column: f"previous_{column}" for column in COMPARED})
    both = current[[*KEY, "period_start", *COMPARED]].merge(old, on=KEY, how="inner")
    fields = np.full(len(both), "", dtype=object)
    for column in COMPARED:  # "numerator;value": the changed ones, in COMPARED's order
        changed = revised(both[f"previous_{column}"], both[column], is_count=column != "value")
        fields = np.where(changed, np.where(fields == "", column, fields + ";" + column), fields)
    both["revised_fields"] = fields
    both = both[both["revised_fields"] != ""].copy()
    both["previous_run_id"] = previous.run_id
    both["run_id"] = run_id
    return _typed(both[REVISION_COLUMNS].sort_values(["indicator_code", "la_code", "period_start"]))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    for column in ("previous_numerator", "previous_denominator", "numerator", "denominator"):
        frame[column] = frame[column].astype("Int64")
    for column in ("previous_value", "value"):
        frame[column] = frame[column].astype("Float64")
    for column in ("indicator_code", "la_code", "period", "revised_fields", "previous_run_id", "run_id"):
        frame[column] = frame[column].astype("string")
    frame["period_start"] = pd.to_datetime(frame["period_start"]).astype(DATE)
    return frame
