"""Revised figures (pipelines/revisions.py; indicators.md, "Revisions (v2)"): the comparison rule on
constructed figures, and reading the previous publish from a real DuckDB file."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from pipelines import revisions
from pipelines.revisions import Published
from query_rows import query_rows

Q1, Q2, Q3 = "2018-19 Q1", "2018-19 Q2", "2018-19 Q3"
STARTS = {Q1: date(2018, 4, 1), Q2: date(2018, 7, 1), Q3: date(2018, 10, 1)}
HPL = "E06000001"


@pytest.mark.parametrize(
    ("previous", "current", "is_count", "revised"),
    [
        (10, 10, True, False),
        (10, 11, True, True),
        (None, 10, True, True),  # null -> not null
        (10, None, True, True),  # not null -> null
        (None, None, True, False),
        (100.0, 100.0 + 100.0 * 0.9e-9, False, False),  # within 1e-9 relative
        (100.0, 100.0 + 100.0 * 1.1e-9, False, True),  # beyond it
        (0.0, 0.0, False, False),
        (0.0, 1e-300, False, True),  # relative: any change from 0 is revised
        (float("nan"), 5.0, False, True),  # pandas' missing float reads as null
    ],
)
def test_what_counts_as_revised(previous, current, is_count, revised):
    assert revisions.is_revised(previous, current, is_count=is_count) is revised


def _figures(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["indicator_code", "la_code", "period", "numerator", "denominator", "value"])
    frame["period_start"] = [STARTS[period] for period in frame["period"]]
    for column in ("numerator", "denominator"):
        frame[column] = frame[column].astype("Int64")
    frame["value"] = frame["value"].astype("Float64")
    return frame


PREVIOUS = _figures([
    ("MARAC", HPL, Q1, 10, 40, 25.0),
    ("MARAC", HPL, Q2, 5, 20, 25.0),  # numerator and value change
    ("MARAC", HPL, Q3, None, None, None),  # now received
    ("LSCB11b", HPL, Q1, 12, 20000, 6.0),  # population revised: denominator and value
    ("LSCB11b", HPL, Q2, 12, 20000, 6.0),  # unchanged
    ("LSCB11b", HPL, Q3, 3, 20000, 1.5),  # now not received
])
CURRENT = _figures([
    ("MARAC", HPL, Q1, 10, 40, 25.0),
    ("MARAC", HPL, Q2, 6, 20, 30.0),
    ("MARAC", HPL, Q3, 7, 28, 25.0),
    ("LSCB11b", HPL, Q1, 12, 24000, 5.0),
    ("LSCB11b", HPL, Q2, 12, 20000, 6.0 * (1 + 1e-12)),  # rounding noise only
    ("LSCB11b", HPL, Q3, None, None, None),
    ("LSCB11b", "E06000002", Q1, 1, 1000, 10.0),  # new figure: not a revision
])


def test_revisions_list_each_changed_figure_by_value():
    frame = revisions.revisions_frame(Published("run-1", PREVIOUS.drop(columns="period_start")), CURRENT, "run-2")
    got = {
        (row["indicator_code"], row["period"]): (
            row["previous_numerator"], row["previous_denominator"], row["previous_value"],
            row["numerator"], row["denominator"], row["value"], row["revised_fields"],
        )
        for row in frame.astype(object).where(frame.notna(), None).to_dict("records")
    }
    assert got == {
        ("MARAC", Q2): (5, 20, 25.0, 6, 20, 30.0, "numerator;value"),
        ("MARAC", Q3): (None, None, None, 7, 28, 25.0, "numerator;denominator;value"),
        ("LSCB11b", Q1): (12, 20000, 6.0, 12, 24000, 5.0, "denominator;value"),
        ("LSCB11b", Q3): (3, 20000, 1.5, None, None, None, "numerator;denominator;value"),
    }
    assert set(frame["previous_run_id"]) == {"run-1"} and set(frame["run_id"]) == {"run-2"}
    assert set(frame["la_code"]) == {HPL}


def test_no_previous_publish_gives_an_empty_table_with_the_columns():
    frame = revisions.revisions_frame(None, CURRENT, "run-1")
    assert frame.empty and list(frame.columns) == revisions.REVISION_COLUMNS
    with duckdb.connect() as con:
        con.register("frame", frame)
        types = {row["column_name"]: row["column_type"]
                 for row in query_rows(con, "select column_name, column_type from (describe select * from frame)")}
    assert (types["numerator"], types["value"], types["run_id"], types["period_start"]) == (
        "BIGINT", "DOUBLE", "VARCHAR", "DATE",
    )


def _publish(path, *, with_build_info: bool) -> None:
    with duckdb.connect(str(path)) as con:
        con.register("frame", PREVIOUS)
        con.execute("create table indicator_values as select * from frame")
        con.execute("create table refresh_log (run_id varchar, started_at timestamp, outcome varchar)")
        con.execute(
            "insert into refresh_log values ('run-0', '2019-01-01 10:00', 'published'), "
            "('run-1', '2019-04-01 10:00', 'published'), ('run-x', '2019-04-02 10:00', 'failed')"
        )
        if with_build_info:
            con.execute("create table build_info as select 'run-1b' as run_id")


def test_the_previous_run_id_comes_from_build_info(tmp_path):
    _publish(tmp_path / "pmf.duckdb", with_build_info=True)
    published = revisions.read_published(tmp_path / "pmf.duckdb")
    assert published.run_id == "run-1b"
    assert len(published.values) == len(PREVIOUS)


def test_without_build_info_the_latest_published_run_of_refresh_log(tmp_path):
    _publish(tmp_path / "pmf.duckdb", with_build_info=False)
    assert revisions.read_published(tmp_path / "pmf.duckdb").run_id == "run-1"


def test_nothing_published_yet(tmp_path):
    assert revisions.read_published(tmp_path / "pmf.duckdb") is None


def test_an_unreadable_previous_publish_is_a_clear_error(tmp_path):
    (tmp_path / "pmf.duckdb").write_text("not a database")
    with pytest.raises(RuntimeError, match="cannot read the published marts .*pmf.duckdb to list revised figures"):
        revisions.read_published(tmp_path / "pmf.duckdb")
