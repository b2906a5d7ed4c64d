"""The agencies' guide to the extracts, generated from the contract so it cannot drift.

``pmf docs`` writes ``docs/extracts.md``; a test fails when the committed file is stale.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.config import PROJECT_ROOT
from pipelines.contract import EARLIEST_POSSIBLE_DATE, SOURCE_TITLES, Extract, load_contract
from pipelines.ingest import MISSING_TOKENS
from pipelines.rules import MAX_QUARANTINED_SHARE, FileRule, RowRule

EXTRACTS_DOC = PROJECT_ROOT / "docs" / "extracts.md"
TYPE_WORDS = {
    "text": "text",
    "date": "date (YYYY-MM-DD or DD/MM/YYYY)",
    "datetime": "date and time (YYYY-MM-DD HH:MM[:SS] or DD/MM/YYYY HH:MM[:SS])",
    "code": "code",
    "la_code": "ONS LA code (E06/E07/E08/E09 + 6 digits)",
}


def render_extracts_doc() -> str:
    tokens = ", ".join(f"`{token}`" for token in sorted(MISSING_TOKENS) if token) + " and an empty cell"
    lines = [
        "# What to send: the quarterly extracts",
        "",
        "<!-- Generated from pipelines/extracts.toml by `pmf docs`. Do not edit by hand. -->",
        "",
        "Each quarter (financial-year quarters: Q1 = Apr–Jun … Q4 = Jan–Mar) every agency sends its",
        "extracts into the period's folder, e.g. `data/raw/2018-19-Q3/police_da_incidents.csv`.",
        "",
        "## How files are read",
        "",
        "- CSV (comma-separated, header in the first row; UTF-8 with or without BOM, or Windows-1252 as Excel",
        "  saves it) or XLSX (first worksheet; title rows above the header are fine).",
        "- A submission may be split over several files: `<extract>--<label>.csv`, e.g. `la_cp_plans--E06000001.csv`.",
        "  Re-sending a file for a period replaces it at the next refresh.",
        "- Column names match ignoring case, surrounding spaces, and spaces vs underscores (`Incident ID` =",
        "  `incident_id`). Extra columns are ignored (and listed in the report). Column order does not matter.",
        f"- Missing values: {tokens}. Codes match ignoring case. Identifiers are kept as text (leading zeros kept).",
        "- NHS numbers: 10 digits (spaces allowed). One failing the modulus-11 check is treated as missing",
        "  (where it is required, the row is quarantined).",
        f"- Dates before {EARLIEST_POSSIBLE_DATE} are impossible (except dates of birth). US date order is never assumed.",
        "- A record re-sent in a later period (an open plan, with its end date once it ends) replaces the earlier copy.",
        "",
        "## What happens to bad input",
        "",
        "Rows with a problem are **quarantined** (held back, listed in the validation report with their",
        "spreadsheet row number, column and rule) and the rest of the file is used:",
        "",
        *[f"- **{rule.value}**" for rule in RowRule],
        "",
        "A whole file is **rejected** (and nothing is published until it is fixed) when:",
        "",
        *[f"- {rule.value}" for rule in FileRule if rule is not FileRule.TOO_MANY_QUARANTINED],
        f"- more than {MAX_QUARANTINED_SHARE:.0%} of its data rows are quarantined",
        "",
    ]
    contract = load_contract()
    for source, title in SOURCE_TITLES.items():
        lines += [f"## {title}", ""]
        for extract in (e for e in contract.values() if e.source == source):
            lines += _extract_section(extract)
    return "\n".join(lines).rstrip() + "\n"


def _extract_section(extract: Extract) -> list[str]:
    event = (
        f"the incident's `{extract.parent.event_date}` (from `{extract.parent.extract}`)"
        if extract.parent
        else f"`{extract.event_date}`"
    )
    lines = [
        f"### `{extract.name}` — {extract.title}",
        "",
        f"{extract.grain.capitalize()}. Record key: {', '.join(f'`{k}`' for k in extract.key)}. Event date: {event}.",
    ]
    if extract.note:
        lines.append(extract.note)
    if extract.parent:
        lines.append(f"A row whose `{extract.parent.on}` is in no submitted `{extract.parent.extract}` file is an orphan.")
    lines += ["", "| column | type | required | allowed values / rule |", "|---|---|---|---|"]
    for column in extract.columns:
        rules = []
        if column.codes:
            rules.append(", ".join(column.codes))
        if column.not_before:
            rules.append(f"not before `{column.not_before}`")
        if column.required_when:
            rules.append(f"required when `{column.required_when}` is given")
        if column.identifier == "nhs_number":
            rules.append("modulus-11 check")
        if column.identifier == "dob" and extract.unborn_days:
            rules.append(f"may be up to {extract.unborn_days} days after `{extract.event_date}` (unborn child)")
        elif column.identifier == "dob":
            rules.append(f"not after `{extract.date_compared_with_dob or 'the event date'}`")
        if column.name == extract.event_date:
            rules.append("not after the end of the period")
        if column.description and column.description not in rules:
            rules.append(column.description)
        required = "yes" if column.required else "no"
        lines.append(f"| `{column.name}` | {TYPE_WORDS[column.type]} | {required} | {'; '.join(rules)} |")
    return [*lines, ""]


INDICATORS_DOC = PROJECT_ROOT / "docs" / "indicators.md"


def render_indicators_doc() -> str:
    """The indicator definitions as the board and analysts read them, from the registry."""
    from pipelines.indicators import load_registry

    lines = [
        "# PMF indicators",
        "",
        "<!-- Generated from pipelines/indicators.toml by `pmf docs`. Do not edit by hand. -->",
        "",
        "Every indicator is computed for every LA and quarter the data covers, with a 95% confidence",
        "interval: percentages by the Wilson score interval; rates per 10,000 by Byar's method when the",
        "count is 10 or more and the exact Poisson (chi-squared) interval below 10. A value is not",
        "available (null, with the reason in `status_reason`) when an extract it needs was not received",
        "or its denominator is 0 — never computed as zero. A change is significant when the two 95%",
        "intervals do not overlap (intervals that touch overlap).",
        "",
        "| code | title | unit | better when | evidence for | SQL |",
        "|---|---|---|---|---|---|",
    ]
    registry = load_registry()
    for indicator in registry.values():
        lines.append(
            f"| {indicator.code} | {indicator.title} | {indicator.unit_label} | {indicator.polarity} | "
            f"{', '.join(indicator.evidences)} | `sql/indicators/{indicator.sql_path.name}` |"
        )
    lines.append("")
    for indicator in registry.values():
        lines += [
            f"## {indicator.code} — {indicator.title}",
            "",
            indicator.definition,
            "",
            f"Unit: {indicator.unit_label}; {indicator.polarity} is better. Sources: "
            f"{', '.join(f'`{s}`' for s in indicator.sources)}.",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


GENERATED_DOCS = {"extracts": (lambda: EXTRACTS_DOC, render_extracts_doc), "indicators": (lambda: INDICATORS_DOC, render_indicators_doc)}


def stale_docs() -> list[Path]:
    return [path() for path, render in GENERATED_DOCS.values() if not path().exists() or path().read_text(encoding="utf-8") != render()]


def write_docs() -> list[Path]:
    written = []
    for path, render in GENERATED_DOCS.values():
        path().parent.mkdir(parents=True, exist_ok=True)
        path().write_text(render(), encoding="utf-8")
        written.append(path())
    return written
