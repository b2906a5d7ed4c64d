"""Nothing changed? A refresh that would reproduce the published outputs exactly re-publishes
them as they are, with its own run added to ``refresh_log``, instead of building them again."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path

import duckdb

from pipelines import __version__, pseudonymise
from pipelines.config import PROJECT_ROOT, Settings
from pipelines.intake import IntakeResult
from pipelines.keptstate import KeptState, add_files, add_library_versions
from pipelines.periods import Quarter
from pipelines.publish import MARTS_FILE, Build, copy_published, export_parquet
from pipelines.runlog import RefreshSummary, refresh_log_frame

_OUTPUT_CODE = ("pipelines", "sql", "expectations")
_OUTPUT_LIBRARIES = ("duckdb", "openpyxl", "pandas", "pyarrow", "scipy", "great_expectations", "python-calamine")


def outputs_fingerprint(result: IntakeResult, settings: Settings, period: Quarter) -> str:
    """Everything the published outputs depend on, but for the run's id and times: the validated
    submissions (their files' bytes), the reference files, the settings, the board period, the
    code and library versions, and the pseudonymisation key (by a keyed hash, never the key)."""
    digest = hashlib.sha256()
    for folder in _OUTPUT_CODE:
        add_files(digest, PROJECT_ROOT / folder, PROJECT_ROOT)
    add_files(digest, settings.reference_dir, settings.reference_dir)
    add_library_versions(digest, _OUTPUT_LIBRARIES)
    digest.update(json.dumps([e.name for e in result.entries]).encode())
    digest.update(settings.model_dump_json().encode() + period.label.encode() + __version__.encode())
    digest.update(hmac.new(pseudonymise.load_key(), b"pmf outputs fingerprint", hashlib.sha256).digest())
    return digest.hexdigest()


def unchanged_since(state: KeptState, marts_dir: Path, fingerprint: str, summary: RefreshSummary | None = None) -> str | None:
    """The run id of the published refresh whose outputs this one would reproduce exactly, if any
    (and then, into ``summary``, their indicator counts: a rerun computes none).

    Its outputs can be re-published as they are when they were made from the same everything
    (``outputs_fingerprint``), are still the published ones, and list no revisions (a rerun's
    revisions against them are none: re-publishing theirs would repeat stale ``r`` markers).
    """
    published = state.published()
    marts = marts_dir / MARTS_FILE
    if not published or published.get("fingerprint") != fingerprint or not marts.exists():
        return None
    try:
        with duckdb.connect(str(marts), read_only=True) as con:
            latest = con.execute(
                "select run_id from refresh_log where outcome = 'published' order by finished_at desc, run_id desc limit 1"
            ).fetchone()
            tables = {row[0] for row in con.execute("select table_name from duckdb_tables()").fetchall()}
            revised = con.execute("select count(*) from indicator_revisions").fetchone()[0] if "indicator_revisions" in tables else 0
            rows, available = con.execute("select count(*), count(value) from indicator_values").fetchone()
    except duckdb.Error:
        return None
    if latest is None or latest[0] != published.get("run_id") or revised:
        return None
    if summary is not None:
        summary.indicator_rows, summary.indicator_values_available = int(rows), int(available)
    return published["run_id"]


def republish_unchanged(
    build: Build, marts_dir: Path, current: dict, previous_run_id: str, progress: Callable[[str], None]
) -> None:
    """The published outputs, copied into this run's build as they are, with this run added to
    ``refresh_log`` (in the database and its Parquet copy): nothing else would change."""
    progress(f"Nothing changed since refresh {previous_run_id} (same files, reference data, settings and code): "
             "re-publishing its outputs with this run's record")
    copy_published(marts_dir, build)
    frame = refresh_log_frame(marts_dir, current)
    with duckdb.connect(str(build.marts_path)) as con:
        con.register("_frame", frame)
        con.execute("delete from refresh_log")  # keeps the table's comments
        con.execute("insert into refresh_log by name select * from _frame")
        con.unregister("_frame")
        con.execute("update build_info set run_id = ?", [build.run_id])  # the next refresh compares with this run
        con.execute("checkpoint")
        export_parquet(build.marts_path, build.parquet_dir, ["refresh_log", "build_info"], con)
