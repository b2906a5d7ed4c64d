"""One person across agencies: RISKY_CHILDREN and its linkage keys (sql/intermediate/int_linkage_keys.sql),
against numbers worked out by hand (how: tests/test_indicator_sql.py)."""

from __future__ import annotations

from sql_harness import HPL, MBRO, NHS_A, NHS_B, NHS_C, NHS_D, NHS_E, NHS_F, NHS_G, Q1, Q2, Dataset, assert_counts

from pipelines.pseudonymise import pseudonym


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
