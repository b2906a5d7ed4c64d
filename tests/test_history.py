"""Records re-sent in later periods, late-recorded events and resubmitted files, from real files
through intake and the staging SQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from extract_rows import rows_for, write_csv
from query_rows import query_rows
from repo_paths import REFERENCE_DIR
from pipelines import models, pseudonymise
from pipelines.indicators import indicator_counts, load_registry
from pipelines.intake import intake


@contextmanager
def refresh_sql(raw_dir: Path, population: pd.DataFrame | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Intake plus every staging/intermediate/indicator model, on an in-memory database that is
    closed when the ``with`` block ends."""
    with duckdb.connect() as con:
        con.execute("attach ':memory:' as work")
        result = intake(raw_dir, con, progress=lambda message: None)
        assert not result.rejected, [r.message for r in result.rejected]
        folders = pd.DataFrame([(q.label, q.start_date, q.end_date) for q in result.periods], columns=["period", "period_start", "period_end"])
        con.register("folders", folders)
        con.execute("create table work.main.period_folders as select * from folders")
        population = population if population is not None else pd.DataFrame(
            [("E06000001", 2018, age, 1000) for age in range(25)], columns=["la_code", "year", "age", "persons"]
        )
        con.register("population_frame", population)
        con.execute("create table ref_population as select * from population_frame")
        con.execute("set search_path = 'memory.main,work.main'")
        pseudonymise.register(con, b"k" * 32)
        models.run_macros(con)
        models.run_models(con, models.discover_models(layers=("staging", "intermediate", "indicators")), published_schema="main", work_schema="main")
        yield con


def placed_counts(con: duckdb.DuckDBPyConnection, code: str, columns: list[str]) -> list[tuple]:
    """The indicator's rows for every LA × quarter (by LA, then quarter), as the refresh places its
    SQL's counts on the spine."""
    frame = indicator_counts(con, registry={code: load_registry()[code]}, schema="main")
    return list(frame[columns].itertuples(index=False, name=None))


def test_an_open_cp_plan_resent_with_its_end_date_replaces_the_earlier_copy(raw_dir):
    open_plans = rows_for("la_cp_plans", 30, plan_start_date="2018-08-01")
    for index, row in enumerate(open_plans):
        row["child_id"] = f"{index:05d}"
    write_csv(raw_dir / "2018-19-Q2" / "la_cp_plans.csv", open_plans)
    resent = [dict(row) for row in open_plans]
    resent[0]["plan_end_date"] = "2018-11-15"
    resent[1]["latest_category"] = "EMO"
    write_csv(raw_dir / "2018-19-Q3" / "la_cp_plans.csv", resent)
    with refresh_sql(raw_dir) as con:
        plans = {row["plan_id"]: row for row in query_rows(con, "select * from stg_la__cp_plans")}
        counts = placed_counts(con, "CPP_NEGLECT", ["period", "numerator"])
    assert len(plans) == 30
    ended, recategorised = plans[resent[0]["plan_id"]], plans[resent[1]["plan_id"]]
    assert (ended["plan_end_date"], ended["latest_category"], ended["received_period"]) == (
        date(2018, 11, 15), "NEG", "2018-19 Q3")
    assert (recategorised["plan_end_date"], recategorised["latest_category"], recategorised["received_period"]) == (
        None, "EMO", "2018-19 Q3")
    # The plans started in Q2 and count there once, whichever copy is kept.
    assert counts == [("2018-19 Q2", 30), ("2018-19 Q3", 0)]


def test_a_late_recorded_event_counts_in_the_quarter_of_its_date(raw_dir):
    q2 = rows_for("police_da_incidents", 25, reported_at="2018-08-01 10:00", dash_risk="HIGH", marac_referral="Y")
    q3 = rows_for("police_da_incidents", 25, reported_at="2018-11-01 10:00", dash_risk="HIGH", marac_referral="N")
    for row in q3:
        row["incident_id"] = row["incident_id"].replace("I1", "I3")
    q3[0]["reported_at"] = "2018-09-30 23:00"  # late: sent in Q3's file, happened in Q2
    q3[0]["marac_referral"] = "Y"
    write_csv(raw_dir / "2018-19-Q2" / "police_da_incidents.csv", q2)
    write_csv(raw_dir / "2018-19-Q3" / "police_da_incidents.csv", q3)
    with refresh_sql(raw_dir) as con:
        marac = placed_counts(con, "MARAC", ["period", "numerator", "denominator"])
    assert marac == [("2018-19 Q2", 26, 26), ("2018-19 Q3", 0, 24)]


def test_a_resubmitted_file_replaces_the_old_one_on_the_next_refresh(raw_dir):
    path = raw_dir / "2018-19-Q3" / "police_da_incidents.csv"
    rows = rows_for("police_da_incidents", 40, dash_risk="HIGH", marac_referral="N")
    write_csv(path, rows)
    def marac() -> list[tuple]:
        with refresh_sql(raw_dir) as con:
            return placed_counts(con, "MARAC", ["numerator", "denominator"])

    first = marac()
    for row in rows[:10]:
        row["marac_referral"] = "Y"
    write_csv(path, rows[:38])  # the force re-sends the quarter: 10 now referred, 2 rows withdrawn
    second = marac()
    assert (first, second) == ([(0, 40)], [(10, 38)])


def test_a_lead_rag_outside_the_four_values_is_rejected_naming_the_line(tmp_path):
    import shutil

    import pytest

    from pipelines.config import Settings
    from pipelines.refresh import InputRejected, load_reference

    reference = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, reference)
    updates = pd.read_csv(reference / "plan_line_updates.csv", dtype=str, keep_default_na=False)
    updates.loc[updates["line_id"] == "1.1.1", "rag"] = "G"
    updates.to_csv(reference / "plan_line_updates.csv", index=False)
    with duckdb.connect() as con:
        con.execute("attach ':memory:' as marts")
        with pytest.raises(InputRejected, match=r"plan_line_updates.csv: rag must be green, amber, red or grey \(line 1.1.1: 'G'\)"):
            load_reference(con, Settings(reference_dir=reference))
