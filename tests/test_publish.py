"""Publishing never breaks what users hold: killed refreshes, open readers, repeat runs, and a
real spreadsheet application opening the board workbook."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import pytest

from pipelines.cli import main
from pipelines.demo import generate_demo
from pipelines.periods import Quarter

pytestmark = pytest.mark.e2e

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"
WORKBOOK = "board/HSCB-PMF-2018-19-Q2.xlsx"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Two quarters of demo extracts and one successful refresh."""
    root = tmp_path_factory.mktemp("publish")
    raw, reference = root / "raw", root / "reference"
    reference.mkdir()
    for name in ("work_plan.csv", "plan_line_updates.csv"):
        shutil.copy(REFERENCE / name, reference / name)
    generate_demo(raw, reference, first=Quarter.parse("2018-19 Q1"), last=Quarter.parse("2018-19 Q2"))
    config = root / "pmf.toml"
    config.write_text(f'reference_dir = "{reference}"\n')
    marts = root / "marts"
    assert _refresh(raw, marts, config) == 0
    return {"raw": raw, "marts": marts, "config": config}


def _refresh(raw: Path, marts: Path, config: Path) -> int:
    return main(["refresh", "--raw-dir", str(raw), "--marts-dir", str(marts), "--config", str(config)])


def _fingerprint(marts: Path) -> dict[str, str]:
    files = [marts / "pmf.duckdb", marts / WORKBOOK, *sorted((marts / "parquet").glob("*.parquet"))]
    return {str(p.relative_to(marts)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _indicator_values(marts: Path) -> list[tuple]:
    with duckdb.connect(str(marts / "pmf.duckdb"), read_only=True) as con:
        return con.execute("select * from indicator_values order by all").fetchall()


@pytest.mark.parametrize(
    "stage_line",
    [
        "Reading and validating extracts",
        "Running ",  # SQL models
        "Computed ",  # indicator values written
        "Built marts",  # marts closed, Parquet exported
        "Writing the board workbook",
    ],
)
def test_a_killed_refresh_leaves_the_previous_outputs_exactly_as_they_were(published, stage_line, tmp_path):
    marts = published["marts"]
    before = _fingerprint(marts)
    values_before = _indicator_values(marts)
    # --rebuild: the inputs are unchanged, and this test is about a refresh killed while it builds.
    command = [sys.executable, "-m", "pipelines.cli", "refresh", "--raw-dir", str(published["raw"]),
               "--marts-dir", str(marts), "--config", str(published["config"]), "--rebuild"]
    # Its own Prefect home: killing a process that shares the temporary API's SQLite database
    # with later runs is not what this test is about.
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect"))
    # A session of its own, so the kill takes the refresh's temporary Prefect server with it.
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True
    )
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith(stage_line):
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=120)
    assert process.returncode == -9, f"the refresh ended before reaching {stage_line!r}: {''.join(seen)[-2000:]}"
    assert _fingerprint(marts) == before
    assert _indicator_values(marts) == values_before  # still readable, same content
    assert openpyxl.load_workbook(marts / WORKBOOK)["Summary"]["A1"].value
    assert _refresh(published["raw"], marts, published["config"]) == 0  # and the next refresh succeeds
    assert not list(marts.glob(".build-*"))


def test_a_reader_holding_the_marts_open_does_not_block_a_refresh(published):
    marts = published["marts"]
    with duckdb.connect(str(marts / "pmf.duckdb"), read_only=True) as reader:
        runs_before = reader.execute("select count(*) from refresh_log").fetchone()[0]
        assert _refresh(published["raw"], marts, published["config"]) == 0
        # The reader keeps its consistent view of the file it opened...
        assert reader.execute("select count(*) from refresh_log").fetchone()[0] == runs_before
        assert reader.execute("select count(*) from indicator_values").fetchone()[0] == 13 * 4 * 2
    with duckdb.connect(str(marts / "pmf.duckdb"), read_only=True) as fresh:
        # ...and a new connection sees the new run.
        assert fresh.execute("select count(*) from refresh_log").fetchone()[0] == runs_before + 1


def test_two_refreshes_on_the_same_inputs_give_identical_indicator_values(published):
    marts = published["marts"]
    first = _indicator_values(marts)
    assert _refresh(published["raw"], marts, published["config"]) == 0
    assert _indicator_values(marts) == first
    with duckdb.connect(str(marts / "pmf.duckdb"), read_only=True) as con:
        log = con.execute("select outcome, inputs_sha256 from refresh_log order by started_at desc limit 2").fetchall()
    assert log[0] == log[1] and log[0][0] == "published"


def test_marts_open_with_duckdb_1_x_storage(published):
    # DuckDB stores the storage version in the file header; v1.0.0 storage is version number 64.
    header = (published["marts"] / "pmf.duckdb").read_bytes()[:4096]
    assert header[8:12] == b"DUCK"
    assert int.from_bytes(header[12:20], "little") == 64


def test_libreoffice_opens_the_board_workbook(published, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice is needed for this test: scripts/test.sh installs libreoffice-calc-nogui"
    assert shutil.which("pdftotext"), "pdftotext is needed: scripts/test.sh installs poppler-utils"
    profile = tmp_path / "lo-profile"
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(published["marts"] / WORKBOOK)],
        check=True, capture_output=True, timeout=300,
    )
    pdf = tmp_path / Path(WORKBOOK).with_suffix(".pdf").name
    assert pdf.stat().st_size > 10_000
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    for heading in ("Hartlepool", "2018-19 Q2", "RAG", "Children witnessing domestic abuse", "Definitions"):
        assert heading in text, heading
