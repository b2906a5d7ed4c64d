"""A new quarter extends the published staging tables instead of staging every quarter again.

Staging is most of a new quarter's SQL (writing two million staged rows into the new marts
database), yet a new quarter changes a staging table in one way only: by "latest period wins",
the records its period folder carries replace their earlier copies, and every other row stays
as it was. So when

- the published marts were built by the same code, SQL and pseudonymisation key
  (``staging_basis``' fingerprint), and are still the published ones, and
- every kept-state entry an extract's table was staged from is still current, and what is new
  for the extract is only periods later than any it had,

the build starts from a copy of the published database (``start_from_published``) and each
staging model either keeps its table as it is (nothing new in what it reads: ``KEEP``) or
replaces the rows of the records the new periods carry (``EXTEND``: ``extend``). A child
extract's rows also depend on their parent's latest copy (police_da_children take the child's
age at the incident's date), so a child row is staged again when its incident is re-sent.
Anything else (a resubmitted or deleted file, a changed suite, a period added before the last
one, other code or key, no kept state, ``--rebuild``) stages that table, or every table, from
the raw rows (``BUILD``). Either way the tables hold the same rows (``tests/test_incremental.py``);
only their order on disk differs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import shutil
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import duckdb

from pipelines import __version__
from pipelines.config import PROJECT_ROOT
from pipelines.contract import Extract, load_contract
from pipelines.keptstate import KeptState, add_files, add_library_versions
from pipelines.models import Model, discover_models, latest_copy_sql, mentions
from pipelines.periods import Quarter
from pipelines.publish import MARTS_FILE

log = logging.getLogger(__name__)

KEEP, EXTEND, BUILD = "keep", "extend", "build"
# Tables a staging model could read besides the ``latest_<extract>`` views (none does today).
_OTHER_TABLE = re.compile(r"\b(raw|ref|stg|int|ind)_\w+")
# What a staged row is made by, besides its raw row: any change here stages every table again.
_STAGING_CODE = ("pipelines", "sql")
_STAGING_LIBRARIES = ("duckdb",)


def staging_fingerprint(key: bytes) -> str:
    """The code, SQL, DuckDB version and pseudonymisation key (by a keyed hash, never the key)
    that staged rows are made with."""
    digest = hashlib.sha256(f"pmf {__version__}\n".encode())
    for folder in _STAGING_CODE:
        add_files(digest, PROJECT_ROOT / folder, PROJECT_ROOT)
    add_library_versions(digest, _STAGING_LIBRARIES)
    digest.update(hmac.new(key, b"pmf staging fingerprint", hashlib.sha256).digest())
    return digest.hexdigest()


def staging_basis(entries: list[Path], key: bytes) -> dict:
    """What a build's staging tables are made from: the fingerprint, and each extract's kept-state
    entries as ``[period folder, entry name]`` (an entry is ``intake/<extract>/<period>/<name>``).
    Kept with the publish (``KeptState.mark_published``) for the next refresh's ``plan_staging``."""
    by_extract: dict[str, list[list[str]]] = {}
    for entry in entries:
        by_extract.setdefault(entry.parents[1].name, []).append([entry.parent.name, entry.name])
    return {"fingerprint": staging_fingerprint(key), "entries": {name: sorted(rows) for name, rows in sorted(by_extract.items())}}


@dataclass(frozen=True)
class StagingPlan:
    """How each staging table is made this build: from ``source`` (the published database, copied
    into the build), ``since`` names the extracts whose table can be kept, each with the start
    of the latest period it was staged with (rows after it are new) or None (nothing new)."""

    source: Path | None = None
    since: dict[str, date | None] = field(default_factory=dict)
    reason: str = "no published marts to start from"
    tables: frozenset[str] | None = None  # once the copy is open: the tables it kept (``keep_tables``)

    def mode(self, model: Model, contract: dict[str, Extract] | None = None) -> str:
        """``KEEP``, ``EXTEND`` or ``BUILD`` for a model (only staging models are ever kept)."""
        if self.source is None or model.layer != "staging" or (self.tables is not None and model.name not in self.tables):
            return BUILD
        contract = contract or load_contract()
        own = own_extract(model, contract)
        if own is None:
            return BUILD
        read = read_extracts(model, contract)
        parent = contract[own.name].parent
        if own.name not in read or not read <= {own.name, *([parent.extract] if parent and parent.on in own.key else [])}:
            return BUILD  # it reads another extract in a way this module does not know
        if _OTHER_TABLE.search(re.sub(r"--[^\n]*", "", model.sql)):
            return BUILD  # it reads a table other than the latest copies (which this module cannot follow)
        if any(name not in self.since for name in read):
            return BUILD
        return KEEP if all(self.since[name] is None for name in read) else EXTEND


FULL = StagingPlan()
REBUILD = StagingPlan(reason="--rebuild")


def plan_staging(previous: dict | None, current: dict, source: Path | None) -> StagingPlan:
    """The staging plan from the basis kept with the published marts at ``source`` (``previous``)
    and this build's (``current``)."""
    if source is None or not source.exists() or not previous:
        return FULL
    if previous.get("fingerprint") != current["fingerprint"]:
        return StagingPlan(reason="the code, SQL or key changed since the published marts were built")
    since: dict[str, date | None] = {}
    for name, rows in current["entries"].items():
        now = {tuple(row) for row in rows}
        before = {tuple(row) for row in previous["entries"].get(name, [])}
        if now == before:
            since[name] = None
        elif before and before < now:
            last = max(_period_start(folder) for folder, _ in before)
            if all(_period_start(folder) > last for folder, _ in now - before):
                since[name] = last
    return StagingPlan(source, since, reason="")


def plan_from_published(state: KeptState, marts_dir: Path, current: dict) -> StagingPlan:
    """``plan_staging`` against the published marts of ``marts_dir``, if the kept state's record
    of the last publish (``KeptState.published``) is theirs: the database names that run (a
    re-publish of unchanged outputs names the re-publishing run)."""
    published = state.published() or {}
    source = marts_dir / MARTS_FILE
    if not published.get("staging") or not source.exists():
        return FULL
    try:
        with duckdb.connect(str(source), read_only=True) as con:
            (run_id,) = con.execute("select run_id from build_info").fetchone()
    except (duckdb.Error, TypeError):
        return FULL
    if run_id != published.get("run_id"):
        return StagingPlan(reason="the published marts are not the ones the kept state recorded")
    return plan_staging(published["staging"], current, source.resolve())


def _period_start(folder: str) -> date:
    return Quarter.parse(folder).start_date


def own_extract(model: Model, contract: dict[str, Extract]) -> Extract | None:
    """The extract a staging model stages (``stg_la__cp_plans`` stages ``la_cp_plans``)."""
    return contract.get(model.name.removeprefix("stg_").replace("__", "_"))


def read_extracts(model: Model, contract: dict[str, Extract]) -> set[str]:
    return {name for name in contract if mentions(model, f"latest_{name}")}


def start_from_published(plan: StagingPlan, marts_path: Path) -> None:
    """The build's marts database as a copy of the published one (which stays as it is)."""
    if plan.source is not None:
        shutil.copyfile(plan.source, marts_path)
        marts_path.chmod(0o644)


def keep_tables(con: duckdb.DuckDBPyConnection, plan: StagingPlan, schema: str = "marts.main") -> StagingPlan:
    """Of the copied database, just after it is opened, the staging tables this build keeps or
    extends; every other table is dropped, so that the build holds only what it makes (as one
    from nothing would). Returns the plan with those tables named."""
    if plan.source is None:
        return plan
    database, schema_name = schema.split(".")
    present = {row[0] for row in con.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = ?", [database, schema_name]
    ).fetchall()}
    contract = load_contract()
    kept = {m.name for m in discover_models(layers=("staging",)) if m.name in present and plan.mode(m, contract) != BUILD}
    for table in sorted(present - kept):
        con.execute(f"drop table {schema}.{table}")
    return replace(plan, tables=frozenset(kept))


def extend(con: duckdb.DuckDBPyConnection, model: Model, plan: StagingPlan, schema: str) -> bool:
    """Replace, in the kept table, the rows of every record the new periods carry (and, for a
    child extract, of every child of a re-sent parent) with their newly staged rows. False when
    the table's key cannot be found among its columns (then the caller builds the table)."""
    contract = load_contract()
    own = own_extract(model, contract)
    assert own is not None
    columns = [row[0] for row in con.execute(
        "select column_name from duckdb_columns() where database_name = ? and schema_name = ? and table_name = ?",
        [*schema.split("."), model.name],
    ).fetchall()]
    key = staged_key(model, own, columns)
    if key is None:
        return False
    new = f"_new_{model.name}"
    views = _new_rows_views(own, contract, plan, read_extracts(model, contract))
    body = model.sql.strip().rstrip(";")
    for name, view in views.items():
        con.execute(f"create or replace temp view _new_latest_{name} as\n{view}")
        body = re.sub(rf"\blatest_{name}\b", f"_new_latest_{name}", body)
    con.execute(f"create or replace temp table {new} as\n{body}")
    matches = " and ".join(f"{schema}.{model.name}.{c} is not distinct from {new}.{c}" for c in key)
    con.execute(f"delete from {schema}.{model.name} using {new} where {matches}")
    con.execute(f"insert into {schema}.{model.name} by name select * from {new}")
    (count,) = con.execute(f"select count(*) from {new}").fetchone()
    con.execute(f"drop table {new}")
    for name in views:
        con.execute(f"drop view _new_latest_{name}")
    log.info("model %s: kept, %d rows of new periods staged", model.name, count)
    return True


def _new_rows_views(own: Extract, contract: dict[str, Extract], plan: StagingPlan, read: set[str]) -> dict[str, str]:
    """``{extract: select}`` for the model's ``latest_<extract>`` views, restricted to what the
    changed rows need: the latest copy of every record whose staged row changes (those the new
    periods carry and, for a child extract, the children of the parents they carry), and of the
    parents those rows join to.

    Each is filtered before the latest copy is taken, which is the same as after: a record with a
    copy in the new periods has its latest copy there, and a filter on a column of the key keeps
    or drops every copy of a record alike (the parent's key is part of the child's: ``mode``)."""
    since = plan.since[own.name]
    parent = own.parent
    parent_since = plan.since.get(parent.extract) if parent else None
    changed = [] if since is None else [f"_period_start > '{since}'"]
    if parent_since is not None:
        changed.append(f"{parent.on} in (select {parent.on} from raw_{parent.extract} where _period_start > '{parent_since}')")
    rows = f"(select * from raw_{own.name} where {' or '.join(changed)})"
    views = {own.name: latest_copy_sql(own, source=rows)}
    if parent is not None and parent.extract in read and tuple(contract[parent.extract].key) == (parent.on,):
        parents = f"(select * from raw_{parent.extract} where {parent.on} in (select {parent.on} from {rows}))"
        views[parent.extract] = latest_copy_sql(contract[parent.extract], source=parents)
    return views


def staged_key(model: Model, extract: Extract, columns: list[str]) -> list[str] | None:
    """The staged table's columns that hold the extract's key: each key column as it is, or as
    its pseudonymised key (``pmf_police_key(person_id) as person_key``)."""
    key = []
    for name in extract.key:
        if name in columns:
            key.append(name)
            continue
        found = re.search(rf"\bpmf_\w+\(\s*(?:\w+\.)?{name}\s*\)\s+as\s+(\w+)", model.sql)
        if found is None or found.group(1) not in columns:
            return None
        key.append(found.group(1))
    return key
