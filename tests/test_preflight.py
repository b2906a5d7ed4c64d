"""Checks before working: bad settings, key, LAs and reference files are each one message naming
file, line and field, all of them at once, before any extract is read and nothing published."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipelines import refresh
from pipelines.cli import main
from pipelines.config import Settings
from pipelines.preflight import PreflightFailed, check_run, load_checked_settings
from repo_paths import REFERENCE_DIR


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A raw folder with one period, a copy of the reference files, a settings file; intake
    fails the test if it is ever reached."""
    raw = tmp_path / "raw"
    (raw / "2018-19-Q4").mkdir(parents=True)
    (raw / "2018-19-Q4" / "police_da_incidents.csv").write_text("incident_id\n")
    reference = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, reference, ignore=shutil.ignore_patterns("README.md"))
    config = tmp_path / "pmf.toml"
    config.write_text(f'reference_dir = "{reference}"\n')

    def no_intake(*args, **kwargs):
        raise AssertionError("an extract was read")

    monkeypatch.setattr(refresh, "validate_all", no_intake)
    return {"raw": raw, "reference": reference, "config": config, "marts": tmp_path / "marts"}


def run(project, *extra: str, config: Path | None = None) -> int:
    return main(["refresh", "--raw-dir", str(project["raw"]), "--marts-dir", str(project["marts"]),
                 "--config", str(config or project["config"]), *extra])


def problem_lines(err: str) -> list[str]:
    return [line.strip() for line in err.splitlines() if line.startswith("  ")]


def assert_nothing_published(project) -> None:
    marts = project["marts"]
    assert not (marts / "releases").exists() and not (marts / "pmf.duckdb").exists()
    assert not list(marts.glob(".build-*"))


def test_a_wrong_board_la_is_one_message_and_exit_1(project, capsys):
    assert run(project, "--board-la", "E06000099") == 1
    err = capsys.readouterr().err
    assert problem_lines(err) == [
        f"--board-la, board_la_code: E06000099 has no population estimates in {project['reference'] / 'population.csv'} "
        "(LAs there: E06000001, E06000002, E06000003, E06000004); its rates per 10,000 could not be computed"
    ]
    assert_nothing_published(project)


def test_a_board_la_that_is_not_an_la_code(project, capsys):
    assert run(project, "--board-la", "Hartlepool") == 1
    assert problem_lines(capsys.readouterr().err) == [
        "--board-la, board_la_code: 'Hartlepool' is not an ONS LA code (E06, E07, E08 or E09 and 6 digits)"
    ]


def test_a_short_key_is_named_without_showing_it(project, capsys, monkeypatch):
    monkeypatch.setenv("PMF_PSEUDONYM_KEY", "s3cr3t-but-short")
    assert run(project) == 1
    out, err = capsys.readouterr()
    assert problem_lines(err) == ["PMF_PSEUDONYM_KEY, pseudonymisation key: 16 characters; at least 32 are needed"]
    assert "s3cr3t" not in out + err
    log = "".join(p.read_text() for p in (project["marts"] / "logs").iterdir())
    assert "s3cr3t" not in log
    assert_nothing_published(project)


def test_a_short_key_file(project, capsys, monkeypatch, tmp_path):
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text("tiny\n")
    monkeypatch.delenv("PMF_PSEUDONYM_KEY")
    monkeypatch.setenv("PMF_PSEUDONYM_KEY_FILE", str(key_file))
    assert run(project) == 1
    err = capsys.readouterr().err
    assert problem_lines(err) == [f"{key_file}, pseudonymisation key: the key file holds 4 characters; at least 32 are needed"]
    assert "tiny" not in err


def test_an_unknown_indicator_code_in_the_work_plan_names_file_line_and_field(project, capsys):
    path = project["reference"] / "work_plan.csv"
    plan = pd.read_csv(path, dtype=str, keep_default_na=False)
    index = plan.index[plan["line_id"] == "1.1.4"][0]
    plan.loc[index, "indicator_codes"] = "MARACC"
    plan.to_csv(path, index=False)
    assert run(project) == 2
    (line,) = problem_lines(capsys.readouterr().err)
    assert line.startswith(f"{path}, line {index + 2}, indicator_codes: 'MARACC' is not an indicator in the registry")
    assert_nothing_published(project)


def test_a_missing_settings_file_is_an_error_not_ignored(project, capsys, tmp_path):
    missing = tmp_path / "no-such.toml"
    assert run(project, config=missing) == 1
    assert problem_lines(capsys.readouterr().err) == [f"{missing}, --config: settings file does not exist"]


def test_every_problem_is_reported_at_once(project, capsys, monkeypatch):
    monkeypatch.setenv("PMF_PSEUDONYM_KEY", "short")
    updates = project["reference"] / "plan_line_updates.csv"
    frame = pd.read_csv(updates, dtype=str, keep_default_na=False)
    frame.loc[0, "line_id"] = "9.9.9"
    frame.loc[1, "rag"] = "G"
    frame.to_csv(updates, index=False)
    assert run(project, "--board-la", "E06000099", "--period", "2030-31 Q1") == 1  # settings problems: 1
    lines = problem_lines(capsys.readouterr().err)
    assert [line.split(",")[0] for line in lines] == [
        "PMF_PSEUDONYM_KEY", "--board-la", str(updates), str(updates), "--period"
    ]
    assert f"{updates}, line 2, line_id: '9.9.9' is not a line of work_plan.csv" in lines
    assert f"{updates}, line 3, rag: 'G' must be green, amber, red or grey" in lines
    assert "--period, period: 2030-31 Q1: there is no folder 2030-31-Q1" in lines[-1]


def test_settings_file_problems_name_their_line(tmp_path):
    config = tmp_path / "pmf.toml"
    config.write_text('chunk_rows = 5000\nboard_la = "E06000001"\ndefault_baseline_period = "2017-18 Q5"\n')
    with pytest.raises(PreflightFailed) as failure:
        load_checked_settings(config)
    assert [str(p) for p in failure.value.problems] == [
        f"{config}, line 2, board_la: unknown setting (see pipelines/config.py for the settings there are)",
        f"{config}, line 3, default_baseline_period: '2017-18 Q5' is not a period: expected e.g. '2018-19 Q3' or '2018-19-Q3'",
    ]


def test_a_toml_syntax_error_names_its_line(tmp_path):
    config = tmp_path / "pmf.toml"
    config.write_text('chunk_rows = 5000\nboard_la_code = E06000001\n')
    with pytest.raises(PreflightFailed) as failure:
        load_checked_settings(config)
    (problem,) = failure.value.problems
    assert (problem.source, problem.line, problem.field) == (str(config), 2, "TOML syntax")


@pytest.mark.parametrize(
    ("column", "value", "line", "message"),
    [
        ("baseline_period", "2017-18-Q2", 5, "'2017-18-Q2' must be written '2017-18 Q2'"),
        ("baseline_period", "2017 Q2", 5, "'2017 Q2' is not a period"),
        ("due_date", "31/03/2019", 5, "'31/03/2019' is not a date written YYYY-MM-DD"),
        ("due_date", "2019-02-30", 5, "'2019-02-30' is not a date written YYYY-MM-DD"),
        ("due_kind", "soon", 5, "'soon' must be one of date, ongoing, continuous"),
        ("line_id", "1.1.5", 6, "1.1.5 is also on line 5"),
    ],
)
def test_work_plan_periods_dates_and_line_ids_are_checked(tmp_path, column, value, line, message):
    reference = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, reference)
    path = reference / "work_plan.csv"
    plan = pd.read_csv(path, dtype=str, keep_default_na=False)
    index = plan.index[plan["line_id"] == "1.1.4"][0]  # line 5 of the file; 1.1.5 is on line 6
    plan.loc[index, column] = value
    plan.to_csv(path, index=False)
    with pytest.raises(PreflightFailed) as failure:
        check_run(Settings(reference_dir=reference))
    (problem,) = [p for p in failure.value.problems if p.source == str(path)]
    assert (problem.line, problem.field) == (line, column)
    assert problem.message.startswith(message)
    assert failure.value.is_input


def test_the_committed_reference_files_pass(tmp_path):
    check_run(Settings(), tmp_path, None)
