"""Reading the marts once for the board workbook, and deciding once what each figure may show.

The workbook is generated from the marts alone: it selects, formats and applies the small-number
rule (``suppression``) but never computes an indicator value, a status, an SPC reading or a
comparison. The v2 marts (``indicator_spc``, ``indicator_benchmark``, ``indicator_revisions``
and the ``work_plan_status`` columns ``spc_variation``, ``tees_comparison``, ``is_red_red``)
are optional: when one is absent, the parts of the workbook that show it are left out with a
note (``MartsExtract.missing``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.board.suppression import FigureCounts, ShownFigure, protect_figures, suppress
from pipelines.config import Settings
from pipelines.periods import Quarter

TEES = "Tees"  # the Tees figure's area key in ``MartsExtract.shown``
V2_STATUS_COLUMNS = ("spc_variation", "tees_comparison", "is_red_red")
OPTIONAL_TABLES = ("indicator_spc", "indicator_benchmark", "indicator_revisions")
MISSING_NOTES = {
    "indicator_spc": "SPC (process limits, variation) is not shown: the marts have no indicator_spc table.",
    "indicator_benchmark": "The Tees comparison is not shown: the marts have no indicator_benchmark table.",
    "indicator_revisions": "Revisions are not marked: the marts have no indicator_revisions table.",
    "work_plan_status.spc_variation": "SPC variation by line is not shown: work_plan_status has no spc_variation.",
    "work_plan_status.tees_comparison": "The Tees comparison by line is not shown: work_plan_status has no "
                                        "tees_comparison.",
    "work_plan_status.is_red_red": "Red-red lines are not flagged: work_plan_status has no is_red_red.",
}


def plan_line_sort_key(plan: str, line_id: str) -> tuple:
    """Work-plan order: the work plan before the SCR plan, then line ids in natural order
    (``1.1.5`` < ``1.1.10``, ``2.2.4a`` < ``2.2.4b`` < ``2.2.5``, ``SCR-6.4`` < ``SCR-S1``)."""
    parts = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.findall(r"\d+|\D+", line_id))
    return (0 if plan == "work_plan" else 1, parts)


@dataclass(frozen=True)
class Revision:
    """A revised figure: what the previous published refresh showed (already suppressed)."""

    previous: ShownFigure
    previous_value: float | None
    previous_run_id: str | None


@dataclass
class MartsExtract:
    """Everything the workbook shows, read once from the marts."""

    period: Quarter
    generated_at: datetime
    board: str
    comparators: list[str]  # the other Tees LAs, in settings order
    definitions: dict[str, dict]  # indicator_code -> row, in order of first plan line
    values: dict[tuple[str, str, str], dict]  # (indicator_code, la_code, period) -> row
    lines: list[dict]  # work_plan_status for the board LA and period, in plan order
    files: list[dict]  # data_quality, every period
    quarantine_counts: list[dict]  # for the period, by extract and rule
    spc: dict[tuple[str, str, str], dict] = field(default_factory=dict)  # (code, la, period) -> indicator_spc
    benchmark: dict[tuple[str, str, str], dict] = field(default_factory=dict)  # (code, la, period) -> row
    revisions: dict[tuple[str, str, str], Revision] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # optional tables/columns absent (MISSING_NOTES keys)
    shown: dict[tuple[str, str, str], ShownFigure] = field(default_factory=dict)  # (code, area, period)
    hidden_spc: set[tuple[str, str]] = field(default_factory=set)  # (code, la) whose mean/limits are hidden
    run_id: str = ""  # the refresh that computed the figures (build_info.built_by_run_id)

    @property
    def has_spc(self) -> bool:
        return "indicator_spc" not in self.missing

    def has_status_column(self, column: str) -> bool:
        return f"work_plan_status.{column}" not in self.missing

    def notes(self) -> list[str]:
        return [MISSING_NOTES[name] for name in self.missing]

    def value_row(self, code: str, la_code: str, period: str | None) -> dict | None:
        return self.values.get((code, la_code, period)) if period else None

    def figure(self, code: str, area: str, period: str | None) -> ShownFigure:
        """What may be shown of one value (every area and quarter, the Tees figure included)."""
        return self.shown.get((code, area, period), ShownFigure(None, None, True))

    def tees_row(self, code: str, period: str | None) -> dict | None:
        return self.benchmark.get((code, self.board, period)) if period else None

    def spc_limits(self, code: str, la_code: str) -> dict | None:
        """The SPC mean and limits of the pack's series (None when absent, too few points or hidden)."""
        rows = [row for (c, la, _), row in self.spc.items() if c == code and la == la_code]
        if not rows or (code, la_code) in self.hidden_spc or rows[0].get("mean") is None:
            return None
        return rows[0]

    def revision(self, code: str, la_code: str, period: str | None) -> Revision | None:
        return self.revisions.get((code, la_code, period)) if period else None


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    rows = con.execute("select table_name, column_name from information_schema.columns").fetchall()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return tables


def _generated_at(con: duckdb.DuckDBPyConnection, columns: dict[str, set[str]]) -> datetime:
    """The latest ``refresh_log.finished_at`` when the marts have one, else now (UTC)."""
    has_log = "finished_at" in columns.get("refresh_log", set())
    finished = con.execute("select max(finished_at) from refresh_log").fetchone()[0] if has_log else None
    if not isinstance(finished, datetime):
        return datetime.now(UTC)
    return finished.astimezone(UTC) if finished.tzinfo else finished.replace(tzinfo=UTC)


def _run_id(con: duckdb.DuckDBPyConnection, columns: dict[str, set[str]]) -> str:
    """The refresh that computed the figures: ``build_info.built_by_run_id``, else the latest run."""
    if "built_by_run_id" in columns.get("build_info", set()):
        return con.execute("select any_value(built_by_run_id) from build_info").fetchone()[0] or ""
    if "run_id" in columns.get("refresh_log", set()):
        row = con.execute("select run_id from refresh_log order by finished_at desc, run_id desc limit 1").fetchone()
        return row[0] if row else ""
    return ""


def read_marts(marts_path: Path, period: Quarter, settings: Settings) -> MartsExtract:
    board = settings.board_la_code
    comparators = list(settings.other_comparator_la_codes)
    las = [board, *comparators]
    placeholders = ", ".join("?" * len(las))
    with duckdb.connect(str(marts_path), read_only=True) as con:
        columns = _columns(con)
        lines = _fetch(con, "select * from work_plan_status where la_code = ? and period = ?", [board, period.label])
        if not lines:
            present = con.execute("select distinct period from work_plan_status order by 1").fetchall()
            raise ValueError(
                f"the marts {marts_path} have no work-plan status for {board} in {period.label}"
                f" (periods present: {', '.join(row[0] for row in present) or 'none'})"
            )
        definitions = _fetch(con, "select * from indicator_definitions order by indicator_code")
        values = _fetch(con, f"select * from indicator_values where la_code in ({placeholders})", las)
        files = _fetch(con, "select * from data_quality order by period, extract, file_name")
        quarantine_counts = _fetch(
            con,
            """
            select extract, rule, string_agg(distinct column_name, ', ' order by column_name) as column_names,
                count(*) as rows_quarantined
            from quarantine
            where period in (?, ?)
            group by extract, rule
            order by extract, rule
            """,
            [period.label, period.folder_id],
        )
        optional = {}
        for table in OPTIONAL_TABLES:
            if table in columns:
                where = f" where la_code in ({placeholders})"
                optional[table] = _fetch(con, f"select * from {table}{where}", las)
        generated_at = _generated_at(con, columns)
        run_id = _run_id(con, columns)
    missing = [table for table in OPTIONAL_TABLES if table not in optional]
    missing += [f"work_plan_status.{column}" for column in V2_STATUS_COLUMNS
                if column not in columns.get("work_plan_status", set())]

    lines.sort(key=lambda row: (plan_line_sort_key(row["plan"], row["line_id"]), row["indicator_code"] or ""))
    first_line: dict[str | None, int] = {}
    for index, row in enumerate(lines):
        first_line.setdefault(row["indicator_code"], index)
    definitions.sort(key=lambda row: (first_line.get(row["indicator_code"], len(lines)), row["indicator_code"]))
    data = MartsExtract(
        period=period,
        generated_at=generated_at,
        run_id=run_id,
        board=board,
        comparators=comparators,
        definitions={row["indicator_code"]: row for row in definitions},
        values={(row["indicator_code"], row["la_code"], row["period"]): row for row in values},
        lines=lines,
        files=files,
        quarantine_counts=quarantine_counts,
        spc={(row["indicator_code"], row["la_code"], row["period"]): row for row in optional.get("indicator_spc", [])
             if row["period"] is not None},
        benchmark={(row["indicator_code"], row["la_code"], row["period"]): row
                   for row in optional.get("indicator_benchmark", [])},
        missing=missing,
    )
    decide_what_is_shown(data, settings.suppress_counts_below)
    data.revisions = _revisions(optional.get("indicator_revisions", []), data, settings.suppress_counts_below)
    return data


def decide_what_is_shown(data: MartsExtract, below: int) -> None:
    """Suppression for every figure the workbook may show, decided once per indicator and quarter
    across the Tees LAs and the Tees figure (``suppression.protect_figures``), and the SPC mean
    and limits of a series hidden when any of its points is (the mean would give that point away)."""
    groups: dict[tuple[str, str], dict[str, FigureCounts]] = {}
    for (code, la_code, period), row in data.values.items():
        groups.setdefault((code, period), {})[la_code] = FigureCounts(row["numerator"], row["denominator"])
    for (code, period), areas in groups.items():
        definition = data.definitions.get(code)
        if definition is None:
            continue
        tees = data.tees_row(code, period)
        has_total = tees is not None and set(areas) == {data.board, *data.comparators}
        if has_total:
            areas = {**areas, TEES: FigureCounts(tees["comparator_numerator"], tees["comparator_denominator"])}
        shown = protect_figures(definition["unit"], areas, below=below, counts_shown_for={data.board},
                                total=TEES if has_total else None)
        for area, figure in shown.items():
            data.shown[(code, area, period)] = figure
        if tees is not None and not has_total:  # the Tees members are not all in the marts: the Tees figure alone
            data.shown[(code, TEES, period)] = suppress(tees["comparator_numerator"], tees["comparator_denominator"],
                                                        definition["unit"], below=below)
    for (code, la_code, period) in data.spc:
        if data.figure(code, la_code, period).is_value_hidden:
            data.hidden_spc.add((code, la_code))


def _revisions(rows: list[dict], data: MartsExtract, below: int) -> dict[tuple[str, str, str], Revision]:
    revisions = {}
    for row in rows:
        definition = data.definitions.get(row["indicator_code"])
        if definition is None:
            continue
        previous = suppress(row["previous_numerator"], row["previous_denominator"], definition["unit"], below=below)
        revisions[(row["indicator_code"], row["la_code"], row["period"])] = Revision(
            previous=previous, previous_value=row["previous_value"], previous_run_id=row.get("previous_run_id"))
    return revisions


__all__ = ["TEES", "MartsExtract", "Revision", "plan_line_sort_key", "read_marts"]
