"""The Great Expectations suites: generated from the contract, one per extract, and kept in
``expectations/<extract>.json``.

The suites are committed (``pmf suites`` writes them; a test keeps them in step with the
contract). Each expectation's ``meta`` names the contract rule (``rule``), the column a person
should look at (``column``) and what a failure does (``severity``: ``quarantine`` the row, or a
``warning`` that treats the value as missing). The columns they refer to beyond the contract's
are derived by ``pipelines.validate.prepare``.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.config import PROJECT_ROOT
from pipelines.contract import DATE_FORMATS, EARLIEST_POSSIBLE_DATE, LA_CODE_PATTERN, Extract, load_contract
from pipelines.rules import RowRule

SUITES_DIR = PROJECT_ROOT / "expectations"


def _expectation(kind: str, rule: RowRule, reported_column: str, severity: str = "quarantine", **kwargs: object) -> dict:
    """One expectation; ``reported_column`` is the contract column a failure is reported against."""
    meta = {"rule": rule.value, "column": reported_column, "severity": severity}
    return {"type": kind, "kwargs": kwargs, "meta": meta}


def build_suite(extract: Extract) -> dict:
    """The GX suite (as JSON-able dict) that encodes the contract's row rules for one extract."""
    expectations: list[dict] = []
    add = expectations.append
    event = extract.event_date
    for column in extract.columns:
        name = column.name
        if column.required:
            add(_expectation("expect_column_values_to_not_be_null", RowRule.REQUIRED_MISSING, name, column=name))
        if column.required_when:
            add(
                _expectation(
                    "expect_column_values_to_be_in_set",
                    RowRule.REQUIRED_MISSING,
                    name,
                    column=f"{name}__given_if_required",
                    value_set=[True],
                )
            )
        if column.type in DATE_FORMATS:
            add(
                _expectation(
                    "expect_column_values_to_be_in_set",
                    RowRule.UNPARSEABLE_DATE,
                    name,
                    column=f"{name}__is_date",
                    value_set=[True],
                )
            )
            if column.identifier != "dob":
                add(
                    _expectation(
                        "expect_column_values_to_be_between",
                        RowRule.IMPOSSIBLE_DATE,
                        name,
                        column=f"{name}__at",
                        min_value=f"{EARLIEST_POSSIBLE_DATE}T00:00:00+00:00",
                    )
                )
        if column.type == "code":
            add(
                _expectation(
                    "expect_column_values_to_be_in_set", RowRule.UNKNOWN_CODE, name, column=name, value_set=list(column.codes)
                )
            )
        if column.type == "la_code":
            add(_expectation("expect_column_values_to_match_regex", RowRule.UNKNOWN_CODE, name, column=name, regex=LA_CODE_PATTERN))
        if column.identifier == "nhs_number":
            add(
                _expectation(
                    "expect_column_values_to_be_in_set",
                    RowRule.INVALID_NHS_NUMBER,
                    name,
                    "quarantine" if column.required else "warning",
                    column=f"{name}__is_valid",
                    value_set=[True],
                )
            )
        if column.not_before:
            earlier = extract.column(column.not_before)
            both_datetimes = column.type == earlier.type == "datetime"
            suffix = "__at" if both_datetimes else "__day"
            add(
                _expectation(
                    "expect_column_pair_values_a_to_be_greater_than_b",
                    RowRule.END_BEFORE_START,
                    name,
                    column_A=f"{name}{suffix}",
                    column_B=f"{column.not_before}{suffix}",
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                )
            )
    dob = extract.dob_column
    if dob:
        compared = "_parent_event" if extract.parent else extract.date_compared_with_dob
        limit = "dob__unborn_limit__day" if extract.unborn_days else f"{dob}__day"
        add(
            _expectation(
                "expect_column_pair_values_a_to_be_greater_than_b",
                RowRule.DOB_AFTER_EVENT,
                dob,
                column_A=f"{compared}__day",
                column_B=limit,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
        )
    if event:
        add(
            _expectation(
                "expect_column_pair_values_a_to_be_greater_than_b",
                RowRule.EVENT_AFTER_PERIOD,
                event,
                column_A="_period_end__at",
                column_B=f"{event}__at",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
        )
    add(_expectation("expect_column_values_to_be_in_set", RowRule.DUPLICATE_KEY, extract.key[0], column="_key_is_repeat", value_set=[False]))
    if extract.parent:
        add(
            _expectation(
                "expect_column_values_to_be_in_set",
                RowRule.ORPHAN,
                extract.parent.on,
                column="_parent_is_known",
                value_set=[True],
            )
        )
    return {
        "name": extract.name,
        "expectations": expectations,
        "meta": {
            "generated_from": "pipelines/extracts.toml (pmf suites)",
            "extract": extract.name,
        },
    }


def suite_path(extract_name: str, suites_dir: Path = SUITES_DIR) -> Path:
    return suites_dir / f"{extract_name}.json"


def write_suites(suites_dir: Path = SUITES_DIR) -> list[Path]:
    """Regenerate every suite from the contract (what ``pmf suites`` runs)."""
    suites_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for extract in load_contract().values():
        path = suite_path(extract.name, suites_dir)
        path.write_text(json.dumps(build_suite(extract), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def stale_suites(suites_dir: Path = SUITES_DIR) -> list[str]:
    """Extracts whose committed suite differs from the one the contract generates."""
    stale = []
    for extract in load_contract().values():
        path = suite_path(extract.name, suites_dir)
        if not path.exists() or json.loads(path.read_text(encoding="utf-8")) != build_suite(extract):
            stale.append(extract.name)
    return stale
