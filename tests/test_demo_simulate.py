"""The demo's events: valid rows are realistic (dates, ages, late records, records resent while
open, children linked to incidents) and calibrated to the table in pipelines/demo/simulate.py.
Files are read back with tests/demo_files.py."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from demo_files import CONTRACT, FIRST, HARTLEPOOL, LAST, Demo, frame, latest, planted_rows
from pipelines.periods import Quarter


def test_valid_dates_never_after_the_period_and_ages_plausible(demo: Demo) -> None:
    for name in CONTRACT:
        extract = CONTRACT[name]
        data = frame(demo, name)
        ends = data["period"].map(lambda p: datetime.combine(Quarter.parse(p).end_date, datetime.max.time()))
        for c in extract.columns:
            if c.type in ("date", "datetime") and c.identifier != "dob":
                values = data[c.name].dropna()
                assert (values <= ends[values.index]).all(), (name, c.name)
                assert (values >= datetime(2000, 1, 1)).all()
    ae = frame(demo, "health_ae_attendances")
    age = (ae["arrived_at"] - ae["dob"]).dt.days / 365.25
    assert age.between(0, 25).all() and (age < 18).mean() > 0.5
    cp = frame(demo, "la_cp_plans")
    unborn = cp[cp["dob"] > cp["plan_start_date"]]
    assert 5 <= unborn["plan_id"].nunique() and ((unborn["dob"] - unborn["plan_start_date"]).dt.days <= 280).all()


def test_late_records_are_dated_in_the_quarter_before(demo: Demo) -> None:
    incidents = frame(demo, "police_da_incidents")
    quarter_of = incidents["reported_at"].map(lambda t: Quarter.containing(t.date()).folder_id)
    late = incidents[quarter_of != incidents["period"]]
    assert 0.01 < len(late) / len(incidents) < 0.03
    days_before_quarter = late.apply(lambda r: (Quarter.parse(r["period"]).start_date - r["reported_at"].date()).days,
                                     axis=1)
    assert days_before_quarter.between(1, 21).all()
    assert (late["reported_at"].map(lambda t: Quarter.containing(t.date()).shift(1).folder_id)
            == late["period"]).all()


def test_children_rows_belong_to_incidents_of_the_same_period(demo: Demo) -> None:
    incidents = {(r.period, (r.values["incident_id"] or "").upper()) for r in demo.rows["police_da_incidents"]}
    children = frame(demo, "police_da_children")
    assert children.apply(lambda r: (r["period"], r["incident_id"]) in incidents, axis=1).all()
    reported = latest(frame(demo, "police_da_incidents"), "incident_id").set_index("incident_id")["reported_at"]
    age = (reported[children["incident_id"]].to_numpy() - children["dob"].to_numpy()) / np.timedelta64(1, "D") / 365.25
    assert age.min() >= 0 and 18 <= age.max() < 19.5 and (age >= 18).mean() < 0.03


def test_open_records_are_resent_until_they_end(demo: Demo) -> None:
    plans = frame(demo, "la_cp_plans")
    planted = planted_rows(demo)
    touched = {r.values["plan_id"] for r in demo.rows["la_cp_plans"]
               if (r.period, r.file_name, r.row_number) in planted}
    plans = plans[~plans["plan_id"].isin(touched)]
    ended = latest(plans, "plan_id").set_index("plan_id")["plan_end_date"]
    for plan_id, sent in plans.groupby("plan_id")["period"].agg(list).items():
        quarters = [Quarter.parse(p) for p in sent]
        assert quarters == [quarters[0].shift(i) for i in range(len(quarters))], plan_id  # every quarter
        end = ended[plan_id]
        if pd.notna(end):  # sent until the quarter it ends, not after
            assert Quarter.containing(end.date()) <= quarters[-1], plan_id
            assert quarters[-1] == max(Quarter.containing(end.date()), quarters[0]), plan_id
        else:
            assert quarters[-1] == LAST
    # an end date is only ever filled in the file of the quarter it falls in (or later)
    with_end = plans.dropna(subset=["plan_end_date"])
    assert (with_end["plan_end_date"].map(lambda d: Quarter.containing(d.date()).folder_id)
            <= with_end["period"]).all()
    treatment = frame(demo, "health_treatment_episodes")
    assert (treatment["discharge_date"].notna() == treatment["discharge_reason"].notna()).all()
    assert treatment.groupby("episode_id")["period"].nunique().max() >= 3


# --------------------------------------------------------------------------- calibration


def _open_at(records: pd.DataFrame, start: str, end: str, day: date) -> pd.Series:
    day_ts = pd.Timestamp(day)
    return (records[start] <= day_ts) & (records[end].isna() | (records[end] >= day_ts))


def test_hartlepool_child_protection_and_looked_after(demo: Demo) -> None:
    plans = latest(frame(demo, "la_cp_plans", la_code=HARTLEPOOL), "plan_id")
    episodes = latest(frame(demo, "la_cla_episodes", la_code=HARTLEPOOL), "episode_id")
    for i in range(12):
        end = FIRST.shift(i).end_date
        open_plans = plans[_open_at(plans, "plan_start_date", "plan_end_date", end)]
        assert 100 <= len(open_plans) <= 180, end
        assert 0.7 <= (open_plans["latest_category"] == "NEG").mean() <= 0.85
        looked_after = episodes[_open_at(episodes, "episode_start_date", "episode_end_date", end)]
        assert 250 <= looked_after["child_id"].nunique() <= 350, end
        assert 0.62 <= (looked_after["category_of_need"] == "N1").mean() <= 0.78


def _per_quarter(records: pd.DataFrame, column: str, first_year: bool) -> float:
    quarters = records[column].map(lambda t: Quarter.containing(t.date()))
    wanted = [FIRST.shift(i) for i in (range(4) if first_year else range(8, 12))]
    return quarters.isin(wanted).sum() / 4


def test_police_volumes(demo: Demo) -> None:
    reports = latest(frame(demo, "police_missing_reports"), "report_id")
    reports = reports.assign(year=reports["reported_missing_at"].map(lambda t: Quarter.containing(t.date())
                                                                     .fy_start_year))
    for year, group in reports.groupby("year"):
        assert 3_400 <= len(group) <= 4_600, year
        per_child = group.groupby("person_id").size()
        assert 0.4 <= (per_child >= 2).mean() <= 0.6
    incidents = latest(frame(demo, "police_da_incidents"), "incident_id")
    year = incidents["reported_at"].map(lambda t: Quarter.containing(t.date()).fy_start_year)
    crimes = incidents[incidents["crime_recorded"] == "Y"].groupby(year[incidents["crime_recorded"] == "Y"]).size()
    assert crimes.between(11_300, 13_900).all()
    with_children = incidents["incident_id"].str.upper().isin(set(frame(demo, "police_da_children")["incident_id"]))
    assert 0.3 <= with_children.mean() <= 0.5
    high = incidents[incidents["dash_risk"] == "HIGH"]
    assert 0.75 <= (high["marac_referral"] == "Y").mean() <= 0.95


def test_hartlepool_trends(demo: Demo) -> None:
    plans = latest(frame(demo, "la_cp_plans", la_code=HARTLEPOOL), "plan_id")
    neglect = plans[plans["initial_category"] == "NEG"]
    early, late = (_per_quarter(neglect, "plan_start_date", f) for f in (True, False))
    assert 0.55 <= late / early <= 0.85
    assessments = latest(frame(demo, "la_early_help_assessments", la_code=HARTLEPOOL), "assessment_id")
    done = assessments.dropna(subset=["assessment_completed_date"])
    early, late = (_per_quarter(done[done["neglect_identified"] == "Y"], "assessment_completed_date", f)
                   for f in (True, False))
    assert late / early >= 1.4
    episodes = latest(frame(demo, "la_missing_episodes", la_code=HARTLEPOOL), "episode_id")
    ended = episodes[(episodes["missing_or_away"] == "M") & episodes["missing_end"].notna()]
    quick = ended["rhi_date"].notna() & ((ended["rhi_date"] - ended["missing_end"].dt.normalize()).dt.days <= 3)
    by_year = quick.groupby(ended["missing_end"].map(lambda t: Quarter.containing(t.date()).fy_start_year)).mean()
    assert by_year[2019] - by_year[2017] >= 0.12
    incidents = latest(frame(demo, "police_da_incidents", la_code=HARTLEPOOL), "incident_id")
    children = frame(demo, "police_da_children").merge(incidents[["incident_id", "reported_at"]], on="incident_id")
    children = children.drop_duplicates(["incident_id", "person_id"])
    early, late = (_per_quarter(children, "reported_at", f) for f in (True, False))
    assert 0.65 <= late / early <= 0.95


def test_la_missing_episodes_match_police_reports(demo: Demo) -> None:
    police = latest(frame(demo, "police_missing_reports", la_code=HARTLEPOOL), "report_id")
    la = latest(frame(demo, "la_missing_episodes", la_code=HARTLEPOOL), "episode_id")
    missing = la[la["missing_or_away"] == "M"]
    assert 0.85 <= len(missing) / len(police) <= 1.0
    assert 0.15 <= (la["missing_or_away"] == "A").mean() <= 0.3
    # the same children at the same times: LA episodes start within 6 hours before the report
    starts = missing["missing_start"].sort_values().to_numpy()
    reported = police["reported_missing_at"].sort_values().to_numpy()
    position = np.searchsorted(reported, starts)
    gaps = reported[np.minimum(position, len(reported) - 1)] - starts
    assert (gaps <= np.timedelta64(6, "h")).mean() > 0.95
