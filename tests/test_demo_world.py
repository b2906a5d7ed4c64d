"""The demo's world: its arguments, the population reference file of its LAs, and people who keep
their NHS number and dob and recur across sources. Files are read back with tests/demo_files.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from demo_files import FIRST, HARTLEPOOL, LAST, MIDDLESBROUGH, REDCAR, STOCKTON, Demo, frame, nhs_ok
from pipelines.demo.generate import generate_demo
from pipelines.demo.world import is_valid_nhs_number, nhs_check_digit


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_las"):
        generate_demo(tmp_path / "raw", tmp_path / "ref", n_las=0)
    with pytest.raises(ValueError, match="before"):
        generate_demo(tmp_path / "raw", tmp_path / "ref", first=LAST, last=FIRST)
    assert not (tmp_path / "raw").exists()


def test_population_reference(demo: Demo) -> None:
    population = pd.read_csv(demo.reference / "population.csv", dtype={"la_code": str})
    assert list(population.columns) == ["la_code", "year", "age", "persons"]
    assert sorted(population["year"].unique()) == [2017, 2018, 2019]
    assert sorted(population["age"].unique()) == list(range(25))
    children = population[population["age"] <= 17].groupby(["la_code", "year"])["persons"].sum()
    for code, expected in [(HARTLEPOOL, 20_500), (MIDDLESBROUGH, 33_000), (REDCAR, 27_000), (STOCKTON, 44_000)]:
        assert children[code, 2017] == pytest.approx(expected, rel=0.02)
        assert children[code, 2019] != children[code, 2017]
    young_adults = population[(population["age"] >= 18) & (population["la_code"] == HARTLEPOOL)]
    assert young_adults["persons"].between(800, 1300).all()


def test_nhs_numbers_are_valid_and_people_link_across_sources(demo: Demo) -> None:
    assert is_valid_nhs_number("943 476 5919") and not is_valid_nhs_number("9434765918")
    assert nhs_ok("943 476 5919") and not nhs_ok("9434765918") and not nhs_ok("123456789")
    assert list(nhs_check_digit(np.array([943476591, 401023213]))) == [9, 7]
    numbers = {}
    for name in ("police_missing_reports", "health_ae_attendances", "la_vemt_screenings", "police_da_children"):
        data = frame(demo, name)
        filled = data["nhs_number"].dropna().str.replace(" ", "")
        assert filled.map(nhs_ok).all() and filled.map(is_valid_nhs_number).all()
        numbers[name] = set(filled)
        if name != "health_ae_attendances":
            assert 0.55 < data["nhs_number"].notna().mean() < 0.95
    assert len(numbers["police_missing_reports"] & numbers["health_ae_attendances"]
               & numbers["la_vemt_screenings"]) >= 20
    assert len(numbers["police_da_children"] & numbers["health_ae_attendances"]) >= 50
    children = frame(demo, "police_da_children")
    assert children.groupby("person_id")["incident_id"].nunique().max() >= 3
    person_dob = children.groupby("person_id")["dob"].nunique()
    assert (person_dob == 1).all()  # stable people
