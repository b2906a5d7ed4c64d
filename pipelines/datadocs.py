"""The validation site: Great Expectations Data Docs of a refresh, with no identifier in them.

``build_site`` renders every suite in ``expectations/`` and the run's validation results (plain
JSON, ``ExpectationSuiteValidationResult.to_json_dict()``, so that results can come from worker
processes or a cache) into ``<site_dir>/index.html`` with GX's own site builder, from an
ephemeral GX context.

GX shows the values it did not expect verbatim: an invalid NHS number, an agency person id or a
date of birth would appear on the page. ``mask_result`` first replaces every value of an
identifier column (and of the columns derived from one, ``dob__day``) by its shape, as the
quarantine table does (``9999999999``, ``9999-99-99``); every other value is kept. It also keeps
GX's summary of the unexpected values (the first 20 and their counts) rather than the complete
lists, which for a large file would make pages of thousands of rows.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

from pipelines.contract import Extract, load_contract
from pipelines.suites import SUITES_DIR
from pipelines.validate import mask_value

SITE_NAME = "pmf"
COMPLETE_ONLY = ("unexpected_list", "unexpected_index_list", "unexpected_index_query", "unexpected_rows")
COUNTS = {"element_count", "unexpected_count", "unexpected_percent", "unexpected_percent_total",
          "unexpected_percent_nonmissing", "missing_count", "missing_percent", "partial_unexpected_index_list"}


def mask_result(result_json: dict, extract: Extract) -> dict:
    """A copy of one suite's validation result in which no identifier value remains."""
    masked = copy.deepcopy(result_json)
    identifiers = {column.name for column in extract.columns if column.identifier}
    for item in masked.get("results", []):
        kwargs = (item.get("expectation_config") or {}).get("kwargs") or {}
        result = item.get("result") or {}
        for key in COMPLETE_ONLY:
            result.pop(key, None)
        columns = _columns(kwargs)
        bases = [_base(column) for column in columns]
        if not any(base in identifiers for base in bases):
            continue
        single = "column" in kwargs
        for key, value in list(result.items()):
            if key in COUNTS:
                continue
            if key == "partial_unexpected_counts":
                result[key] = _merged_counts([dict(entry, value=_mask(entry.get("value"), bases, extract, single))
                                              for entry in value or []])
            elif key == "partial_unexpected_list":
                result[key] = [_mask(entry, bases, extract, single) for entry in value or []]
            else:  # observed_value, details, anything else GX may add: masked throughout
                result[key] = _mask_everything(value, extract, bases[0] if single else _first_identifier(bases, identifiers))
    return masked


def _columns(kwargs: dict) -> list[str]:
    if "column" in kwargs:
        return [kwargs["column"]]
    if "column_A" in kwargs:
        return [kwargs["column_A"], kwargs["column_B"]]
    return list(kwargs.get("column_list") or [])


def _base(column: str) -> str:
    """The contract column a GX column comes from (``dob__unborn_limit__day`` -> ``dob``)."""
    return column.split("__", 1)[0]


def _first_identifier(bases: list[str], identifiers: set[str]) -> str:
    return next(base for base in bases if base in identifiers)


def _mask(value: object, bases: list[str], extract: Extract, single: bool) -> object:
    """One unexpected value: a scalar of one column, or a row of values of several columns."""
    if single:
        return _mask_scalar(value, bases[0], extract)
    if isinstance(value, (list, tuple)) and len(value) == len(bases):
        return [_mask_scalar(part, base, extract) for part, base in zip(value, bases, strict=True)]
    if isinstance(value, dict):
        return {key: _mask_scalar(part, _base(key), extract) for key, part in value.items()}
    return _mask_everything(value, extract, bases[0])


def _mask_scalar(value: object, base: str, extract: Extract) -> object:
    if value is None or isinstance(value, bool):  # missing, or a derived check such as nhs_number__is_valid
        return value
    if base not in extract.column_names or not extract.column(base).identifier:
        return value
    return mask_value(extract, base, value)


def _mask_everything(value: object, extract: Extract, base: str) -> object:
    if isinstance(value, dict):
        return {key: _mask_everything(part, extract, base) for key, part in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask_everything(part, extract, base) for part in value]
    return _mask_scalar(value, base, extract)


def _merged_counts(entries: list[dict]) -> list[dict]:
    """Counts of masked values: two NHS numbers of one shape are one row."""
    merged: dict[str, dict] = {}
    for entry in entries:
        key = json.dumps(entry.get("value"), default=str)
        if key in merged:
            merged[key]["count"] += entry.get("count", 0)
        else:
            merged[key] = dict(entry)
    return sorted(merged.values(), key=lambda entry: -entry.get("count", 0))


def mask_results(results: list[dict]) -> list[dict]:
    """``mask_result`` for each result, its extract found by the suite name."""
    contract = load_contract()
    return [mask_result(result, contract[result["suite_name"]]) for result in results]


def build_site(results: list[dict], site_dir: Path, *, run_name: str = "pmf refresh", suites_dir: Path = SUITES_DIR) -> Path:
    """GX Data Docs of every suite and of ``results`` (masked here) in ``site_dir``; returns its index.html."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    if site_dir.exists():
        shutil.rmtree(site_dir)
    site_dir.mkdir(parents=True)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.variables.data_docs_sites = {SITE_NAME: {  # only this site (not the ephemeral default in /tmp)
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "show_cta_footer": False},
    }}
    for path in sorted(suites_dir.glob("*.json")):
        context.suites.add(gx.ExpectationSuite(**json.loads(path.read_text(encoding="utf-8"))))
    schema = ExpectationSuiteValidationResultSchema()
    run_id = RunIdentifier(run_name=run_name)
    for number, result in enumerate(mask_results(results), start=1):
        result["meta"] = {**(result.get("meta") or {}), "run_id": run_id.to_json_dict()}  # the page shows run name and time
        key = ValidationResultIdentifier(
            ExpectationSuiteIdentifier(result["suite_name"]), run_id, batch_identifier=f"batch-{number:03d}"
        )
        context.validation_results_store.set(key, schema.load(result))
    context.build_data_docs(site_names=[SITE_NAME])
    return site_dir / "index.html"
