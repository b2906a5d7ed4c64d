"""Tests that keep things in step: registry, SQL, docs, suites, reference data and lint."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

from pipelines.contract import load_contract
from pipelines.docs import stale_docs
from pipelines.indicators import load_registry
from pipelines.models import SQL_DIR, discover_models
from pipelines.validate import SUITES_DIR, stale_suites

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PMF_SHARED_DIR", REPO.parent / "shared"))
SPEC_INDICATORS = SHARED / "spec" / "indicators.md"


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
    plan = pd.read_csv(REPO / "data" / "reference" / "work_plan.csv", dtype=str, keep_default_na=False)
    from_plan = {
        (code.strip(), line)
        for line, codes in zip(plan["line_id"], plan["indicator_codes"], strict=True)
        for code in codes.split(";")
        if code.strip()
    }
    from_registry = {(code, line) for code, indicator in load_registry().items() for line in indicator.evidences}
    assert from_plan == from_registry
    assert {line for _, line in from_registry} <= set(plan["line_id"])


def test_every_model_states_its_grain_and_models_run_in_dependency_order():
    models = discover_models()
    order = {model.name: index for index, model in enumerate(models)}
    for model in models:
        assert model.grain.startswith("one row per"), f"{model.path}: first line must state the grain"
        body = re.sub(r"--[^\n]*", "", model.sql)
        for other in order:
            if other != model.name and re.search(rf"\b{other}\b", body):
                assert order[other] < order[model.name], f"{model.name} runs before {other}"


def test_sql_is_lint_clean():
    result = subprocess.run(
        [sys.executable, "-m", "sqlfluff", "lint", "sql/", "--dialect", "duckdb", "--nocolor"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:]
