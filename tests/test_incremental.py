"""Incremental = full: after each kind of change, a refresh that keeps its state between runs
publishes, table by table, what a refresh from nothing publishes; and it reads only what changed.

Each world is a few small files written here, so the duplicate-key and orphan outcomes the
changes flip are known from the contract, not from the code.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from extract_rows import rows_for, write_csv
from publish_checks import sorted_rows
from pipelines import batch as intake_module
from pipelines import keptmarts, models, pseudonymise, validate
from pipelines.intake import load_raw_tables, validate_all
from pipelines.keptstate import KeptState

Q3, Q4 = "2018-19-Q3", "2018-19-Q4"
SQL_LAYERS = ("staging", "intermediate", "indicators")


def _cp_plans(prefix: str, la_code: str, n: int = 40, start: str = "2018-10-05") -> list[dict]:
    rows = rows_for("la_cp_plans", n, la_code=la_code, plan_start_date=start)
    for index, row in enumerate(rows):
        row["plan_id"] = f"{prefix}-{index:03d}"
        row["child_id"] = f"{prefix}{index:05d}"
    return rows


def _incidents(ids: list[str], reported_at: str = "2018-10-03 14:05") -> list[dict]:
    rows = rows_for("police_da_incidents", len(ids), reported_at=reported_at)
    for row, incident_id in zip(rows, ids, strict=True):
        row["incident_id"] = incident_id
    return rows


def _children(incident_ids: list[str]) -> list[dict]:
    rows = rows_for("police_da_children", len(incident_ids))
    for row, incident_id in zip(rows, incident_ids, strict=True):
        row["incident_id"] = incident_id
    return rows


@pytest.fixture
def world(raw_dir: Path) -> Path:
    """One quarter: cp plans split over two LAs' files, incidents, and children of them."""
    folder = raw_dir / Q3
    write_csv(folder / "la_cp_plans--E06000001.csv", _cp_plans("A", "E06000001"))
    write_csv(folder / "la_cp_plans--E06000002.csv", _cp_plans("B", "E06000002"))
    incident_ids = [f"I{index:03d}" for index in range(40)]
    write_csv(folder / "police_da_incidents.csv", _incidents(incident_ids))
    write_csv(folder / "police_da_children.csv", _children(incident_ids[:39] + ["I-LATE"]))  # I-LATE: an orphan
    return raw_dir


KEY = b"k" * 32


def published(raw_dir: Path, state: KeptState) -> tuple[dict[str, pd.DataFrame], object]:
    """What a refresh publishes from intake on: data_quality, quarantine, and every raw (views), staging,
    intermediate and indicator table, each sorted so that row order does not matter."""
    tables, result, _ = published_with_modes(raw_dir, state)
    return tables, result


def published_with_modes(raw_dir: Path, state: KeptState) -> tuple[dict[str, pd.DataFrame], object, dict[str, str]]:
    """``published``, built as a refresh builds: the staging tables start from this kept state's
    last "published" marts (a database file beside it) where ``pipelines.keptmarts`` plans so;
    also returns each staging model's mode (keep, extend, build)."""
    result = validate_all(raw_dir, state=state, progress=lambda message: None)
    basis = keptmarts.staging_basis(result.entries, KEY)
    marts = state.root.with_name(f"{state.root.name}-marts.duckdb")
    recorded = state.published() or {}
    plan = keptmarts.plan_staging(recorded.get("staging"), basis, marts if marts.exists() else None)
    build = marts.with_name(f"{state.root.name}-build.duckdb")
    build.unlink(missing_ok=True)
    keptmarts.start_from_published(plan, build)
    con = duckdb.connect()
    con.execute("attach ':memory:' as work")
    con.execute(f"attach '{build}' as marts")
    con.execute("use marts")
    con.execute("set search_path = 'marts.main,work.main'")
    plan = keptmarts.keep_tables(con, plan)
    load_raw_tables(con, result)
    folders = pd.DataFrame([(q.label, q.start_date, q.end_date) for q in result.periods], columns=["period", "period_start", "period_end"])
    con.register("folders", folders)
    con.execute("create table work.main.period_folders as select * from folders")
    population = pd.DataFrame([(la, 2018, age, 1000) for la in ("E06000001", "E06000002") for age in range(25)], columns=["la_code", "year", "age", "persons"])
    con.register("population_frame", population)
    con.execute("create table marts.main.ref_population as select * from population_frame")
    pseudonymise.register(con, KEY)
    models.run_macros(con)
    modes = models.run_models(con, models.discover_models(layers=SQL_LAYERS), staging=plan)
    modes = {name: mode for name, mode in modes.items() if name.startswith("stg_")}
    tables = {"data_quality": result.data_quality_frame(), "quarantine": result.quarantine}
    relations = "select table_name from duckdb_tables() union all select view_name from duckdb_views() where not internal"
    for (name,) in con.execute(f"select * from ({relations}) where table_name not in ('folders')").fetchall():
        tables[name] = con.execute(f"select * from {name}").df()
    con.close()
    build.replace(marts)
    state.mark_published("test run", "test", staging=basis)
    return {name: sorted_rows(frame) for name, frame in tables.items()}, result, modes


def assert_incremental_equals_full(raw_dir: Path, kept: KeptState, tmp_path: Path):
    """The kept-state refresh and one from nothing agree on every table; returns the kept run's
    tables, intake result and staging modes."""
    incremental, result, modes = published_with_modes(raw_dir, kept)
    fresh = KeptState(tmp_path / f"fresh-{len(list(tmp_path.glob('fresh-*')))}")
    full, _ = published(raw_dir, fresh)
    assert sorted(incremental) == sorted(full)
    for name in full:
        pd.testing.assert_frame_equal(incremental[name], full[name], check_dtype=False, obj=name)
    return incremental, result, modes


def _quarantined(tables: dict[str, pd.DataFrame]) -> set[tuple[str, int, str]]:
    q = tables["quarantine"]
    return set(zip(q["file_name"], q["row_number"].astype(int), q["rule"], strict=True))


def _modes(modes: dict[str, str]) -> dict[str, str]:
    """How the world's three extracts were staged (``pipelines.keptmarts``)."""
    names = {"cp_plans": "stg_la__cp_plans", "incidents": "stg_police__da_incidents", "children": "stg_police__da_children"}
    return {short: modes[name] for short, name in names.items()}


def test_a_rerun_reads_nothing_and_publishes_the_same(world, tmp_path):
    kept = KeptState(tmp_path / "kept")
    first, result = published(world, kept)
    assert result.files_reused == 0
    again, result, modes = assert_incremental_equals_full(world, kept, tmp_path)
    assert result.files_reused == 4
    for name in first:
        pd.testing.assert_frame_equal(again[name], first[name], check_dtype=False, obj=name)
    assert _modes(modes) == {"cp_plans": "keep", "incidents": "keep", "children": "keep"}


def test_a_new_quarter_reads_only_its_files(world, tmp_path):
    kept = KeptState(tmp_path / "kept")
    published(world, kept)
    folder = world / Q4
    write_csv(folder / "la_cp_plans--E06000001.csv", _cp_plans("C", "E06000001", start="2019-01-10"))
    write_csv(folder / "police_da_incidents.csv", _incidents(["J001", "J002"] + [f"J{i:03d}" for i in range(3, 41)], "2019-01-03 09:00"))
    tables, result, modes = assert_incremental_equals_full(world, kept, tmp_path)
    # The old quarter's cp plans and incidents are reused; its children are re-checked only if a
    # look-up they made changed (the new incidents are other keys: so they are reused too).
    assert result.files_reused == 4
    assert {r.file_name for r in result.files} >= {f"{Q4}/la_cp_plans--E06000001.csv", f"{Q4}/police_da_incidents.csv"}
    assert len(tables["raw_la_cp_plans"]) == 120
    # Only later periods are new: each table is the published one with the new records' rows put in.
    assert _modes(modes) == {"cp_plans": "extend", "incidents": "extend", "children": "extend"}


def test_a_new_quarter_that_resends_records_replaces_their_staged_rows(world, tmp_path):
    """The new quarter re-sends plan A-000 (now ended) and incident I005 (other DASH risk, same
    date: its child's checks are unchanged, so the children's entry is kept): the extended tables
    hold only the new copies, as staging everything from nothing does."""
    kept = KeptState(tmp_path / "kept")
    before, _ = published(world, kept)
    assert len(before["stg_la__cp_plans"]) == 80 and before["stg_la__cp_plans"]["plan_end_date"].isna().all()
    folder = world / Q4
    plans = _cp_plans("A", "E06000001", n=1, start="2018-10-05")
    plans[0]["plan_end_date"] = "2019-02-01"
    write_csv(folder / "la_cp_plans--E06000001.csv", plans)
    incident = _incidents(["I005"])
    was = before["raw_police_da_incidents"].set_index("incident_id").loc["I005", "dash_risk"]
    incident[0]["dash_risk"] = "HIGH" if was != "HIGH" else "MEDIUM"  # codes from the contract
    write_csv(folder / "police_da_incidents.csv", incident)
    after, result, modes = assert_incremental_equals_full(world, kept, tmp_path)
    assert _modes(modes) == {"cp_plans": "extend", "incidents": "extend", "children": "extend"}
    assert result.files_reused == 4  # the children's entry too: I005's date did not change
    plans = after["stg_la__cp_plans"]
    assert len(plans) == 80  # A-000 replaced, not added
    (ended,) = plans.loc[plans["plan_id"] == "A-000", "plan_end_date"]
    assert str(ended)[:10] == "2019-02-01"
    incidents = after["stg_police__da_incidents"]
    (risk,) = incidents.loc[incidents["incident_id"] == "I005", "dash_risk"]
    assert risk == incident[0]["dash_risk"]
    assert len(after["stg_police__da_children"]) == len(before["stg_police__da_children"])


def test_resubmitting_one_split_file_rechecks_duplicates_in_the_other(world, tmp_path):
    kept = KeptState(tmp_path / "kept")
    folder = world / Q3
    # Both LAs' files send plan B-000; the later file in name order (E06000002's) keeps it quarantined.
    first_file = _cp_plans("A", "E06000001")
    first_file[0]["plan_id"] = "B-000"
    write_csv(folder / "la_cp_plans--E06000001.csv", first_file)
    before, _ = published(world, kept)
    assert (f"{Q3}/la_cp_plans--E06000002.csv", 2, "duplicate key") in _quarantined(before)
    # E06000001 resubmits without B-000: E06000002's copy, unchanged, is no longer a duplicate.
    write_csv(folder / "la_cp_plans--E06000001.csv", _cp_plans("A", "E06000001"))
    after, result, modes = assert_incremental_equals_full(world, kept, tmp_path)
    assert not {q for q in _quarantined(after) if q[2] == "duplicate key"}
    assert "B-000" in set(after["raw_la_cp_plans"]["plan_id"])
    assert result.files_reused == 2  # incidents and children: unaffected
    assert _modes(modes) == {"cp_plans": "build", "incidents": "keep", "children": "keep"}


def test_resubmitting_incidents_rechecks_the_children_that_referred_to_them(world, tmp_path):
    kept = KeptState(tmp_path / "kept")
    before, _ = published(world, kept)
    assert (f"{Q3}/police_da_children.csv", 41, "orphan") in _quarantined(before)
    # The police resend the incidents with I-LATE: the unchanged children file's last row is no orphan.
    write_csv(world / Q3 / "police_da_incidents.csv", _incidents([f"I{index:03d}" for index in range(39)] + ["I-LATE"]))
    after, result, modes = assert_incremental_equals_full(world, kept, tmp_path)
    assert not {q for q in _quarantined(after) if q[2] == "orphan"}
    assert result.files_reused == 2  # the two cp plans files
    assert _modes(modes) == {"cp_plans": "keep", "incidents": "build", "children": "build"}


def test_a_changed_incident_date_rechecks_the_childs_dob(world, tmp_path):
    kept = KeptState(tmp_path / "kept")
    published(world, kept)
    # Child P0000 (dob 2010-05-01) belongs to incident I000; resent, I000 is dated before that dob.
    rows = _incidents([f"I{index:03d}" for index in range(40)])
    rows[0]["reported_at"] = "2009-01-01 10:00"
    write_csv(world / Q3 / "police_da_incidents.csv", rows)
    after, _, modes = assert_incremental_equals_full(world, kept, tmp_path)
    assert (f"{Q3}/police_da_children.csv", 2, "dob after event") in _quarantined(after)
    assert _modes(modes) == {"cp_plans": "keep", "incidents": "build", "children": "build"}


def test_a_deleted_file_drops_out(world, tmp_path):
    kept = KeptState(tmp_path / "kept")
    published(world, kept)
    (world / Q3 / "la_cp_plans--E06000002.csv").unlink()
    after, _, modes = assert_incremental_equals_full(world, kept, tmp_path)
    assert set(after["data_quality"]["file_name"]) == {
        f"{Q3}/la_cp_plans--E06000001.csv", f"{Q3}/police_da_incidents.csv", f"{Q3}/police_da_children.csv"
    }
    assert set(after["raw_la_cp_plans"]["la_code"]) == {"E06000001"}
    assert _modes(modes) == {"cp_plans": "build", "incidents": "keep", "children": "keep"}


def test_a_changed_suite_revalidates_its_extract(world, tmp_path, monkeypatch):
    kept = KeptState(tmp_path / "kept")
    bad = _cp_plans("A", "E06000001")
    bad[3]["sex"] = "Q"  # not one of the contract's codes
    write_csv(world / Q3 / "la_cp_plans--E06000001.csv", bad)
    before, _ = published(world, kept)
    assert (f"{Q3}/la_cp_plans--E06000001.csv", 5, "unknown code") in _quarantined(before)
    # A suite without the sex code rule (as if the contract had dropped it).
    suites = tmp_path / "suites"
    shutil.copytree(validate.SUITES_DIR, suites)
    path = suites / "la_cp_plans.json"
    suite = json.loads(path.read_text())
    suite["expectations"] = [e for e in suite["expectations"] if e["kwargs"].get("column") != "sex" or e["type"] != "expect_column_values_to_be_in_set"]
    path.write_text(json.dumps(suite))
    patched = lambda name, suites_dir=suites: suites / f"{name}.json"  # noqa: E731
    monkeypatch.setattr(validate, "suite_path", patched)
    monkeypatch.setattr(intake_module, "suite_path", patched)
    # No cache to clear: the suite is read as the file says now (a warm worker outlives an edit).
    after, result, modes = assert_incremental_equals_full(world, kept, tmp_path)
    assert (f"{Q3}/la_cp_plans--E06000001.csv", 5, "unknown code") not in _quarantined(after)
    assert result.files_reused == 2  # incidents and children: their suites did not change
    assert _modes(modes) == {"cp_plans": "build", "incidents": "keep", "children": "keep"}


def test_deleting_the_kept_state_only_costs_time(world, tmp_path):
    kept = KeptState(tmp_path / "kept")
    first, _ = published(world, kept)
    shutil.rmtree(kept.root)
    again, result = published(world, kept)
    assert result.files_reused == 0
    for name in first:
        pd.testing.assert_frame_equal(again[name], first[name], check_dtype=False, obj=name)


def test_a_kept_entry_is_whole_or_absent(world, tmp_path):
    """Entries are renamed into place only once written: a scratch folder is never taken for one."""
    kept = KeptState(tmp_path / "kept")
    published(world, kept)
    entries = list(kept.intake_dir.glob("*/*/*"))
    assert entries and all((entry / "entry.json").exists() for entry in entries)
    half = kept.scratch()
    (half / "staged.parquet").write_bytes(b"half a file")
    _, result = published(world, kept)
    assert result.files_reused == 4


def _basis(fingerprint: str = "same code", **entries: list[tuple[str, str]]) -> dict:
    return {"fingerprint": fingerprint, "entries": {name: [list(row) for row in rows] for name, rows in entries.items()}}


def test_the_staging_plan_keeps_only_what_later_periods_extend(tmp_path):
    """Which staging tables a build may start from the published ones (``keptmarts.plan_staging``),
    from the kept-state entries each was made of: a table is kept when nothing it reads is new,
    extended when what is new are only later periods, and staged again otherwise."""
    source = tmp_path / "pmf.duckdb"
    source.write_bytes(b"")
    before = _basis(la_cp_plans=[(Q3, "a")], police_da_incidents=[(Q3, "b")], police_da_children=[(Q3, "k")],
                    la_cla_episodes=[(Q3, "c")], la_missing_episodes=[(Q3, "d")], la_vemt_screenings=[(Q4, "e")])
    now = _basis(la_cp_plans=[(Q3, "a"), (Q4, "a4")],     # a later period: extend
                 police_da_incidents=[(Q3, "b2")],        # resubmitted: build
                 police_da_children=[(Q3, "k")],          # unchanged, but its parent is staged again: build
                 la_cla_episodes=[(Q3, "c")],             # unchanged: keep
                 la_missing_episodes=[],                  # deleted: build
                 la_vemt_screenings=[("2018-19-Q2", "e2"), (Q4, "e")])  # an earlier period: build
    plan = keptmarts.plan_staging(before, now, source)
    assert plan.since == {"la_cp_plans": date(2018, 10, 1), "la_cla_episodes": None, "police_da_children": None}
    by_name = {model.name: model for model in models.discover_models(layers=("staging",))}
    assert plan.mode(by_name["stg_la__cp_plans"]) == keptmarts.EXTEND
    assert plan.mode(by_name["stg_la__cla_episodes"]) == keptmarts.KEEP
    assert plan.mode(by_name["stg_police__da_incidents"]) == keptmarts.BUILD
    assert plan.mode(by_name["stg_police__da_children"]) == keptmarts.BUILD  # its parent is staged again
    assert plan.mode(by_name["stg_la__vemt_screenings"]) == keptmarts.BUILD
    other_code = keptmarts.plan_staging(before, {**now, "fingerprint": "other code"}, source)
    assert other_code.source is None and "code, SQL or key changed" in other_code.reason
    assert keptmarts.plan_staging(None, now, source).source is None
    assert keptmarts.plan_staging(before, now, tmp_path / "missing.duckdb").source is None


def test_a_staging_model_that_reads_other_tables_is_never_kept(tmp_path):
    """Only the latest-copy views are followed: a staging model that reads nothing through them,
    or also reads another table, is staged again whatever changed."""
    from pipelines.models import Model

    plan = keptmarts.StagingPlan(tmp_path / "pmf.duckdb", {name: None for name in ("la_cp_plans", "la_cla_episodes")}, "")
    def model(sql: str) -> Model:
        path = tmp_path / f"model-{len(list(tmp_path.glob('model-*')))}.sql"
        path.write_text(sql)
        return Model("stg_la__cp_plans", "staging", path)
    assert plan.mode(model("select * from latest_la_cp_plans")) == keptmarts.KEEP
    assert plan.mode(model("select * from latest_la_cp_plans join ref_population using (la_code)")) == keptmarts.BUILD
    assert plan.mode(model("select * from raw_la_cp_plans")) == keptmarts.BUILD
    assert plan.mode(model("select * from latest_la_cla_episodes")) == keptmarts.BUILD  # not its own extract
    assert plan.mode(model("select * from latest_la_cp_plans join latest_la_cla_episodes using (child_id)")) == keptmarts.BUILD


def test_the_staging_plan_is_only_made_against_the_marts_the_kept_state_recorded(tmp_path):
    """``plan_from_published``: the published database must name the run the kept state recorded
    (a killed publish, or marts restored by hand, do not), and the staging basis must have been
    made with the same key (``staging_basis`` hashes it into its fingerprint)."""
    marts_dir = tmp_path / "marts"
    marts_dir.mkdir()
    with duckdb.connect(str(marts_dir / "pmf.duckdb")) as con:
        con.execute("create table build_info as select 'R1' as run_id")
    state = KeptState(marts_dir / ".pmf")
    entries = [state.intake_dir / "la_cp_plans" / Q3 / "entry-a"]
    basis = keptmarts.staging_basis(entries, KEY)
    assert basis["entries"] == {"la_cp_plans": [[Q3, "entry-a"]]}
    state.mark_published("R1", "outputs", staging=basis)
    assert keptmarts.plan_from_published(state, marts_dir, basis).since == {"la_cp_plans": None}
    other_key = keptmarts.staging_basis(entries, b"another key of 32 bytes or more..")
    assert other_key["fingerprint"] != basis["fingerprint"]
    assert keptmarts.plan_from_published(state, marts_dir, other_key).source is None
    state.mark_published("R2", "outputs", staging=basis)  # a later publish than the database shows
    stale = keptmarts.plan_from_published(state, marts_dir, basis)
    assert stale.source is None and "not the ones the kept state recorded" in stale.reason
