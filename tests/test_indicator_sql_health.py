"""The health indicators' SQL (sql/indicators/ind_*.sql): SM_COMPLETIONS and PMH_ACCESS, each
against numbers worked out by hand (how: tests/test_indicator_sql.py)."""

from __future__ import annotations

from sql_harness import HPL, MBRO, Q1, Q2, Dataset, assert_counts


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
