"""The intake benchmark's big files (pipelines/demo/bench_files.py): every row valid, by the
independent reader and rules of tests/demo_files.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo_files import CONTRACT, FIRST, Row, parse_date, read_rows, row_problems, typed
from pipelines.demo.bench_files import write_extract_rows
from pipelines.periods import Quarter


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_write_extract_rows_gives_valid_rows(tmp_path: Path, name: str) -> None:
    quarter = Quarter.parse("2018-19 Q3")
    path = tmp_path / f"{name}.csv"
    write_extract_rows(name, 2_500, path, quarter=quarter, seed=3, chunk_rows=1_000)
    incidents = tmp_path / "incidents.csv"
    write_extract_rows("police_da_incidents", 1_250, incidents, quarter=quarter)
    parent = {incident.cells["incident_id"]: parse_date(incident.cells["reported_at"], True)
              for incident in read_rows(incidents, CONTRACT["police_da_incidents"])}
    extract, keys = CONTRACT[name], set()
    rows = read_rows(path, extract)
    assert len(rows) == 2_500 and rows[-1].number == 2_501
    for sheet_row in rows:
        cells = sheet_row.cells
        row = Row(quarter.folder_id, name, path.name, sheet_row.number, cells, typed(extract, cells))
        assert row_problems(row, extract, quarter, parent.get(cells.get("incident_id", ""))) == [], cells
        key = tuple(row.values[k] for k in extract.key)
        assert key not in keys
        keys.add(key)
        if extract.parent:
            assert cells["incident_id"] in parent


def test_write_extract_rows_rejects_other_formats(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CSV only"):
        write_extract_rows("la_cp_plans", 10, tmp_path / "x.xlsx", quarter=FIRST)
