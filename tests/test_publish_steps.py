"""Publishing, step by step, on small synthetic releases: stopped (or killed) after any step or
any single file-system operation, ``<marts-dir>`` still shows every output of one run."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import openpyxl
import pytest

from pipelines import publish
from pipelines.publish import PUBLISH_STEPS, export_parquet, start_build, write_manifest
from publish_checks import published_run
from query_rows import query_rows
from repo_paths import REPO, TESTS_DIR


class Killed(BaseException):
    """Stands in for SIGKILL in-process: nothing after it runs, no except clause catches it."""


def write_outputs(folder: Path, run_id: str, minute: int) -> None:
    """A tiny marts database, its Parquet, a workbook and a report, all naming ``run_id``."""
    for name in ("parquet", "board", "reports"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    finished = datetime(2019, 4, 15, 6, 0) + timedelta(minutes=minute)
    with duckdb.connect(str(folder / "pmf.duckdb")) as con:
        con.execute("create table refresh_log (run_id varchar, finished_at timestamp)")
        con.execute("insert into refresh_log values (?, ?)", [run_id, finished])
        con.execute("create table indicator_values as select ? as run_id, range as value from range(1000)", [run_id])
    export_parquet(folder / "pmf.duckdb", folder / "parquet", ["refresh_log", "indicator_values"])
    book = openpyxl.Workbook()
    book.active.title = "Definitions"
    book.active.append(["Generated", f"15 Apr 2019 06:00 UTC, for 2018-19 Q4, from the PMF marts of refresh {run_id}."])
    book.save(folder / "board" / "HSCB-PMF-2018-19-Q4.xlsx")
    (folder / "reports" / "validation-2018-19-Q4.md").write_text(f"# Validation report, refresh {run_id}\n")


def build_release(marts: Path, minute: int) -> publish.Build:
    build = start_build(marts)
    write_outputs(build.release_dir, build.run_id, minute)
    write_manifest(build, "2018-19 Q4")
    return build


def published(marts: Path, minute: int, **options) -> str:
    build = build_release(marts, minute)
    publish.publish(build, **options)
    publish.discard(build)
    return build.run_id


def test_a_publish_makes_every_user_path_show_the_new_run(tmp_path):
    marts = tmp_path / "marts"
    first = published(marts, 1)
    assert published_run(marts) == first
    second = published(marts, 2)
    assert published_run(marts) == second
    for name in ("pmf.duckdb", "parquet", "board", "reports"):
        assert (marts / name).is_symlink() and (marts / name).resolve().parent == (marts / "releases" / second)
    assert not list(marts.glob(".build-*"))


@pytest.mark.parametrize("step", PUBLISH_STEPS)
def test_stopped_after_any_step_the_outputs_are_one_whole_run(tmp_path, step):
    marts = tmp_path / "marts"
    first = published(marts, 1)
    build = build_release(marts, 2)

    def stop(name: str) -> None:
        if name == step:
            raise Killed(name)

    with pytest.raises(Killed):
        publish.publish(build, on_step=stop)
    switched = PUBLISH_STEPS.index(step) >= PUBLISH_STEPS.index("current switched")
    assert published_run(marts) == (build.run_id if switched else first)
    third = published(marts, 3)  # and the next refresh publishes
    assert published_run(marts) == third


@pytest.mark.parametrize("step", PUBLISH_STEPS)
def test_killed_after_any_step_the_outputs_are_one_whole_run(tmp_path, step):
    """A real SIGKILL of the publishing process (no clean-up of any kind runs)."""
    marts = tmp_path / "marts"
    first = published(marts, 1)
    script = f"""
import os, signal, sys
sys.path.insert(0, {str(TESTS_DIR)!r})
from pathlib import Path
from pipelines import publish
from test_publish_steps import build_release
build = build_release(Path({str(marts)!r}), 2)
print(build.run_id, flush=True)
publish.publish(build, on_step=lambda name: name == {step!r} and os.kill(os.getpid(), signal.SIGKILL))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == -9, result.stderr
    second = result.stdout.split()[0]
    switched = PUBLISH_STEPS.index(step) >= PUBLISH_STEPS.index("current switched")
    assert published_run(marts) == (second if switched else first)
    third = published(marts, 3)
    assert published_run(marts) == third
    assert not list(marts.glob(".build-*")) and not list(marts.glob(".pmf-link-*"))


def _older_layout(marts: Path) -> None:
    """What pmf published before releases: real files and folders in the marts directory."""
    write_outputs(marts, "earlier-run", 0)
    (marts / "logs").mkdir()
    (marts / "logs" / "refresh_log.jsonl").write_text("{}\n")


def _failing_after(count: int, monkeypatch) -> list[int]:
    """Every rename, replace and exchange counts; the ``count``-th one and later never happen.
    Returns the running count of operations done."""
    done = [0]

    def counted(function):
        def wrapper(*args, **kwargs):
            if done[0] >= count:
                raise Killed(f"operation {done[0]}")
            done[0] += 1
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(publish.os, "rename", counted(os.rename))
    monkeypatch.setattr(publish.os, "replace", counted(os.replace))
    monkeypatch.setattr(publish, "_exchange", counted(publish._exchange))
    return done


@pytest.mark.parametrize("layout", ["releases", "older layout"])
def test_stopped_before_any_file_operation_the_outputs_are_one_whole_run(tmp_path, monkeypatch, layout):
    """Finer than the steps: every rename/exchange of a publish, from an older layout too."""

    def prepare(marts: Path) -> str:
        if layout == "older layout":
            _older_layout(marts)
            return "earlier-run"
        return published(marts, 1)

    counting = tmp_path / "counting"
    counting.mkdir()
    prepare(counting)
    build = build_release(counting, 2)
    with monkeypatch.context() as patch:
        done = _failing_after(10**9, patch)
        publish.publish(build)
    total = done[0]
    # releases: move the release in, switch current. Older layout, before that: move its copy in,
    # switch current to it, then exchange each of the four user paths for its symlink.
    assert total == (2 + 6 if layout == "older layout" else 2)
    for count in range(total + 1):
        marts = tmp_path / f"marts-{count}"
        marts.mkdir()
        before = prepare(marts)
        build = build_release(marts, 2)
        with monkeypatch.context() as patch:
            _failing_after(count, patch)
            try:
                publish.publish(build)
            except Killed:
                pass
        seen = published_run(marts)
        assert seen in (before, build.run_id), count
        assert (seen == build.run_id) == ((marts / "current").is_symlink() and os.readlink(marts / "current").endswith(build.run_id))
        after = published(marts, 3)
        assert published_run(marts) == after
        assert (marts / "logs" / "refresh_log.jsonl").exists() or layout == "releases"


def test_an_older_layout_is_adopted_and_its_outputs_kept_as_a_release(tmp_path):
    marts = tmp_path / "marts"
    marts.mkdir()
    _older_layout(marts)
    new = published(marts, 2)
    assert published_run(marts) == new
    earlier = [p for p in (marts / "releases").iterdir() if p.name.endswith("-earlier")]
    assert len(earlier) == 1
    with duckdb.connect(str(earlier[0] / "pmf.duckdb"), read_only=True) as con:
        assert [row["run_id"] for row in query_rows(con, "select run_id from refresh_log")] == ["earlier-run"]
    assert (marts / "logs" / "refresh_log.jsonl").read_text() == "{}\n"  # logs stay outside


def test_old_releases_are_pruned_and_kept_state_is_left_alone(tmp_path):
    marts = tmp_path / "marts"
    (marts / ".pmf").mkdir(parents=True)
    (marts / ".pmf" / "state.json").write_text("kept")
    runs = [published(marts, minute, keep_releases=2) for minute in range(1, 5)]
    assert {p.name for p in (marts / "releases").iterdir()} == set(runs[-2:])
    assert published_run(marts) == runs[-1]
    assert (marts / ".pmf" / "state.json").read_text() == "kept"


def test_a_reader_holding_the_database_open_keeps_its_run_through_publish_and_prune(tmp_path):
    marts = tmp_path / "marts"
    first = published(marts, 1, keep_releases=1)
    with duckdb.connect(str(marts / "pmf.duckdb"), read_only=True) as reader:
        second = published(marts, 2, keep_releases=1)
        assert not (marts / "releases" / first).exists()  # pruned under the reader
        assert [row["run_id"] for row in query_rows(reader, "select distinct run_id from indicator_values")] == [first]
    assert published_run(marts) == second
