"""What the SQL models share is written once: "latest period wins" from the contract's key
(pipelines.models.latest_copies), the spine, populations and history flag of every indicator
(pipelines.indicators.indicator_counts), and the checks that keep those in step."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError
from sql_harness import HARTLEPOOL, Dataset

from pipelines.contract import load_contract
from pipelines.indicators import Indicator, indicator_counts, load_registry
from pipelines.models import discover_models

Q1, Q2 = "2018-19 Q1", "2018-19 Q2"


def test_every_staging_model_reads_latest_copies_never_raw_rows():
    read = set()
    for model in discover_models(layers=("staging",)):
        sql = re.sub(r"--[^\n]*", "", model.sql)
        assert "raw_" not in sql, model.name
        assert "qualify" not in sql, model.name  # the dedupe is the runner's, from the contract
        read |= set(re.findall(r"\bfrom latest_(\w+)", sql))
    assert read == set(load_contract())


def test_the_latest_copy_is_per_contract_key_even_a_composite_one():
    data = Dataset(periods=[Q1, Q2])
    data.add("police_da_incidents", incident_id="I1", reported_at="2018-05-01 10:00:00", period=Q1)
    # P1 sent in Q1 and again in Q2 (born a year later): the Q2 copy wins. P2 at the same incident
    # is another record of the composite key (incident_id, person_id) and is kept.
    data.add("police_da_children", incident_id="I1", person_id="P1", dob="2008-01-01", period=Q1)
    data.add("police_da_children", incident_id="I1", person_id="P1", dob="2009-01-01", period=Q2)
    data.add("police_da_children", incident_id="I1", person_id="P2", dob="2012-01-01", period=Q1)
    con = data.build()
    rows = con.execute(
        "select age_at_incident, received_period from stg_police__da_children order by age_at_incident"
    ).fetchall()
    assert rows == [(6, "2018-19 Q1"), (9, "2018-19 Q2")]
    assert con.execute("select count(*) from duckdb_tables() where table_name like 'latest_%'").fetchone() == (0,)


def test_an_indicator_sql_that_returns_another_code_is_a_bug():
    data = Dataset(periods=[Q1])
    data.population(HARTLEPOOL, 2018, persons_per_age=10)
    data.add("police_da_incidents", dash_risk="HIGH")
    con = data.build()
    con.execute("create or replace table ind_marac as select 'MARAC_TYPO' as indicator_code, * exclude (indicator_code) from ind_marac")
    with pytest.raises(ValueError, match="MARAC_TYPO"):
        indicator_counts(con, registry={"MARAC": load_registry()["MARAC"]}, schema="main")


def _entry(**changes) -> dict:
    return {**load_registry()["LSCB11b"].model_dump(), **changes}


def test_a_rate_names_the_ages_of_its_population():
    assert load_registry()["RISKY_CHILDREN"].population_ages == (10, 17)
    assert load_registry()["MARAC"].population_ages is None
    with pytest.raises(ValidationError, match="aged <from>-<to>"):
        Indicator(**_entry(population="children"))
    with pytest.raises(ValidationError, match="aged <from>-<to>"):
        Indicator(**_entry(population=None))


def test_the_history_flag_needs_a_look_back():
    with pytest.raises(ValidationError, match="lookback_quarters"):
        Indicator(**_entry(flags_incomplete_history=True, lookback_quarters=0))
    flagged = {code for code, indicator in load_registry().items() if indicator.flags_incomplete_history}
    assert flagged == {"LSCB11e", "LSCB19"}  # indicators.md flags these two only


def test_indicator_sql_adds_no_spine_or_population_of_its_own():
    for indicator in load_registry().values():
        sql = indicator.sql_path.read_text(encoding="utf-8")
        assert "int_population_by_quarter" not in sql, indicator.sql_path.name
        assert "history_incomplete" not in sql, indicator.sql_path.name
