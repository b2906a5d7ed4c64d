"""Publishing never breaks what users hold: killed refreshes, open readers, repeat runs, and a
real spreadsheet application opening the board workbook."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import pytest

from demo_world import copy_marts
from pipelines.cli import main
from publish_checks import published_run
from query_rows import query_file

pytestmark = pytest.mark.e2e

@pytest.fixture(scope="module")
def published(e2e_refresh, tmp_path_factory):
    """One successful refresh of the shared demo world (tests/conftest.py, ``e2e_refresh``),
    copied: these tests kill, rerun and rebuild refreshes in it, in turn."""
    marts = copy_marts(e2e_refresh["marts"], tmp_path_factory.mktemp("publish") / "marts")
    assert e2e_refresh["exit"] == 0
    period = e2e_refresh["last"]
    return {"raw": e2e_refresh["raw"], "marts": marts, "config": e2e_refresh["config"], "period": period,
            "workbook": f"board/HSCB-PMF-{period.folder_id}.xlsx"}


def _refresh(raw: Path, marts: Path, config: Path, *options: str) -> int:
    return main(["refresh", "--raw-dir", str(raw), "--marts-dir", str(marts), "--config", str(config), *options])


def _fingerprint(marts: Path) -> dict[str, str]:
    (workbook,) = (marts / "board").glob("*.xlsx")
    files = [marts / "pmf.duckdb", workbook, *sorted((marts / "parquet").glob("*.parquet"))]
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
def test_a_killed_refresh_leaves_the_previous_outputs_exactly_as_they_were(published, prefect_server, stage_line,
                                                                           tmp_path):
    marts = published["marts"]
    before = _fingerprint(marts)
    run_before = published_run(marts)
    values_before = _indicator_values(marts)
    # --rebuild: the inputs are unchanged, and this test is about a refresh killed while it builds.
    command = [sys.executable, "-m", "pipelines.cli", "refresh", "--raw-dir", str(published["raw"]),
               "--marts-dir", str(marts), "--config", str(published["config"]), "--rebuild"]
    # Its own Prefect home, reporting to the session's Prefect server (tests/conftest.py) rather
    # than starting a temporary one for each run: which API a killed refresh reported to is not
    # what this test is about.
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_API_URL=prefect_server["url"])
    # A session of its own, so the kill takes the refresh's worker processes with it.
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
    assert published_run(marts) == run_before  # database = Parquet = workbook = manifest
    assert _indicator_values(marts) == values_before  # still readable, same content
    assert openpyxl.load_workbook(marts / published["workbook"])["Summary"]["A1"].value
    assert _refresh(published["raw"], marts, published["config"]) == 0  # and the next refresh succeeds
    assert published_run(marts) != run_before
    assert not list(marts.glob(".build-*"))


READER = """
import os, sys, time
import duckdb
marts, stop = sys.argv[1], sys.argv[2]
latest = "select run_id from refresh_log order by finished_at desc limit 1"
held = duckdb.connect(os.path.join(marts, "pmf.duckdb"), read_only=True)
held_run = held.execute(latest).fetchone()[0]
seen, queries = [], 0
while True:
    stopping = os.path.exists(stop)  # one more round after the stop: it sees the last publish
    # the connection held open keeps answering, from the run it opened...
    assert held.execute(latest).fetchone()[0] == held_run
    assert held.execute("select count(*) from indicator_values").fetchone()[0] > 0
    # ...and every new one opens a whole database
    with duckdb.connect(os.path.join(marts, "pmf.duckdb"), read_only=True) as fresh:
        run = fresh.execute(latest).fetchone()[0]
        assert fresh.execute("select count(*) from indicator_values").fetchone()[0] > 0
    if not seen or seen[-1] != run:
        seen.append(run)
        print(run, flush=True)
    queries += 1
    if stopping:
        break
    time.sleep(0.05)
print("queries", queries, flush=True)
"""


def test_a_reader_querying_throughout_a_refresh_neither_breaks_nor_blocks_it(published, tmp_path):
    marts = published["marts"]
    before = published_run(marts)
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(marts), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == before  # the reader is querying
        assert _refresh(published["raw"], marts, published["config"]) == 0
        after = published_run(marts)
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    lines = out.split()
    assert lines[:-2] == [after] and after != before  # it saw the new run once published
    assert int(lines[-1]) > 1


def _masked(text: object) -> object:
    """Run ids and the times of a run are allowed to differ between two runs; nothing else."""
    if not isinstance(text, str):
        return text
    text = re.sub(r"\d{8}T\d{6}Z-[0-9a-f]{6}", "<run id>", text)
    text = re.sub(r"\d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2} UTC", "<time> UTC", text)
    return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", "<time> UTC", text)


def _content(release: Path) -> dict[str, object]:
    """Every mart table (but refresh_log) from the database and from Parquet, every workbook
    cell by sheet, every report, as comparable values."""
    content: dict[str, object] = {}
    with duckdb.connect(str(release / "pmf.duckdb"), read_only=True) as con:
        tables = [row[0] for row in con.execute("select table_name from duckdb_tables() order by 1").fetchall()]
        for table in tables:
            if table != "refresh_log":
                rows = con.execute(f"select * from {table} order by all").fetchall()
                parquet = release / "parquet" / f"{table}.parquet"
                assert con.execute(f"select * from read_parquet('{parquet}') order by all").fetchall() == rows
                content[f"table {table}"] = [tuple(_masked(v) for v in row) for row in rows]  # build_info names the run
    for path in sorted((release / "board").glob("*.xlsx")):
        for sheet in openpyxl.load_workbook(path):
            content[f"{path.name} {sheet.title}"] = [[_masked(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    for path in sorted((release / "reports").glob("*.md")):
        content[path.name] = _masked(path.read_text())
    return content


def test_two_refreshes_on_the_same_inputs_publish_the_same_content(published):
    marts = published["marts"]
    first = (marts / "current").resolve()
    # --rebuild: build everything again (an unchanged rerun would otherwise re-publish the same files;
    # tests/test_rerun.py covers that)
    assert _refresh(published["raw"], marts, published["config"], "--rebuild") == 0
    second = (marts / "current").resolve()
    assert second != first and first.is_dir()  # the previous release is kept (keep_releases = 3)
    before, after = _content(first), _content(second)
    assert sorted(before) == sorted(after)
    assert len([name for name in before if name.startswith("table ")]) >= 10
    for name in before:
        assert before[name] == after[name], name
    log = query_file(marts / "pmf.duckdb", "select outcome, inputs_sha256 from refresh_log order by started_at desc limit 2")
    assert log[0] == log[1] and log[0]["outcome"] == "published"


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
         "--outdir", str(tmp_path), str(published["marts"] / published["workbook"])],
        check=True, capture_output=True, timeout=300,
    )
    pdf = tmp_path / Path(published["workbook"]).with_suffix(".pdf").name
    assert pdf.stat().st_size > 10_000
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    for heading in ("Hartlepool", published["period"].label, "RAG", "Children witnessing domestic abuse", "Definitions"):
        assert heading in text, heading
