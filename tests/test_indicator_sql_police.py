"""The police indicators' SQL (sql/indicators/ind_*.sql): LSCB11b, LSCB11e, LSCB19 and MARAC, each
against numbers worked out by hand (how: tests/test_indicator_sql.py)."""

from __future__ import annotations

from sql_harness import HPL, MBRO, NEXT_Q1, Q1, Q2, Q3, Q4, Dataset, assert_counts, history_flags


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
