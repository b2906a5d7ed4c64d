"""The LA indicators' SQL (sql/indicators/ind_*.sql): LSCB21, RISKY_HOLISTIC, RHI72, EH_NEGLECT,
CPP_NEGLECT and CLA_NEGLECT, each against numbers worked out by hand (how: tests/test_indicator_sql.py)."""

from __future__ import annotations

from sql_harness import HPL, MBRO, Q1, Q2, Q3, Q4, RCL, Dataset, assert_counts


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
