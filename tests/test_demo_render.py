"""The demo's files: deterministic, one per LA, trust or service in every period, and messy in
every way the contract allows. Files are read back with tests/demo_files.py's reader."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

from demo_files import (
    CONTRACT,
    FIRST,
    HARTLEPOOL,
    MIDDLESBROUGH,
    REDCAR,
    STOCKTON,
    Demo,
    decode_csv,
    is_utf8,
    normalise_header,
)
from python_calamine import CalamineWorkbook

from pipelines.demo.generate import generate_demo
from pipelines.demo.plant import MISSING_TOKENS
from pipelines.ingest import MISSING_TOKENS as INTAKE_MISSING_TOKENS
from pipelines.periods import Quarter, is_period_folder

EXTRA_COLUMNS = {"notes", "team", "worker"}  # the demo's columns outside the contract


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    """Two runs, the second in a fresh interpreter with another hash seed, write the same bytes."""
    quarter = Quarter.parse("2019-20 Q1")
    generate_demo(tmp_path / "a" / "raw", tmp_path / "a" / "ref", n_las=7, first=quarter, last=quarter)
    script = ("import sys; from pathlib import Path; from pipelines.demo.generate import generate_demo; "
              "from pipelines.periods import Quarter; q = Quarter.parse('2019-20 Q1'); "
              "generate_demo(Path(sys.argv[1]) / 'raw', Path(sys.argv[1]) / 'ref', n_las=7, first=q, last=q)")
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "b")], check=True,
                   env={**os.environ, "PYTHONHASHSEED": "12345"})
    digests = []
    for run in ("a", "b"):
        files = sorted(p for p in (tmp_path / run).rglob("*") if p.is_file())
        digests.append({str(p.relative_to(tmp_path / run)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files})
    assert digests[0] == digests[1]
    assert len(digests[0]) == 5 * 7 + 3 + 1 + 4 + 2  # LA x 7, police, treatment, A&E trusts; population, manifest
    assert "raw/2019-20-Q1/la_cp_plans--E06000007.xlsx" in digests[0]  # synthetic LAs: every 4th sends XLSX
    assert "raw/2019-20-Q1/health_ae_attendances--TR02.xlsx" in digests[0]  # synthetic trusts: pairs of LAs


def test_a_different_seed_gives_different_data(tmp_path: Path) -> None:
    kwargs = dict(n_las=1, first=Quarter.parse("2018-19 Q1"), last=Quarter.parse("2018-19 Q1"))
    generate_demo(tmp_path / "a", tmp_path / "ra", seed=1, **kwargs)
    generate_demo(tmp_path / "b", tmp_path / "rb", seed=2, **kwargs)
    name = f"2018-19-Q1/la_cp_plans--{HARTLEPOOL}.csv"
    assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "b" / name).read_bytes()


def test_every_extract_in_every_period(demo: Demo) -> None:
    periods = sorted(p.name for p in demo.raw.iterdir() if is_period_folder(p.name))
    assert periods == [FIRST.shift(i).folder_id for i in range(12)]
    for period in periods:
        names = sorted((demo.raw / period).iterdir())
        extracts = {re.split(r"--|\.", p.name)[0] for p in names}
        assert extracts == set(CONTRACT), period
        assert len(names) == 5 * 4 + 3 + 2 + 1
        la_files = [p.name for p in names if p.name.startswith("la_cp_plans--")]
        assert la_files == sorted(f"la_cp_plans--{code}.{'xlsx' if code == REDCAR else 'csv'}"
                                  for code in (HARTLEPOOL, MIDDLESBROUGH, REDCAR, STOCKTON))
    assert demo.summary.files_written == 12 * 26 + 2
    assert sum(demo.summary.rows_per_extract.values()) == sum(len(rows) for rows in demo.rows.values())


def test_messiness_is_present(demo: Demo) -> None:
    spellings, encodings, layouts = defaultdict(set), Counter(), Counter()  # spellings: of each contract column
    for path in sorted(demo.raw.glob("20*/*")):
        raw = path.read_bytes()
        if path.suffix == ".csv":
            header = next(csv.reader(io.StringIO(decode_csv(raw))))
            extract = CONTRACT[re.split(r"--|\.", path.name)[0]]
            assert {normalise_header(name) for name in header} <= set(extract.column_names) | EXTRA_COLUMNS, path.name
            for name in header:
                spellings[normalise_header(name)].add(name)
            encodings["bom" if raw.startswith(b"\xef\xbb\xbf") else "utf-8" if is_utf8(raw) else "cp1252"] += 1
        else:
            sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)
            layouts[next(i for i, row in enumerate(sheet) if any(str(c).strip() for c in row))] += 1
    assert {"incident_id", "Incident ID", "INCIDENT_ID", " Incident Id "} <= spellings["incident_id"]
    assert min(encodings.values()) >= 12 and len(encodings) == 3
    assert set(layouts) == {0, 2}  # title rows from row 1, or two leading blank rows
    cp1252 = [p for p in demo.raw.glob("20*/*.csv") if not is_utf8(p.read_bytes())]
    assert {p.parent.name for p in cp1252} == {q.folder_id for q in (FIRST.shift(i) for i in range(12))}
    cells = [str(v) for rows in demo.rows.values() for r in rows[:3000] for v in r.cells.values()]
    assert any(re.fullmatch(r"\d{3} \d{3} \d{4}", v) for v in cells)
    assert any(v != v.strip() for v in cells) and any(re.fullmatch(r"[a-z]+\d+", v) for v in cells)
    assert {"N/A", "NULL", "NA", "-"} <= set(cells)
    assert any(re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}", v) for v in cells)
    notes = [r.cells for r in demo.rows["la_cla_episodes"]]
    assert any("\n" in str(c["reason_episode_ceased"]) and "," in str(c["reason_episode_ceased"]) for c in notes)
    excel_dates = [r.cells["arrived_at"] for r in demo.rows["health_ae_attendances"]]
    assert any(isinstance(v, datetime) for v in excel_dates)


def test_the_demos_blanks_are_the_tokens_intake_reads_as_missing() -> None:
    assert set(MISSING_TOKENS) == INTAKE_MISSING_TOKENS
