"""Run the SQL models in ``sql/``: one ``select`` per file, materialised as a table of the same name.

Layers (STYLE.md): ``staging`` (one per extract: rename, cast, pseudonymise), ``intermediate``
(reusable joins), ``indicators`` (one per indicator, same columns), ``marts``. Staging and marts
tables are published; intermediate and indicator tables live in the refresh's private work
database. Dependencies are read from the SQL itself (any other model's name it mentions), so a
model runs after everything it selects from. ``sql/macros.sql`` is run first.

Staging models read ``latest_<extract>``, not ``raw_<extract>``: temporary views the runner makes
from the contract's key (``latest_copies``), so "latest period wins" is written once.
"""

from __future__ import annotations

import re
import logging
import time
import tomllib
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.config import PROJECT_ROOT
from pipelines.contract import Extract, load_contract

if TYPE_CHECKING:
    from pipelines.keptmarts import StagingPlan

log = logging.getLogger(__name__)

SQL_DIR = PROJECT_ROOT / "sql"
LAYERS = ("staging", "intermediate", "indicators", "marts")
PUBLISHED_LAYERS = ("staging", "marts")


@dataclass(frozen=True)
class Model:
    name: str
    layer: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def grain(self) -> str:
        """The first line's ``-- one row per ...`` comment (STYLE.md), used as the table comment."""
        first = self.sql.lstrip().splitlines()[0]
        return first.removeprefix("--").strip() if first.startswith("--") else ""

    @property
    def is_published(self) -> bool:
        return self.layer in PUBLISHED_LAYERS


def discover_models(sql_dir: Path = SQL_DIR, layers: tuple[str, ...] = LAYERS) -> list[Model]:
    """Every model under ``sql_dir`` in an order where each runs after the models it reads."""
    models = {
        path.stem: Model(path.stem, layer, path)
        for layer in layers
        for path in sorted((sql_dir / layer).glob("*.sql"))
    }
    graph = {
        model.name: {other for other in models if other != model.name and mentions(model, other)}
        for model in models.values()
    }
    return [models[name] for name in TopologicalSorter(graph).static_order()]


def mentions(model: Model, name: str) -> bool:
    return re.search(rf"\b{name}\b", re.sub(r"--[^\n]*", "", model.sql)) is not None


def latest_copy_sql(extract: Extract, source: str | None = None) -> str:
    """The latest copy of every record of ``extract`` (extracts.md, "latest period wins"): a record
    (the contract's key) re-sent in later period folders is taken from the latest folder, and
    within one folder from its last row. Of the rows of ``source`` (default: ``raw_<extract>``)."""
    return (
        f"select * from {source or 'raw_' + extract.name}\n"
        f"qualify row_number() over (\n"
        f"    partition by {', '.join(extract.key)} order by _period_start desc, _row_number desc\n"
        f") = 1"
    )


def latest_copies(contract: dict[str, Extract] | None = None) -> dict[str, str]:
    """``{latest_<extract>: select}`` for every extract of the contract."""
    return {f"latest_{name}": latest_copy_sql(extract) for name, extract in (contract or load_contract()).items()}


def run_macros(con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR) -> None:
    macros = sql_dir / "macros.sql"
    if macros.exists():
        con.execute(macros.read_text(encoding="utf-8"))


def run_model(con: duckdb.DuckDBPyConnection, model: Model, *, published_schema: str, work_schema: str) -> None:
    schema = published_schema if model.is_published else work_schema
    body = model.sql.strip().rstrip(";")
    try:
        con.execute(f"create or replace table {schema}.{model.name} as\n{body}")
    except duckdb.Error as error:
        raise RuntimeError(f"SQL model {model.layer}/{model.name}.sql failed: {error}") from error


def run_models(
    con: duckdb.DuckDBPyConnection,
    models: list[Model],
    *,
    published_schema: str = "marts.main",
    work_schema: str = "work.main",
    staging: StagingPlan | None = None,
) -> dict[str, str]:
    """Run ``models`` in order, after making the ``latest_<extract>`` views they read (temporary,
    so they never land in either database, and views, so each reader's plan is as if inlined).

    With a ``staging`` plan (``pipelines.keptmarts``, after ``keep_tables``), a staging table the
    build started with is kept or extended instead of made again. Returns each model's mode (keep,
    extend or build: ``pipelines.keptmarts``).
    """
    from pipelines import keptmarts

    plan = staging or keptmarts.FULL
    for name, select in latest_copies().items():
        if any(mentions(model, name) for model in models):
            con.execute(f"create or replace temp view {name} as\n{select}")
    modes = {}
    for model in models:
        started = time.perf_counter()
        mode = plan.mode(model)
        if mode == keptmarts.EXTEND and not keptmarts.extend(con, model, plan, published_schema):
            mode = keptmarts.BUILD  # run_model replaces the table (extend changed nothing)
        if mode == keptmarts.BUILD:
            run_model(con, model, published_schema=published_schema, work_schema=work_schema)
        modes[model.name] = mode
        log.info("model %s (%s): %.2f s", model.name, mode, time.perf_counter() - started)
    return modes


# --------------------------------------------------------------------------- comments


def load_column_docs(sql_dir: Path = SQL_DIR) -> dict:
    with open(sql_dir / "docs.toml", "rb") as handle:
        return tomllib.load(handle)


def apply_comments(con: duckdb.DuckDBPyConnection, schema: str, docs: dict, table_comments: dict[str, str]) -> list[str]:
    """COMMENT every table and column of ``schema``; returns the columns left undocumented.

    Column text comes from ``sql/docs.toml``: ``[tables.<table>.columns]`` first, then the shared
    ``[columns]`` dictionary, then the extract contract's description for staging columns.
    """
    con.execute("begin transaction")  # one commit for every comment, not one each
    try:
        undocumented = _apply_comments(con, schema, docs, table_comments)
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")
    return undocumented


def _apply_comments(con: duckdb.DuckDBPyConnection, schema: str, docs: dict, table_comments: dict[str, str]) -> list[str]:
    database, schema_name = schema.split(".")
    undocumented = []
    where = "where database_name = ? and schema_name = ?"
    tables = con.execute(f"select table_name, comment from duckdb_tables() {where} order by table_name", [database, schema_name]).fetchall()
    columns: dict[str, list[tuple[str, str | None]]] = {}
    for table, column, comment in con.execute(
        f"select table_name, column_name, comment from duckdb_columns() {where} order by table_name, column_index",
        [database, schema_name],
    ).fetchall():
        columns.setdefault(table, []).append((column, comment))
    shared = docs.get("columns", {})
    per_table = docs.get("tables", {})
    # A table kept from the published marts already has its comments: only a different text is written.
    for table, current in tables:
        table_doc = per_table.get(table, {})
        comment = table_doc.get("description") or table_comments.get(table, "")
        if comment and comment != current:
            con.execute(f"comment on table {schema}.{table} is {_quote(comment)}")
        for column, current_text in columns.get(table, []):
            text = table_doc.get("columns", {}).get(column) or shared.get(column)
            if not text:
                undocumented.append(f"{table}.{column}")
            elif text != current_text:
                con.execute(f"comment on column {schema}.{table}.{column} is {_quote(text)}")
    return undocumented


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
