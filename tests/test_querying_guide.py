"""docs/querying-the-marts.md stays true: every ```sql block in it runs against a marts database
built by the real pipeline (the CLI on a small generated demo) and returns rows, every published
table is in its table of grains and keys (and those keys are unique), and its Python snippets run.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from demo_world import copy_marts
from pipelines.cli import main
from pipelines.periods import Quarter
from pipelines.publish import STORAGE_VERSION
from query_rows import query_one, query_rows
from repo_paths import REPO

pytestmark = pytest.mark.e2e

GUIDE = REPO / "docs" / "querying-the-marts.md"
FIRST, LAST = Quarter.parse("2018-19 Q1"), Quarter.parse("2018-19 Q4")
# Sent to the first refresh, not to the second: some values are "not received" (the guide's
# example 4 shows why) and the published marts list revised figures (indicator_revisions).
NOT_SENT = ("2018-19-Q2", "health_treatment_episodes")


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", GUIDE.read_text(encoding="utf-8"), flags=re.S | re.M)


SQL_BLOCKS = code_blocks("sql")


def _block_id(sql: str) -> str:
    """The table a query reads first, to tell the parametrised cases apart."""
    match = re.search(r"\bfrom\s+(\w+)", sql)
    return match[1] if match else "query"


@pytest.fixture(scope="module")
def marts(e2e_refresh, tmp_path_factory) -> Path:
    """``data/marts`` as the second of two refreshes of four demo quarters publishes it: the
    session's shared refresh of every file (tests/conftest.py, ``e2e_refresh``), copied, then one
    without a file that the first had (``NOT_SENT``), so that some values are "not received" and
    the figures that file gave are listed as revised (indicator_revisions)."""
    assert (e2e_refresh["exit"], e2e_refresh["first"], e2e_refresh["last"]) == (0, FIRST, LAST)
    root = tmp_path_factory.mktemp("guide")
    marts_dir = copy_marts(e2e_refresh["marts"], root / "data" / "marts")
    raw = shutil.copytree(e2e_refresh["raw"], root / "raw")  # the shared raw files are only read
    folder, extract = NOT_SENT
    withdrawn = list((raw / folder).glob(f"{extract}*"))
    assert withdrawn
    for path in withdrawn:
        path.unlink()
    assert main(["refresh", "--raw-dir", str(raw), "--marts-dir", str(marts_dir), "--config", str(e2e_refresh["config"])]) == 0
    return marts_dir


@pytest.fixture(scope="module")
def con(marts):
    # As the guide says to open it: read-only.
    with duckdb.connect(str(marts / "pmf.duckdb"), read_only=True) as connection:
        yield connection


def test_the_guide_has_six_to_eight_numbered_examples_and_sql_to_run():
    examples = re.findall(r"^\*\*(\d+)\. ", GUIDE.read_text(encoding="utf-8"), flags=re.M)
    assert 6 <= len(examples) <= 8
    assert examples == [str(number) for number in range(1, len(examples) + 1)]
    assert len(SQL_BLOCKS) >= len(examples)


@pytest.mark.parametrize("sql", SQL_BLOCKS, ids=[f"{n}-{_block_id(sql)}" for n, sql in enumerate(SQL_BLOCKS, 1)])
def test_every_sql_example_runs_and_returns_rows(con, sql):
    cursor = con.execute(sql)
    rows = cursor.fetchall()
    assert rows, f"no rows from:\n{sql}"
    assert all(column[0] for column in cursor.description)


def test_the_not_available_example_shows_an_extract_not_received(con):
    (sql,) = [block for block in SQL_BLOCKS if "status_reason" in block and "history_incomplete" in block and "why" in block]
    reasons = {row["why"] for row in query_rows(con, sql)}
    assert "not available: not received: health_treatment_episodes for 2018-19 Q2" in reasons


def _guide_tables() -> dict[str, list[str]]:
    """{table: key columns} from the guide's table of grains and keys."""
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| (.+) \|$", GUIDE.read_text(encoding="utf-8"), flags=re.M)
    return {table: re.findall(r"`(\w+)`", keys) for table, keys in rows}


def test_every_published_table_is_in_the_guide_with_columns_that_exist(con):
    guide = _guide_tables()
    tables = {row["table_name"] for row in query_rows(
        con, "select table_name from duckdb_tables() where database_name = current_database()")}
    assert sorted(guide) == sorted(tables)
    for table, keys in guide.items():
        columns = {row["column_name"] for row in query_rows(
            con, "select column_name from duckdb_columns() where database_name = current_database() and table_name = ?",
            [table],
        )}
        assert keys and set(keys) <= columns, f"{table}: {set(keys) - columns}"


def test_the_key_columns_in_the_guide_are_unique(con):
    for table, keys in _guide_tables().items():
        counts = query_one(con, f"select count(*) as total, count(distinct ({', '.join(keys)})) as keys from {table}")
        assert counts["total"] > 0 and counts["total"] == counts["keys"], table


def test_the_guide_states_the_storage_version_publish_writes():
    text = GUIDE.read_text(encoding="utf-8")
    assert f"storage version {STORAGE_VERSION}" in text
    assert "duckdb -readonly data/marts/pmf.duckdb" in text


def test_the_python_snippets_run(marts, monkeypatch):
    # The snippets use the default path, data/marts/..., relative to the project root.
    monkeypatch.chdir(marts.parents[1])
    snippets = code_blocks("python")
    assert snippets
    for snippet in snippets:
        namespace: dict = {}
        exec(compile(snippet, str(GUIDE), "exec"), namespace)  # noqa: S102 - our own documentation
