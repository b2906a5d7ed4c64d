"""The demo's planted errors: exactly the rule breaks in its files, one a row, every rule many
times, at most 2% of a file, as listed in the manifest. Files are read back, and the rules
checked, by tests/demo_files.py's independent reader."""

from __future__ import annotations

import re
from collections import Counter

from demo_files import CONTRACT, Demo, detect_all
from pipelines.rules import RowRule


def test_planted_errors_are_exactly_the_rule_breaks_in_the_files(demo: Demo) -> None:
    """Every listed error is in its file at its row and column, and no other row breaks a rule."""
    manifest = {tuple(r) for r in demo.manifest[["period", "file_name", "row_number", "column_name", "rule",
                                                 "outcome"]].itertuples(index=False)}
    assert len(manifest) == len(demo.manifest) == demo.summary.planted_count
    found = detect_all(demo)
    assert found - manifest == set(), "rows break rules that the manifest does not list"
    assert manifest - found == set(), "listed errors not found in the files"


def test_each_planted_row_has_one_defect(demo: Demo) -> None:
    per_row = Counter(zip(demo.manifest["file_name"], demo.manifest["period"], demo.manifest["row_number"]))
    assert max(per_row.values()) == 1


def test_every_rule_is_planted_many_times(demo: Demo) -> None:
    counts = demo.manifest["rule"].value_counts()
    assert set(counts.index) == {str(rule) for rule in RowRule}
    assert counts.min() >= 20
    assert dict(demo.summary.planted_by_rule) == counts.to_dict()
    nhs = demo.manifest[demo.manifest["rule"] == str(RowRule.INVALID_NHS_NUMBER)]
    assert set(nhs.loc[nhs["extract"] == "health_ae_attendances", "outcome"]) == {"quarantine"}
    assert set(nhs.loc[nhs["extract"] != "health_ae_attendances", "outcome"]) == {"warning"}
    assert set(demo.manifest.loc[demo.manifest["rule"] != str(RowRule.INVALID_NHS_NUMBER), "outcome"]) == {
        "quarantine"}


def test_planted_share_per_file(demo: Demo) -> None:
    sizes = Counter((r.period, r.file_name) for rows in demo.rows.values() for r in rows)
    planted = Counter(zip(demo.manifest["period"], demo.manifest["file_name"]))
    assert set(planted) <= set(sizes)
    for file, count in planted.items():
        assert count <= 0.02 * sizes[file], file
    assert 0.006 < sum(planted.values()) / sum(sizes.values()) < 0.014


def test_a_duplicate_key_across_the_files_of_a_submission_every_period(demo: Demo) -> None:
    for period in demo.manifest["period"].unique():
        first_seen: dict[tuple[str, str], str] = {}
        crossing = 0
        for name in CONTRACT:
            key = CONTRACT[name].key
            for row in (r for r in demo.rows[name] if r.period == period):
                k = (name, "|".join((row.values[c] or "").upper() for c in key))
                if k in first_seen and first_seen[k] != row.file_name:
                    assert first_seen[k] < row.file_name  # the copy is in the later file
                    crossing += 1
                first_seen.setdefault(k, row.file_name)
        assert crossing >= 1, period


def test_planted_values_look_like_the_examples(demo: Demo) -> None:
    cells = {(r.period, r.file_name, r.row_number): r.cells for rows in demo.rows.values() for r in rows}
    for error in demo.manifest.itertuples():
        value = cells[error.period, error.file_name, error.row_number][error.column_name]
        if error.rule == str(RowRule.IMPOSSIBLE_DATE):
            assert re.match(r"(1899|1900|1999|01/01/1900)", str(value)), value
        if error.rule == str(RowRule.UNKNOWN_CODE) and error.column_name == "la_code":
            assert not re.fullmatch(r"E0[6-9]\d{6}", str(value).strip())
        if error.rule == str(RowRule.ORPHAN):
            assert str(value).strip().upper().startswith("DA9")
