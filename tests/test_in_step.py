"""Tests that keep things in step: registry, SQL, docs, suites, reference data and lint."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.contract import load_contract
from pipelines.docs import stale_docs
from pipelines.indicators import load_registry
from pipelines.models import SQL_DIR, discover_models
from pipelines.suites import SUITES_DIR, stale_suites
from repo_paths import REFERENCE_DIR, REPO, SHARED_DIR

SPEC_INDICATORS = SHARED_DIR / "spec" / "indicators.md"


def test_every_registry_code_has_exactly_one_sql_file_and_back():
    files = {path.stem for path in (SQL_DIR / "indicators").glob("*.sql")}
    assert files == {indicator.model_name for indicator in load_registry().values()}


def test_the_registry_holds_every_indicator_of_the_spec():
    table = SPEC_INDICATORS.read_text(encoding="utf-8").split("## The indicators")[1].split("###")[0]
    codes = re.findall(r"^\| ([A-Z_0-9a-z]+) \|", table, flags=re.M)
    codes = [code for code in codes if code != "code"]
    assert len(codes) == 13 and set(codes) == set(load_registry())


def test_every_indicator_sql_file_returns_the_shared_columns():
    for indicator in load_registry().values():
        sql = indicator.sql_path.read_text(encoding="utf-8")
        assert sql.startswith("-- one row per la_code × period"), indicator.sql_path.name
        assert f"'{indicator.code}' as indicator_code" in sql, indicator.sql_path.name


def test_generated_docs_are_current():
    assert stale_docs() == [], "run `pmf docs`"


def test_every_extract_has_one_current_suite():
    assert {path.stem for path in SUITES_DIR.glob("*.json")} == set(load_contract())
    assert stale_suites() == [], "run `pmf suites`"


def test_registry_evidence_matches_the_plan_reference_data():
    plan = pd.read_csv(REFERENCE_DIR / "work_plan.csv", dtype=str, keep_default_na=False)
    from_plan = {
        (code.strip(), line)
        for line, codes in zip(plan["line_id"], plan["indicator_codes"], strict=True)
        for code in codes.split(";")
        if code.strip()
    }
    from_registry = {(code, line) for code, indicator in load_registry().items() for line in indicator.evidences}
    assert from_plan == from_registry
    assert {line for _, line in from_registry} <= set(plan["line_id"])


def tables_read(sql: str) -> set[str]:
    """The tables a query reads, from DuckDB's own parser (json_serialize_sql), independent of the
    way pipelines.models finds dependencies. CTE names appear too; callers keep model names."""
    with duckdb.connect() as con:
        (serialised,) = con.execute("select json_serialize_sql(?)", [sql.strip().rstrip(";")]).fetchone()
    tree = json.loads(serialised)
    assert not tree.get("error"), tree
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "BASE_TABLE":
                found.add(node["table_name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree)
    return found


def test_every_model_states_its_grain():
    for model in discover_models():
        assert model.grain.startswith("one row per"), f"{model.path}: first line must state the grain"


def test_every_model_runs_after_every_model_it_reads():
    models = discover_models()
    order = {model.name: index for index, model in enumerate(models)}
    assert len(order) == len(models) == len(list(SQL_DIR.glob("*/*.sql")))
    read_somewhere = set()
    for model in models:
        for other in tables_read(model.sql) & set(order) - {model.name}:
            read_somewhere.add(other)
            assert order[other] < order[model.name], f"{model.name} runs before {other}, which it reads"
    assert {"int_la_quarters", "int_quarters", "stg_police__da_incidents"} <= read_somewhere  # the parse found them


def _write_models(root: Path, models: dict[str, str]) -> Path:
    for name, sql in models.items():
        layer = {"stg": "staging", "int": "intermediate", "ind": "indicators", "mart": "marts"}[name.split("_")[0]]
        (root / layer).mkdir(parents=True, exist_ok=True)
        (root / layer / f"{name}.sql").write_text(f"-- one row per thing\n{sql}\n", encoding="utf-8")
    return root


def test_models_are_ordered_by_what_they_read_not_by_layer_or_name(tmp_path):
    # Alphabetical or layer order would run int_a before int_b and ind_x before int_b.
    sql_dir = _write_models(tmp_path, {
        "stg_c": "select 1 as k",
        "int_a": "select * from int_b join stg_c using (k)",
        "int_b": "select * from stg_c",
        "ind_x": "select * from int_a",
        "mart_y": "select * from ind_x, int_b",
    })
    assert [model.name for model in discover_models(sql_dir)] == ["stg_c", "int_b", "int_a", "ind_x", "mart_y"]


def test_a_model_name_in_a_comment_or_inside_a_longer_name_is_not_a_dependency(tmp_path):
    # Either mistake would make a cycle (int_p -> int_q -> int_p) and discover_models would fail.
    sql_dir = _write_models(tmp_path, {
        "int_p": "select * from int_q",
        "int_q": "-- built before int_p\nselect * from int_p_source",
    })
    assert [model.name for model in discover_models(sql_dir)] == ["int_q", "int_p"]


def test_sql_is_lint_clean():
    result = subprocess.run(
        [sys.executable, "-m", "sqlfluff", "lint", "sql/", "--dialect", "duckdb", "--nocolor"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:]
