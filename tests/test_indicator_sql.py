"""The indicator SQL models (sql/indicators/ind_*.sql, sql/intermediate/int_linkage_keys.sql).

Each test loads a few raw rows built to hit one indicator's edges into an in-memory DuckDB built
as the refresh builds it (tests/sql_harness.py), runs every model and compares the indicator's
numerator and denominator for *every* LA × quarter with numbers worked out by hand in the
comments (indicators.md is the authority). Quarters used: 2018-19 Q1 = 2018-04-01..2018-06-30,
Q2 = 07-01..09-30, Q3 = 10-01..12-31, Q4 = 2019-01-01..2019-03-31; 2019-20 Q1 = 2019-04-01..06-30.
Population: ``persons_per_age=10`` gives 18 × 10 = 180 aged 0-17 and 8 × 10 = 80 aged 10-17.
"""

from __future__ import annotations

import pytest
from sql_harness import (
    DEFAULTS,
    HARTLEPOOL,
    MIDDLESBROUGH,
    NHS_A,
    NHS_B,
    NHS_C,
    NHS_D,
    NHS_E,
    NHS_F,
    NHS_G,
    OUTPUT_COLUMNS,
    REDCAR,
    Dataset,
    history_flags,
    indicator_counts,
    indicator_rows,
)

from pipelines.indicators import INDICATOR_SQL_COLUMNS, load_registry
from pipelines.pseudonymise import pseudonym

HPL, MBRO, RCL = HARTLEPOOL, MIDDLESBROUGH, REDCAR
Q1, Q2, Q3, Q4 = "2018-19 Q1", "2018-19 Q2", "2018-19 Q3", "2018-19 Q4"
NEXT_Q1 = "2019-20 Q1"
REGISTRY = load_registry()


def assert_counts(con, code: str, expected: dict[tuple[str, str], tuple[int, int | None]]) -> None:
    """Every LA × quarter row of the indicator, as (numerator, denominator)."""
    actual = {key: tuple(value) for key, value in indicator_counts(con, code).items()}
    assert actual == expected


# ------------------------------------------------------------------------ every indicator


@pytest.fixture(scope="module")
def one_row_per_extract():
    """One default row of every extract in two LAs over two quarters, plus populations."""
    data = Dataset(periods=[Q1, Q2])
    data.population(HPL, 2018, persons_per_age=10)
    data.population(MBRO, 2018, persons_per_age=5)
    for la_code in (HPL, MBRO):
        for extract in DEFAULTS:
            if extract == "police_da_children":
                continue
            if extract == "police_da_incidents":
                incident = data.add(extract, la_code=la_code)
                data.add("police_da_children", incident_id=incident["incident_id"])
            else:
                data.add(extract, la_code=la_code)
    with data.build() as con:
        yield con


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_every_indicator_returns_one_row_per_la_and_quarter(one_row_per_extract, code):
    con = one_row_per_extract
    rows = indicator_rows(con, code)
    # The indicator's SQL returns the same columns as every other's; the spine, population and
    # history flag are added centrally (pipelines.indicators.indicator_counts).
    columns = [column[0] for column in con.execute(f"select * from ind_{code.lower()} limit 0").description]
    assert columns == INDICATOR_SQL_COLUMNS
    assert all(list(row) == OUTPUT_COLUMNS for row in rows)
    spine = con.execute("select la_code, period from int_la_quarters order by all").fetchall()
    assert sorted((row["la_code"], row["period"]) for row in rows) == spine
    assert len(spine) == 4  # 2 LAs × 2 quarters
    assert {row["indicator_code"] for row in rows} == {code}
    assert all(row["numerator"] is not None and row["numerator"] >= 0 for row in rows)
    if code not in ("LSCB11e", "LSCB19"):
        assert not any(row["history_incomplete"] for row in rows)


@pytest.mark.parametrize("code", sorted(code for code, ind in REGISTRY.items() if ind.unit == "per_10000"))
def test_rate_denominators_are_the_population(one_row_per_extract, code):
    # HPL 10 per age, MBRO 5 per age: 0-17 = 180 / 90; 10-17 = 80 / 40 (RISKY_CHILDREN).
    expected = {HPL: 80, MBRO: 40} if code == "RISKY_CHILDREN" else {HPL: 180, MBRO: 90}
    for row in indicator_rows(one_row_per_extract, code):
        assert row["denominator"] == expected[row["la_code"]]


# ------------------------------------------------------------------------------- LSCB11b


def test_lscb11b_counts_each_child_witness_once_per_quarter_in_the_incidents_la():
    data = Dataset(periods=[Q1, Q2])
    data.population(HPL, 2018, persons_per_age=10)  # 180 aged 0-17
    data.population(MBRO, 2018, persons_per_age=20)  # 360 aged 0-17
    # First day of Q1: P1 (age 8) counts; P2 turns 18 that day, excluded.
    data.add("police_da_incidents", incident_id="I1", reported_at="2018-04-01 00:00:00")
    data.add("police_da_children", incident_id="I1", person_id="P1", dob="2010-01-01")
    data.add("police_da_children", incident_id="I1", person_id="P2", dob="2000-04-01")
    # Last day of Q1: P1 again (still one child), P3 is 17 (18 the next day) and counts.
    data.add("police_da_incidents", incident_id="I2", reported_at="2018-06-30 23:59:00")
    data.add("police_da_children", incident_id="I2", person_id="P1", dob="2010-01-01")
    data.add("police_da_children", incident_id="I2", person_id="P3", dob="2000-07-01")
    # The day before Q1 (before the first period): in no quarter.
    data.add("police_da_incidents", incident_id="I3", reported_at="2018-03-31 23:59:00")
    data.add("police_da_children", incident_id="I3", person_id="P4")
    # First day of Q2: Q2, not Q1.
    data.add("police_da_incidents", incident_id="I4", reported_at="2018-07-01 00:00:00")
    data.add("police_da_children", incident_id="I4", person_id="P4")
    # P1 at a Middlesbrough incident counts for Middlesbrough.
    data.add("police_da_incidents", incident_id="I5", la_code=MBRO, reported_at="2018-05-01 10:00:00")
    data.add("police_da_children", incident_id="I5", person_id="P1")
    with data.build() as con:
        assert_counts(con, "LSCB11b", {
            (HPL, Q1): (2, 180),  # P1, P3
            (HPL, Q2): (1, 180),  # P4
            (MBRO, Q1): (1, 360),  # P1
            (MBRO, Q2): (0, 360),  # nothing: zero, not null
        })


# ------------------------------------------------------------------------------- LSCB11e


def test_lscb11e_repeat_child_witness_within_365_days():
    data = Dataset(periods=[Q1, Q2, Q3, Q4, NEXT_Q1])

    def incident(incident_id, reported_at, *children, la_code=HPL):
        data.add("police_da_incidents", incident_id=incident_id, la_code=la_code, reported_at=reported_at)
        for person_id, dob in children:
            data.add("police_da_children", incident_id=incident_id, person_id=person_id, dob=dob)

    child = "2010-01-01"  # aged 8-9 throughout
    # A: P1 seen exactly 365 days earlier (2018-05-10 12:00 -> 2019-05-10 12:00): a repeat.
    incident("A0", "2018-05-10 12:00:00", ("P1", child))
    incident("A", "2019-05-10 12:00:00", ("P1", child))
    # B: P2 seen 365 days and 1 second earlier: not a repeat.
    incident("B0", "2018-05-10 11:59:59", ("P2", child))
    incident("B", "2019-05-10 12:00:00", ("P2", child))
    # C: P3 seen an hour earlier the same day at a Middlesbrough incident (any LA counts).
    incident("C0", "2019-06-01 09:00:00", ("P3", child), la_code=MBRO)
    incident("C", "2019-06-01 10:00:00", ("P3", child))
    # D: P5 was at D0 (aged 17) but is 18 at D, so is not one of D's children; P4 is new.
    incident("D0", "2019-01-01 12:00:00", ("P5", "2001-06-02"))
    incident("D", "2019-06-02 12:00:00", ("P4", child), ("P5", "2001-06-02"))
    # E: only an 18-year-old present: not in the denominator.
    incident("E", "2019-06-30 12:00:00", ("P6", "2001-01-01"))
    # G1, G2: same child, same reported_at: neither is earlier than the other.
    incident("G1", "2019-04-15 12:00:00", ("P8", child))
    incident("G2", "2019-04-15 12:00:00", ("P8", child))
    # J on the last second of 2018-19 Q4, K on the first of 2019-20 Q1: K is a repeat.
    incident("J", "2019-03-31 23:59:59", ("P10", "2013-01-01"))
    incident("K", "2019-04-01 00:00:00", ("P10", "2013-01-01"))
    with data.build() as con:
        assert_counts(con, "LSCB11e", {
            (HPL, Q1): (0, 2),  # A0, B0: nothing earlier
            (HPL, Q2): (0, 0),
            (HPL, Q3): (0, 0),
            (HPL, Q4): (0, 2),  # D0, J
            (HPL, NEXT_Q1): (3, 7),  # A, B, C, D, G1, G2, K; repeats A, C, K
            (MBRO, Q1): (0, 0),
            (MBRO, Q2): (0, 0),
            (MBRO, Q3): (0, 0),
            (MBRO, Q4): (0, 0),
            (MBRO, NEXT_Q1): (0, 1),  # C0
        })
        # First period 2018-04-01. 2019-04-01 - 365 days = 2018-04-01: not before it, so complete;
        # 2019-01-01 - 365 days = 2018-01-01 is before it.
        assert history_flags(con, "LSCB11e") == {
            (la_code, period): period != NEXT_Q1
            for la_code in (HPL, MBRO)
            for period in (Q1, Q2, Q3, Q4, NEXT_Q1)
        }


# -------------------------------------------------------------------------------- LSCB19


def test_lscb19_four_or_more_reports_in_the_rolling_12_months():
    data = Dataset(periods=[Q1, Q2, Q3, Q4, NEXT_Q1])

    def reports(person_id, *dates, la_code=HPL, dob="2005-01-01"):
        for day in dates:
            data.add(
                "police_missing_reports", person_id=person_id, la_code=la_code, dob=dob,
                reported_missing_at=f"{day} 12:00:00",
            )

    # P1: exactly 4 in 2019-20 Q1's window (2018-07-01..2019-06-30), on its first and last days.
    reports("P1", "2018-07-01", "2018-10-10", "2019-01-10", "2019-06-30")
    # P2: 3 in that window; a 4th on 2018-06-30, the day before it.
    reports("P2", "2018-06-30", "2018-08-01", "2018-09-01", "2019-05-01")
    # P3: 4 reports but the last while aged 18 (dob 2001-03-01).
    reports("P3", "2018-08-01", "2018-11-01", "2019-02-01", "2019-05-01", dob="2001-03-01")
    # P4: 3 Hartlepool reports and 1 Middlesbrough report of the same person.
    reports("P4", "2018-08-01", "2018-09-15", "2019-04-15")
    reports("P4", "2018-12-01", la_code=MBRO)
    with data.build() as con:
        assert_counts(con, "LSCB19", {
            # window 2017-07-01..2018-06-30: P2 (1)
            (HPL, Q1): (0, 1),
            # 2017-10-01..2018-09-30: P1 1, P2 3, P3 1, P4 2
            (HPL, Q2): (0, 4),
            # 2018-01-01..2018-12-31: P1 2, P2 3, P3 2, P4 2
            (HPL, Q3): (0, 4),
            # 2018-04-01..2019-03-31: P1 3, P2 3, P3 3, P4 2
            (HPL, Q4): (0, 4),
            # 2018-07-01..2019-06-30: P1 4 (counts), P2 3, P3 3 (+1 at 18), P4 3
            (HPL, NEXT_Q1): (1, 4),
            (MBRO, Q1): (0, 0),
            (MBRO, Q2): (0, 0),
            (MBRO, Q3): (0, 1),  # P4 once
            (MBRO, Q4): (0, 1),
            (MBRO, NEXT_Q1): (0, 1),
        })
        # window_start = period start - 9 months; first period starts 2018-04-01.
        assert history_flags(con, "LSCB19") == {
            (la_code, period): period in (Q1, Q2, Q3)
            for la_code in (HPL, MBRO)
            for period in (Q1, Q2, Q3, Q4, NEXT_Q1)
        }


# ---------------------------------------------------------------- LSCB21 / RISKY_HOLISTIC


def test_lscb21_latest_screening_in_the_quarter_while_aged_0_17():
    data = Dataset(periods=[Q1, Q2])
    data.population(RCL, 2018, persons_per_age=10)  # an LA with no screenings: 0 / 0

    def screening(child_id, screening_date, risk_level, **columns):
        data.add("la_vemt_screenings", child_id=child_id, screening_date=screening_date, risk_level=risk_level,
                 **columns)

    # C1: HIGH on Q1's first day, then S2 on its last day, sent as LOW in Q1 and re-sent as HIGH
    # in Q2: the latest period's copy wins, so C1's latest is HIGH.
    screening("C1", "2018-04-01", "HIGH")
    screening("C1", "2018-06-30", "LOW", screening_id="S2", period=Q1)
    screening("C1", "2018-06-30", "HIGH", screening_id="S2", period=Q2)
    # C2, C3: two screenings on one day; the greater screening_id is the latest.
    screening("C2", "2018-05-01", "MEDIUM", screening_id="S10")
    screening("C2", "2018-05-01", "LOW", screening_id="S09")
    screening("C3", "2018-05-01", "NONE", screening_id="S21")
    screening("C3", "2018-05-01", "HIGH", screening_id="S22")
    # C4: LOW at 17, then HIGH the next day at 18: only the screening at 17 counts.
    screening("C4", "2018-04-30", "LOW", dob="2000-05-01")
    screening("C4", "2018-05-01", "HIGH", dob="2000-05-01")
    # C5: only screened at 18: not in the denominator.
    screening("C5", "2018-05-01", "HIGH", dob="2000-01-01")
    # C6: NONE on Q1's last day, HIGH on Q2's first day.
    screening("C6", "2018-06-30", "NONE")
    screening("C6", "2018-07-01", "HIGH")
    with data.build() as con:
        assert_counts(con, "LSCB21", {
            (HPL, Q1): (3, 5),  # C1 HIGH, C2 MEDIUM, C3 HIGH; C4 LOW, C6 NONE
            (HPL, Q2): (1, 1),  # C6 HIGH
            (RCL, Q1): (0, 0),
            (RCL, Q2): (0, 0),
        })


def test_risky_holistic_latest_screening_decides_risk_and_plan():
    data = Dataset(periods=[Q1, Q2])

    def screening(child_id, screening_date, risk_level, holistic_plan, la_code=HPL, **columns):
        data.add("la_vemt_screenings", child_id=child_id, screening_date=screening_date, risk_level=risk_level,
                 holistic_plan=holistic_plan, la_code=la_code, **columns)

    # C1: earlier HIGH with a plan, latest MEDIUM without: at risk, no plan.
    screening("C1", "2018-04-10", "HIGH", "Y")
    screening("C1", "2018-05-10", "MEDIUM", "N")
    # C2: same-day tie, S10 (HIGH, plan) beats S09 (LOW).
    screening("C2", "2018-05-01", "HIGH", "Y", screening_id="S10")
    screening("C2", "2018-05-01", "LOW", "N", screening_id="S09")
    # C3: latest LOW: not at risk, whatever the earlier HIGH said.
    screening("C3", "2018-04-10", "HIGH", "Y")
    screening("C3", "2018-06-30", "LOW", "N")
    # C4: the screening at 18 (HIGH, plan) is ignored; latest at 17 is MEDIUM without a plan.
    screening("C4", "2018-04-30", "MEDIUM", "N", dob="2000-05-01")
    screening("C4", "2018-05-01", "HIGH", "Y", dob="2000-05-01")
    # C5: last day of Q1, HIGH with a plan. C6: first day of Q2.
    screening("C5", "2018-06-30", "HIGH", "Y")
    screening("C6", "2018-07-01", "HIGH", "Y")
    # Middlesbrough: only a LOW screening, so a denominator of 0.
    screening("C1", "2018-05-01", "LOW", "N", la_code=MBRO)
    with data.build() as con:
        assert_counts(con, "RISKY_HOLISTIC", {
            (HPL, Q1): (2, 4),  # at risk: C1, C2, C4, C5; with a plan: C2, C5
            (HPL, Q2): (1, 1),  # C6
            (MBRO, Q1): (0, 0),
            (MBRO, Q2): (0, 0),
        })


# --------------------------------------------------------------------------------- RHI72


def test_rhi72_interview_within_3_days_of_the_return_date():
    data = Dataset(periods=[Q1, Q2])

    def episode(missing_start, missing_end, rhi_date, la_code=HPL, **columns):
        data.add("la_missing_episodes", missing_start=missing_start, missing_end=missing_end, rhi_date=rhi_date,
                 la_code=la_code, **columns)

    episode("2018-06-29 20:00:00", "2018-06-30 23:00:00", "2018-07-03")  # Q1 last day, +3 days: yes
    episode("2018-06-29 20:00:00", "2018-06-30 01:00:00", "2018-07-04")  # +4 days: no
    episode("2018-05-01 20:00:00", "2018-05-01 22:00:00", "2018-05-01", missing_or_away="A")  # absent: out
    episode("2018-06-30 22:00:00", "2018-07-01 02:00:00", "2018-07-01")  # ends Q2's first day: Q2, yes
    episode("2018-05-01 10:00:00", "2018-05-01 20:00:00", "2018-05-02", dob="2000-05-01")  # 18 at start: out
    # 17 at the start, 18 when found: age is taken at the start, so it counts (and is on time).
    episode("2018-05-01 20:00:00", "2018-05-02 08:00:00", "2018-05-02", dob="2000-05-02")
    episode("2018-05-01 20:00:00", None, None)  # still missing: in no quarter
    episode("2018-05-09 20:00:00", "2018-05-10 08:00:00", None)  # no interview: no
    episode("2018-03-30 20:00:00", "2018-03-31 23:00:00", "2018-04-01")  # ended before Q1: out
    episode("2018-05-09 20:00:00", "2018-05-10 08:00:00", "2018-05-11", la_code=MBRO)
    with data.build() as con:
        assert_counts(con, "RHI72", {
            (HPL, Q1): (2, 4),  # ended in Q1 (M, 0-17): 06-30 23:00 yes, 06-30 01:00 no, 05-02 yes, 05-10 no
            (HPL, Q2): (1, 1),
            (MBRO, Q1): (1, 1),
            (MBRO, Q2): (0, 0),
        })


# --------------------------------------------------------------------------------- MARAC


def test_marac_high_risk_incidents_referred():
    data = Dataset(periods=[Q1, Q2])

    def incident(reported_at, dash_risk, marac_referral, **columns):
        data.add("police_da_incidents", reported_at=reported_at, dash_risk=dash_risk,
                 marac_referral=marac_referral, **columns)

    incident("2018-04-01 00:00:00", "HIGH", "Y")  # Q1 first moment: referred
    incident("2018-06-30 23:59:00", "HIGH", "N")  # Q1 last day: not referred
    incident("2018-05-01 10:00:00", "MEDIUM", "Y")  # not high risk
    incident("2018-03-31 23:59:00", "HIGH", "Y")  # before Q1
    incident("2018-07-01 00:00:00", "HIGH", "Y")  # Q2
    # Sent in Q1 unreferred, re-sent in Q2 referred: the Q2 copy wins.
    incident("2018-05-01 10:00:00", "HIGH", "N", incident_id="I6", period=Q1)
    incident("2018-05-01 10:00:00", "HIGH", "Y", incident_id="I6", period=Q2)
    incident("2018-05-01 10:00:00", "STANDARD", "N", la_code=MBRO)  # Middlesbrough: no high-risk incidents
    with data.build() as con:
        assert_counts(con, "MARAC", {
            (HPL, Q1): (2, 3),  # 04-01 Y, 06-30 N, I6 Y
            (HPL, Q2): (1, 1),
            (MBRO, Q1): (0, 0),
            (MBRO, Q2): (0, 0),
        })


# ---------------------------------------------------------------------------- EH_NEGLECT


def test_eh_neglect_distinct_children_with_completed_neglect_assessments():
    data = Dataset(periods=[Q1, Q2])
    data.population(HPL, 2018, persons_per_age=10)  # 180
    data.population(MBRO, 2018, persons_per_age=0)  # a population of 0
    # Redcar has data but no population estimate: denominator null.

    def assessment(child_id, completed, neglect, la_code=HPL, **columns):
        data.add("la_early_help_assessments", child_id=child_id, assessment_start_date="2018-03-01",
                 assessment_completed_date=completed, neglect_identified=neglect, la_code=la_code, **columns)

    assessment("C1", "2018-04-01", "Y")  # Q1 first day
    assessment("C1", "2018-06-30", "Y")  # Q1 last day, same child: once
    assessment("C2", "2018-07-01", "Y")  # Q2
    assessment("C3", "2018-05-01", "N")  # no neglect
    assessment("C4", None, "Y")  # in progress: not completed
    assessment("C5", "2018-05-01", "Y", dob="2000-05-01")  # 18 at completion
    assessment("C6", "2018-05-01", "Y", dob="2000-05-02")  # 17 at completion
    assessment("C7", "2018-03-31", "Y")  # before Q1
    assessment("C1", "2018-05-01", "Y", la_code=MBRO)  # Middlesbrough's own C1
    assessment("C1", "2018-05-01", "N", la_code=RCL)
    with data.build() as con:
        assert_counts(con, "EH_NEGLECT", {
            (HPL, Q1): (2, 180),  # C1, C6
            (HPL, Q2): (1, 180),  # C2
            (MBRO, Q1): (1, 0),
            (MBRO, Q2): (0, 0),
            (RCL, Q1): (0, None),
            (RCL, Q2): (0, None),
        })


# --------------------------------------------------------------------------- CPP_NEGLECT


def test_cpp_neglect_plans_starting_with_initial_category_neglect():
    data = Dataset(periods=[Q1, Q2])
    data.population(HPL, 2018, persons_per_age=10)  # 180

    def plan(child_id, start, initial, latest=None, **columns):
        data.add("la_cp_plans", child_id=child_id, plan_start_date=start, initial_category=initial,
                 latest_category=latest or initial, **columns)

    plan("C1", "2018-04-01", "NEG")  # Q1 first day
    plan("C1", "2018-05-20", "NEG")  # a second plan: C1 once
    plan("C2", "2018-06-30", "NEG", dob="2018-09-01")  # unborn (age 0), Q1 last day
    plan("C3", "2018-05-01", "PHY", "NEG")  # became neglect later: initial decides
    plan("C4", "2018-07-01", "NEG")  # Q2
    # Sent as NEG in Q1, corrected to PHY in Q2: the Q2 copy wins, not counted.
    plan("C5", "2018-05-01", "NEG", plan_id="PL5", period=Q1)
    plan("C5", "2018-05-01", "PHY", plan_id="PL5", period=Q2)
    # Sent as EMO in Q1, corrected to NEG in Q2: counted in Q1, the quarter it started.
    plan("C6", "2018-05-01", "EMO", plan_id="PL6", period=Q1)
    plan("C6", "2018-05-01", "NEG", plan_id="PL6", period=Q2)
    plan("C7", "2018-03-31", "NEG")  # before Q1
    with data.build() as con:
        assert_counts(con, "CPP_NEGLECT", {
            (HPL, Q1): (3, 180),  # C1, C2, C6
            (HPL, Q2): (1, 180),  # C4
        })


# --------------------------------------------------------------------------- CLA_NEGLECT


def test_cla_neglect_n1_episodes_linked_to_neglect_in_the_365_days_before():
    data = Dataset(periods=[Q3, Q4])
    data.population(HPL, 2018, persons_per_age=10)  # 180; Q4 starts 2019 -> latest year <= 2019 is 2018

    def episode(child_id, start="2019-02-15", la_code=HPL, **columns):
        data.add("la_cla_episodes", child_id=child_id, episode_start_date=start, la_code=la_code, **columns)

    def plan(child_id, start, end=None, initial="NEG", latest=None, la_code=HPL, **columns):
        data.add("la_cp_plans", child_id=child_id, plan_start_date=start, plan_end_date=end,
                 initial_category=initial, latest_category=latest or initial, la_code=la_code, **columns)

    def assessment(child_id, completed, neglect="Y", **columns):
        data.add("la_early_help_assessments", child_id=child_id, assessment_start_date="2018-01-01",
                 assessment_completed_date=completed, neglect_identified=neglect, **columns)

    # A qualifying episode (reason S, N1, aged 9) starting 2019-02-15, the day 365 days after
    # 2018-02-15, for each of these children; what differs is the record linked to it.
    for child_id in ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10", "C14", "C17", "C18"):
        episode(child_id)
    plan("C1", "2018-01-01", end="2018-02-15")  # plan ended exactly 365 days before: yes
    plan("C2", "2018-01-01", end="2018-02-14")  # ended 366 days before: no
    plan("C3", "2018-06-01", initial="PHY", latest="NEG")  # latest category NEG: yes
    plan("C4", "2019-02-15")  # plan starts the same day: yes
    plan("C5", "2019-02-16")  # plan starts the day after: no
    assessment("C6", "2018-02-15")  # assessment completed exactly 365 days before: yes
    assessment("C7", "2018-02-14")  # 366 days before: no
    assessment("C8", "2019-02-15")  # the same day: yes
    assessment("C9", "2018-06-01", neglect="N")  # no neglect identified: no
    plan("C10", "2018-06-01", la_code=MBRO)  # a plan in another LA: no
    plan("C14", "2018-06-01", initial="PHY")  # not a neglect plan: no
    assessment("C17", None)  # assessment still in progress: no
    # Plan sent as NEG in Q3, corrected to PHY in Q4: the Q4 copy wins, no.
    plan("C18", "2018-10-01", plan_id="PL18", period=Q3)
    plan("C18", "2018-10-01", initial="PHY", plan_id="PL18", period=Q4)
    # An open neglect plan, but the episode itself does not qualify.
    episode("C11", reason_new_episode="L")  # not a new period of care: no
    plan("C11", "2018-06-01")
    episode("C12", category_of_need="N2")  # not N1: no
    plan("C12", "2018-06-01")
    episode("C13", dob="2001-02-15")  # 18 at the episode start: no
    plan("C13", "2018-06-01")
    # Two qualifying episodes, on Q4's first and last days: one child.
    episode("C15", start="2019-01-01")
    episode("C15", start="2019-03-31")
    plan("C15", "2018-12-01")
    # Q3's last day: counted in Q3.
    episode("C16", start="2018-12-31")
    assessment("C16", "2018-12-01")
    with data.build() as con:
        assert_counts(con, "CLA_NEGLECT", {
            (HPL, Q3): (1, 180),  # C16
            (HPL, Q4): (6, 180),  # C1, C3, C4, C6, C8, C15
            (MBRO, Q3): (0, None),  # no population estimate
            (MBRO, Q4): (0, None),
        })


# ------------------------------------------------------------------------ SM_COMPLETIONS


def test_sm_completions_parents_discharged_having_completed():
    data = Dataset(periods=[Q1, Q2])

    def episode(discharge_date, discharge_reason, service="SUBSTANCE_MISUSE", lives_with_children="Y",
                la_code=HPL, **columns):
        data.add("health_treatment_episodes", referral_date="2018-01-02", treatment_start_date="2018-01-10",
                 discharge_date=discharge_date, discharge_reason=discharge_reason, service=service,
                 lives_with_children=lives_with_children, la_code=la_code, **columns)

    episode("2018-04-01", "COMPLETED")  # Q1 first day
    episode("2018-06-30", "DROPPED_OUT")  # Q1 last day, not completed
    episode("2018-05-01", "COMPLETED", lives_with_children="N")  # not a parent
    episode("2018-05-01", "COMPLETED", service="ADULT_MENTAL_HEALTH")  # not substance misuse
    episode("2018-07-01", "COMPLETED")  # Q2
    episode(None, None)  # still in treatment
    episode("2018-03-31", "COMPLETED")  # before Q1
    # Sent open in Q1, re-sent discharged in Q2: the Q2 copy wins.
    episode(None, None, episode_id="E8", period=Q1)
    episode("2018-05-20", "COMPLETED", episode_id="E8", period=Q2)
    episode("2018-05-01", "DECLINED", la_code=MBRO)  # Middlesbrough: a zero numerator
    with data.build() as con:
        assert_counts(con, "SM_COMPLETIONS", {
            (HPL, Q1): (2, 3),  # 04-01 completed, 06-30 dropped out, E8 completed
            (HPL, Q2): (1, 1),
            (MBRO, Q1): (0, 1),
            (MBRO, Q2): (0, 0),
        })


# ---------------------------------------------------------------------------- PMH_ACCESS


def test_pmh_access_treatment_within_28_days_of_referral():
    data = Dataset(periods=[Q1, Q2])

    def episode(referral_date, treatment_start_date, service="ADULT_MENTAL_HEALTH", lives_with_children="Y"):
        data.add("health_treatment_episodes", referral_date=referral_date, treatment_start_date=treatment_start_date,
                 service=service, lives_with_children=lives_with_children)

    episode("2018-03-04", "2018-04-01")  # 28 days (27 to 03-31, +1), Q1 first day: yes
    episode("2018-06-01", "2018-06-30", service="PERINATAL_MENTAL_HEALTH")  # 29 days, Q1 last day: no
    episode("2018-05-01", "2018-05-02", lives_with_children="N")  # not a parent
    episode("2018-05-01", "2018-05-02", service="SUBSTANCE_MISUSE")  # not mental health
    episode("2018-06-20", "2018-07-01", service="PERINATAL_MENTAL_HEALTH")  # 11 days, Q2: yes
    episode("2018-05-01", None)  # not started
    episode("2018-03-01", "2018-03-31")  # started before Q1
    with data.build() as con:
        assert_counts(con, "PMH_ACCESS", {
            (HPL, Q1): (1, 2),
            (HPL, Q2): (1, 1),
        })


# ------------------------------------------------------------------------ RISKY_CHILDREN


def test_risky_children_one_person_across_agencies_counts_once_by_nhs_number():
    data = Dataset(periods=[Q1])
    data.population(HPL, 2018, persons_per_age=10)  # 80 aged 10-17
    teen = "2003-01-01"  # 15
    # The same person with NHS_A: a police report, an LA screening and an A&E attendance.
    data.add("police_missing_reports", person_id="P1", nhs_number=NHS_A, dob=teen,
             reported_missing_at="2018-05-01 10:00:00")
    data.add("la_vemt_screenings", child_id="C1", nhs_number=NHS_A, dob=teen, screening_date="2018-05-02",
             risk_level="HIGH")
    data.add("health_ae_attendances", nhs_number=NHS_A, dob=teen, arrived_at="2018-05-03 10:00:00",
             attendance_reason="SELF_HARM")
    # Perhaps one person too, but with no NHS number on the police or LA rows they cannot be linked.
    data.add("police_missing_reports", person_id="P2", dob=teen, reported_missing_at="2018-05-01 10:00:00")
    data.add("la_vemt_screenings", child_id="C2", dob=teen, screening_date="2018-05-01", risk_level="MEDIUM")
    data.add("health_ae_attendances", nhs_number=NHS_B, dob=teen, arrived_at="2018-05-01 10:00:00",
             attendance_reason="DRUGS")
    with data.build() as con:
        assert_counts(con, "RISKY_CHILDREN", {
            (HPL, Q1): (4, 80),  # NHS_A; police:P2, la:C2, NHS_B
        })


def test_risky_children_linkage_key_is_the_latest_valid_nhs_number_over_all_data():
    data = Dataset(periods=[Q1, Q2])
    data.population(HPL, 2018, persons_per_age=10)  # 80 aged 10-17
    teen = "2003-01-01"

    def report(person_id, reported_at, nhs_number=None, **columns):
        data.add("police_missing_reports", person_id=person_id, reported_missing_at=reported_at,
                 nhs_number=nhs_number, dob=teen, **columns)

    def attendance(nhs_number, arrived_at, reason="SELF_HARM"):
        data.add("health_ae_attendances", nhs_number=nhs_number, arrived_at=arrived_at, attendance_reason=reason,
                 dob=teen)

    # P3: NHS_D on 2018-05-10; NHS_C on 2018-04-10 sent later (Q2 folder); none on 06-15. Latest
    # by event date is NHS_D, so P3 links to the NHS_D attendance, not the NHS_C one.
    report("P3", "2018-05-10 10:00:00", NHS_D, period=Q1)
    report("P3", "2018-04-10 10:00:00", NHS_C, period=Q2)
    report("P3", "2018-06-15 10:00:00")
    attendance(NHS_C, "2018-06-01 10:00:00", reason="ALCOHOL")
    attendance(NHS_D, "2018-06-02 10:00:00")
    # P4: a report with NHS_A, then present (with NHS_B) at a Middlesbrough incident dated later:
    # the incident's date makes NHS_B the latest, linking P4 to the NHS_B attendance.
    report("P4", "2018-05-01 10:00:00", NHS_A)
    data.add("police_da_incidents", incident_id="I1", la_code=MBRO, reported_at="2018-06-20 12:00:00")
    data.add("police_da_children", incident_id="I1", person_id="P4", nhs_number=NHS_B, dob=teen)
    attendance(NHS_B, "2018-05-05 10:00:00")
    # Hartlepool child C5: NHS_F on an assessment completed 2018-04-01, NHS_E on a CP plan from
    # 2018-06-01: NHS_E is the latest, linking C5 to the NHS_E attendance.
    data.add("la_vemt_screenings", child_id="C5", dob=teen, screening_date="2018-05-01", risk_level="HIGH")
    data.add("la_early_help_assessments", child_id="C5", nhs_number=NHS_F, dob=teen,
             assessment_start_date="2018-03-01", assessment_completed_date="2018-04-01")
    data.add("la_cp_plans", child_id="C5", nhs_number=NHS_E, dob=teen, plan_start_date="2018-06-01")
    attendance(NHS_E, "2018-05-20 10:00:00", reason="DRUGS")
    # P5: no NHS number in Q1, NHS_G in Q2: keys use all the data, so Q1's report and the Q1
    # NHS_G attendance are one person.
    report("P5", "2018-05-01 10:00:00")
    report("P5", "2018-08-01 10:00:00", NHS_G)
    attendance(NHS_G, "2018-05-02 10:00:00")
    with data.build() as con:
        assert_counts(con, "RISKY_CHILDREN", {
            (HPL, Q1): (5, 80),  # NHS_D (P3 + A&E), NHS_C (A&E), NHS_B (P4 + A&E), NHS_E (C5 + A&E), NHS_G (P5 + A&E)
            (HPL, Q2): (1, 80),  # NHS_G (P5)
            (MBRO, Q1): (0, None),  # the incident only (not a risky event); no population estimate
            (MBRO, Q2): (0, None),
        })


def test_risky_children_ages_10_to_17_events_quarters_and_las():
    data = Dataset(periods=[Q1, Q2])
    data.population(HPL, 2018, persons_per_age=10)  # 80 aged 10-17
    data.population(MBRO, 2018, persons_per_age=5)  # 40 aged 10-17

    def report(person_id, dob, reported_at, la_code=HPL):
        data.add("police_missing_reports", person_id=person_id, dob=dob, reported_missing_at=reported_at,
                 la_code=la_code)

    def attendance(nhs_number, reason, arrived_at, la_code=HPL):
        data.add("health_ae_attendances", nhs_number=nhs_number, attendance_reason=reason, arrived_at=arrived_at,
                 la_code=la_code)

    report("P1", "2008-05-01", "2018-04-30 10:00:00")  # 9: out
    report("P2", "2008-05-01", "2018-05-01 10:00:00")  # 10: in
    report("P3", "2000-05-01", "2018-05-01 10:00:00")  # 18: out
    report("P4", "2000-05-02", "2018-05-01 10:00:00")  # 17: in
    report("P2", "2008-05-01", "2018-05-10 10:00:00", la_code=MBRO)  # P2 counts in Middlesbrough too
    data.add("la_vemt_screenings", child_id="C1", screening_date="2018-05-01", risk_level="LOW")  # LOW: out
    attendance(NHS_A, "ASSAULT", "2018-05-01 10:00:00")  # not a risky reason
    attendance(NHS_B, "ALCOHOL", "2018-05-01 10:00:00")  # in
    attendance(NHS_C, "DRUGS", "2018-06-30 23:59:59")  # Q1's last second
    attendance(NHS_D, "SELF_HARM", "2018-07-01 00:00:00")  # Q2's first second
    attendance(NHS_E, "SELF_HARM", "2018-03-31 23:59:00")  # before Q1
    attendance(NHS_F, "SELF_HARM", "2018-05-01 10:00:00", la_code=MBRO)
    with data.build() as con:
        assert_counts(con, "RISKY_CHILDREN", {
            (HPL, Q1): (4, 80),  # P2, P4, NHS_B, NHS_C
            (HPL, Q2): (1, 80),  # NHS_D
            (MBRO, Q1): (2, 40),  # P2, NHS_F
            (MBRO, Q2): (0, 40),
        })


def test_linkage_keys_fall_back_to_the_source_id():
    data = Dataset(periods=[Q1])
    data.add("police_missing_reports", person_id="P1", nhs_number=NHS_A)
    data.add("police_missing_reports", person_id="P2")
    data.add("la_vemt_screenings", child_id="C1")
    data.add("la_missing_episodes", child_id="C2")  # no NHS column at all
    data.add("health_ae_attendances", nhs_number=NHS_B)
    with data.build() as con:

        def key(text):  # the pseudonym independently of the SQL: HMAC-SHA256 with the test key
            return pseudonym(b"k" * 32, text)

        rows = con.execute("select agency, source_key, linkage_key from int_linkage_keys").fetchall()
        assert sorted(rows) == sorted([
            ("police", key("police:P1"), key(f"nhs:{NHS_A}")),
            ("police", key("police:P2"), key("police:P2")),
            ("la", key(f"la:{HPL}:C1"), key(f"la:{HPL}:C1")),
            ("la", key(f"la:{HPL}:C2"), key(f"la:{HPL}:C2")),
            ("health_ae", key(f"nhs:{NHS_B}"), key(f"nhs:{NHS_B}")),
        ])
