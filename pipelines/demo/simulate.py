"""The demo's events: every extract's records, simulated per LA and quarter over the window.

Records are simulated with burn-in years, so that stocks such as open CP plans are steady from
the first quarter; :mod:`pipelines.demo.schedule` then decides which quarters' files send them.

Calibration. Rates are per 10,000 children aged 0-17 per quarter at Hartlepool's level; other
LAs scale by their population times a factor drawn in 0.85-1.15. Hartlepool's trends run
linearly over the window; everything else is flat with Poisson noise. "Measured" is the
default run, read back from the files (Hartlepool unless force-wide):

===========================  ============================  ====================================
measure                      chosen                        measured / source
===========================  ============================  ====================================
children aged 0-17           public: 20,500 / 33,000 /     synthetic LAs 18,000-70,000;
                             27,000 / 44,000               18-24s 82-102% of a child cohort
CP plan starts               22 (80% NEG); NEG starts      open at quarter end 151 -> 116,
                             x1.0 -> x0.65 (trend)         72-78% latest category NEG
CLA episode starts           19 (67% N1; half of new N1    283-321 looked after, 65-71% N1
                             periods follow a NEG plan)
early help assessments       73 (not public)               ~150 a quarter; neglect identified
                                                           15% -> 27% (trend), other LAs 18%
VEMT screenings              17, aged 10-17 (not public)   ~33 a quarter; 60% MEDIUM/HIGH
police missing reports       84                            ~4,000 a year force-wide; half the
                                                           children repeat, a quarter 4+ times
LA missing episodes          92% of police reports + 25%   same children, starts 0.5-6h before
                             absences (not public)         the report; RHI within 72h of those
                                                           interviewed 55% -> 85% (trend)
DA incidents                 400; 64% crimes (80% HIGH)    ~19,000 a year, ~12,400 crimes;
                                                           10% HIGH, 85% of HIGH to MARAC
children present at DA       victim's household children   36% of incidents; Hartlepool 39% ->
                             0-18, fewer over time in      32% (trend)
                             Hartlepool
A&E attendances aged 0-24    240 (not public)              ~2,800 a quarter across Tees, ~480
                                                           Hartlepool; 7% self-harm/alcohol/
                                                           drugs, mostly high-risk teenagers
adult treatment referrals    44 + 8% perinatal (not        ~105 a quarter; 54% substance
                             public)                       misuse; 46% live with children
===========================  ============================  ====================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.demo.draws import (
    blank_some,
    clock,
    count,
    dates,
    datetimes,
    day_numbers,
    draw,
    each_quarter,
    finish,
    ids,
    lerp,
    mixture,
    person_cols,
    pick,
    years_between,
)
from pipelines.demo.world import LocalAuthority, People, World

# Rates per 10,000 children aged 0-17 per quarter, at Hartlepool's level (see the table above).
RATES = {"cp": 22.0, "cla": 19.0, "eh": 73.0, "vemt": 17.0, "missing": 84.0, "da": 400.0,
         "ae": 240.0, "treatment": 44.0}


def _sim_cp_plans(w: World) -> pd.DataFrame:
    """CP plans: starts by risk (4% unborn), 1-30 months long; Hartlepool's neglect starts fall."""
    kids = w.kids

    def step(la: LocalAuthority, k: int, rng: np.random.Generator, span: slice) -> dict[str, np.ndarray]:
        dob, (lo, hi) = kids.dob[span], w.days(k)
        n_neg = count(rng, RATES["cp"] * 0.8, la, lerp(1.0, 0.65, w.trend(k)) if la.index == 0 else 1.0)
        n = n_neg + count(rng, RATES["cp"] * 0.2, la)
        who, day = draw(rng, dob, np.exp(1.3 * kids.z[span]), n, lo, hi, (0, 17))
        for i in np.flatnonzero(rng.random(len(who)) < 0.04):  # unborn: born 1-250 days after the start
            a, b = np.searchsorted(dob, day[i] + 1), np.searchsorted(dob, day[i] + 250)
            who[i] = rng.integers(a, b) if b > a else who[i]
        others = pick(rng, {"PHY": 25, "EMO": 45, "SAB": 10, "MUL": 20}, len(who))
        return {"who": who, "day": day, "initial": rng.permutation(np.where(np.arange(len(who)) < n_neg, "NEG",
                                                                             others)).astype(object)}

    p = each_quarter(w, kids, "cp", -12, step)
    rng, n = w.rng("cp finish"), len(p["who"])
    end = p["day"] + mixture(rng, n, [(0.15, 30, 90), (0.6, 91, 365), (0.25, 366, 900)])
    end = np.minimum(end, np.maximum(p["day"], kids.dob[p["who"]] + 6574))  # ends by the 18th birthday
    changed = rng.random(n) < 0.12
    latest = np.where(changed, pick(rng, {"NEG": 45, "MUL": 30, "EMO": 15, "PHY": 10}, n), p["initial"])
    cols = person_cols(kids, p["who"], rng, 0.85, "child_id", "la")
    cols |= {"plan_start_date": dates(p["day"]), "plan_end_date": dates(end),
             "initial_category": p["initial"], "latest_category": latest}
    return finish(cols, p["la"], "plan_id", "CPP", 7, "plan_start_date")


def _sim_cla_episodes(w: World, cp: pd.DataFrame) -> pd.DataFrame:
    """Looked-after episodes from 10 years back (stock ~150 per 10,000), many after a neglect plan."""
    kids = w.kids
    plans = cp[(cp["initial_category"] == "NEG") | (cp["latest_category"] == "NEG")]
    plan_who = plans["_who"].to_numpy()
    plan_start, plan_end = (day_numbers(plans[c]) for c in ("plan_start_date", "plan_end_date"))

    def step(la: LocalAuthority, k: int, rng: np.random.Generator, span: slice) -> dict[str, np.ndarray]:
        dob, (lo, hi) = kids.dob[span], w.days(k)
        who, day = draw(rng, dob, np.exp(1.2 * kids.z[span]), count(rng, RATES["cla"], la), lo, hi, (0, 17))
        reason = pick(rng, {"S": 62, "P": 22, "L": 9, "T": 3, "B": 2, "U": 2}, len(who))
        need = pick(rng, {"N1": 67, "N2": 3, "N3": 2, "N4": 12, "N5": 4, "N6": 2, "N7": 2, "N8": 8}, len(who))
        # Half of new N1 care periods follow a neglect plan of the LA open in the year before.
        recent = plan_who[(plan_start <= hi) & (plan_end >= lo - 365) & (plan_who >= span.start)
                          & (plan_who < span.stop)] - span.start
        linked = np.flatnonzero((reason == "S") & (need == "N1") & (rng.random(len(who)) < 0.5))
        if len(recent) and len(linked):
            chosen = recent[rng.integers(0, len(recent), len(linked))]
            ok = (years_between(dob[chosen], day[linked]) <= 17) & (dob[chosen] <= day[linked])
            who[linked[ok]] = chosen[ok]
        return {"who": who, "day": day, "reason": reason, "need": need}

    p = each_quarter(w, kids, "cla", -40, step)
    rng, n = w.rng("cla finish"), len(p["who"])
    end = p["day"] + mixture(rng, n, [(0.3, 7, 180), (0.35, 181, 730), (0.35, 731, 2900)])
    end = np.minimum(end, kids.dob[p["who"]] + 6574)
    ceased = pick(rng, {"X1": 30, "E4A": 15, "E13": 10, "E41": 5, "E45": 8, "E11": 5, "E8": 10, "E5": 7, "E3": 2,
                         "text": 3}, n)
    texts = np.array(["Returned home, to parents\nunder a supervision order", "Moved to live with aunt, see notes",
                      "Placement ended – moved to kinship carer"], dtype=object)
    ceased[ceased == "text"] = texts[rng.integers(0, len(texts), int((ceased == "text").sum()))]
    cols = person_cols(kids, p["who"], rng, 0.85, "child_id", "la")
    cols |= {"episode_start_date": dates(p["day"]), "reason_new_episode": p["reason"],
             "legal_status": pick(rng, {"C2": 50, "C1": 12, "V2": 12, "E1": 6, "J2": 3, "L1": 3, "D1": 3, "V3": 3,
                                         "V4": 3, "J1": 2, "J3": 1, "L2": 1, "L3": 1}, n),
             "category_of_need": p["need"], "episode_end_date": dates(end), "reason_episode_ceased": ceased}
    return finish(cols, p["la"], "episode_id", "CLA", 7, "episode_start_date")


def _sim_early_help(w: World) -> pd.DataFrame:
    """Early help assessments of 10-220 days; Hartlepool identifies neglect more often over time."""
    kids = w.kids

    def step(la: LocalAuthority, k: int, rng: np.random.Generator, span: slice) -> dict[str, np.ndarray]:
        lo, hi = w.days(k)
        who, day = draw(rng, kids.dob[span], np.exp(0.9 * kids.z[span]), count(rng, RATES["eh"], la), lo, hi,
                         (0, 17))
        share = lerp(0.15, 0.27, w.trend(k)) if la.index == 0 else 0.18
        return {"who": who, "day": day, "neglect": rng.random(len(who)) < share}

    p = each_quarter(w, kids, "eh", -4, step)
    rng, n = w.rng("eh finish"), len(p["who"])
    done = p["day"] + mixture(rng, n, [(0.7, 10, 45), (0.25, 46, 100), (0.05, 101, 220)])
    pool = np.array(["1B", "2B", "3A", "3B", "4A", "4B", "6A", "8B", "11A", "15A", "16A", "17A", "21", "22A"])
    picks = pool[rng.integers(0, len(pool), (n, 2))]
    factors = np.array([";".join(dict.fromkeys(([f"19{'ABC'[i % 3]}"] if neglect else []) + list(pk[: 1 + i % 2])))
                        for i, (neglect, pk) in enumerate(zip(p["neglect"], picks))], dtype=object)
    cols = person_cols(kids, p["who"], rng, 0.8, "child_id", "la")
    cols |= {"assessment_start_date": dates(p["day"]), "assessment_completed_date": dates(done),
             "neglect_identified": np.where(p["neglect"], "Y", "N").astype(object),
             "factors": blank_some(rng, factors, 0.85)}
    return finish(cols, p["la"], "assessment_id", "EHA", 7, "assessment_start_date")


def _sim_missing(w: World, cla: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Police missing reports and the LA missing episodes of the same children."""
    kids = w.kids
    care_who, care_start, care_end = cla["_who"].to_numpy(), *(day_numbers(cla[c]) for c in (
        "episode_start_date", "episode_end_date"))

    def step(la: LocalAuthority, k: int, rng: np.random.Generator, span: slice) -> dict[str, np.ndarray]:
        dob, z, (lo, hi) = kids.dob[span], kids.z[span], w.days(k)
        mid = lo + (hi - lo) // 2
        care = np.zeros(len(dob), dtype=bool)
        in_care = care_who[(care_start <= mid) & (care_end >= mid)]
        care[in_care[(in_care >= span.start) & (in_care < span.stop)] - span.start] = True
        # An eighth of reports are one-offs across all children; the rest come from the few
        # children (high risk, or in care) who go missing again and again.
        ages = np.interp((mid - dob) / 365.25, [7.5, 8, 11, 13, 14, 17.9], [0, 0.15, 0.35, 0.8, 1, 1])
        general, repeat = ages * np.exp(0.5 * z), ages * ((z > 2.4) | (care & (z > 0.8))) * np.exp(z)
        weight = 0.12 * general / general.sum() + 0.88 * repeat / repeat.sum()
        who, day = draw(rng, dob, weight, count(rng, RATES["missing"], la), lo, hi, (0, 17))
        within = lerp(0.55, 0.85, w.trend(k)) if la.index == 0 else 0.7
        return {"who": who, "day": day, "care": care[who], "within": np.full(len(who), within)}

    p = each_quarter(w, kids, "missing", 0, step)
    rng, n = w.rng("missing finish"), len(p["who"])
    reported = datetimes(p["day"], clock(rng, n))
    found = reported + (np.clip(rng.lognormal(np.log(9), 1.0, n), 1.2, 480) * 3600).astype("timedelta64[s]")
    risk = kids.z[p["who"]] + rng.normal(0, 0.8, n)
    cols = person_cols(kids, p["who"], rng, 0.75, "person_id", "police")
    cols |= {"reported_missing_at": reported, "found_at": found,
             "risk_grading": np.select([risk > 2.2, risk > 0.6], ["HIGH", "MEDIUM"], "LOW").astype(object),
             "from_care": np.where(p["care"], "Y", "N").astype(object), "_within": p["within"]}
    police = finish(cols, p["la"], "report_id", "MR", 8, "reported_missing_at")
    return police, _la_missing_episodes(w, police, rng)


def _la_missing_episodes(w: World, police: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """92% of police reports (starting before the report, ending after the find) plus absences
    of the same children, a quarter as many, not reported to police."""
    reports = police[rng.random(len(police)) < 0.92]
    absent = police.iloc[np.sort(rng.choice(len(police), size=len(police) // 4))]
    m, a = len(reports), len(absent)
    start = reports["reported_missing_at"].to_numpy() - rng.integers(1800, 6 * 3600, m).astype("timedelta64[s]")
    end = reports["found_at"].to_numpy() + rng.integers(0, 5400, m).astype("timedelta64[s]")
    a_start = absent["reported_missing_at"].to_numpy() + rng.integers(-20, 21, a).astype("timedelta64[D]")
    a_start = np.clip(a_start, np.datetime64(w.quarters[0].start_date), np.datetime64(w.quarters[-1].end_date))
    a_start = np.maximum(a_start, absent["dob"].to_numpy() + np.timedelta64(8 * 366, "D")).astype("datetime64[s]")
    start, end = np.r_[start, a_start], np.r_[end, a_start + rng.integers(3600, 14 * 3600, a).astype("timedelta64[s]")]
    kind = np.r_[np.full(m, "M", dtype=object), np.full(a, "A", dtype=object)]
    within, n = np.r_[reports["_within"].to_numpy(), np.full(a, 0.7)], m + a
    offered = rng.random(n) < np.where(kind == "M", 0.95, 0.3)
    accepted = np.where(offered, pick(rng, {"Y": 75, "N": 20, "": 5}, n), "")
    delay = np.where(rng.random(n) < within, rng.integers(0, 4, n), rng.integers(4, 22, n))  # days to the RHI
    rhi = np.where(accepted == "Y", end.astype("datetime64[D]") + delay.astype("timedelta64[D]"),
                   np.datetime64("NaT")).astype("datetime64[s]")
    cols = person_cols(w.kids, np.r_[reports["_who"].to_numpy(), absent["_who"].to_numpy()], rng, 0, "child_id", "la")
    del cols["nhs_number"]
    cols |= {"missing_or_away": kind, "missing_start": start, "missing_end": end,
             "rhi_offered": np.where(offered, "Y", "N").astype(object),
             "rhi_accepted": np.where(accepted == "", None, accepted).astype(object), "rhi_date": rhi}
    la_codes = np.r_[reports["la_code"].to_numpy(), absent["la_code"].to_numpy()]
    return finish(cols, la_codes, "episode_id", "MEP", 7, "missing_start")


def _sim_vemt(w: World, police_missing: pd.DataFrame) -> pd.DataFrame:
    """Exploitation screenings of 10-17s, favouring high-risk children just reported missing."""
    kids = w.kids
    missing_who = police_missing["_who"].to_numpy()
    missing_q = w.qidx(police_missing["reported_missing_at"].to_numpy())

    def step(la: LocalAuthority, k: int, rng: np.random.Generator, span: slice) -> dict[str, np.ndarray]:
        dob, (lo, hi) = kids.dob[span], w.days(k)
        recent = np.zeros(len(dob), dtype=bool)  # reported missing this quarter or last
        was_missing = missing_who[(missing_q >= k - 1) & (missing_q <= k)]
        recent[was_missing[(was_missing >= span.start) & (was_missing < span.stop)] - span.start] = True
        weight = np.exp(1.8 * kids.z[span]) * (1 + 4 * recent)
        who, day = draw(rng, dob, weight, count(rng, RATES["vemt"], la), lo, hi, (10, 17))
        return {"who": who, "day": day, "recent": recent[who]}

    p = each_quarter(w, kids, "vemt", 0, step)
    rng, n = w.rng("vemt finish"), len(p["who"])
    score = kids.z[p["who"]] + rng.normal(0, 0.7, n)
    level = np.select([score > 3.2, score > 2.25, score > 1.0], ["HIGH", "MEDIUM", "LOW"], "NONE").astype(object)
    risky, low = np.isin(level, ["MEDIUM", "HIGH"]), level == "LOW"

    def yes(p_yes: np.ndarray) -> np.ndarray:
        return np.where(rng.random(n) < p_yes, "Y", "N").astype(object)

    cols = person_cols(kids, p["who"], rng, 0.8, "child_id", "la")
    cols |= {"screening_date": dates(p["day"]), "risk_level": level,
             "missing_concern": yes(np.where(p["recent"], 0.9, 0.05)),
             "exploitation_concern": yes(np.where(risky, 0.75, np.where(low, 0.2, 0.05))),
             "trafficking_concern": yes(np.where(level == "HIGH", 0.12, np.where(risky, 0.04, 0.005))),
             "holistic_plan": yes(np.where(risky, 0.6, np.where(low, 0.2, 0.05)))}
    return finish(cols, p["la"], "screening_id", "VS", 7, "screening_date")


def _household_children(kids: People, houses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (position in ``houses``, child) pair for the children living in those households."""
    by_house = np.argsort(kids.household, kind="stable")
    first = np.searchsorted(kids.household[by_house], np.arange(kids.household.max() + 2))
    counts = first[houses + 1] - first[houses]
    row = np.repeat(np.arange(len(houses)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return row, by_house[first[houses][row] + offset]


def _sim_domestic_abuse(w: World) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Incidents against household adults (high-risk households repeat) and the children present."""
    adults = w.adults

    def step(la: LocalAuthority, k: int, rng: np.random.Generator, span: slice) -> dict[str, np.ndarray]:
        (lo, hi), youngest, weight = w.days(k), adults.youngest[span], np.exp(1.3 * adults.z[span])
        mid = (lo + hi) // 2
        active = (youngest <= mid) & (mid - youngest < 18.5 * 365.25)  # a child 0-18 lives there
        n = count(rng, RATES["da"], la)
        n_kids = rng.binomial(n, 0.55)
        with_kids = rng.choice(len(weight), n_kids, p=weight * active / (weight * active).sum())
        without = rng.choice(len(weight), n - n_kids, p=weight * ~active / (weight * ~active).sum())
        present = lerp(0.78, 0.62, w.trend(k)) if la.index == 0 else 0.72
        return {"who": np.r_[with_kids, without], "day": rng.integers(lo, hi + 1, n),
                "present": np.r_[rng.random(n_kids) < present, np.zeros(n - n_kids, bool)]}

    p = each_quarter(w, adults, "da", 0, step)
    rng, n = w.rng("da finish"), len(p["who"])
    score = adults.z[p["who"]] + rng.normal(0, 0.8, n)
    dash = np.select([score > 2.8, score > 1.6], ["HIGH", "MEDIUM"], "STANDARD").astype(object)
    marac = rng.random(n) < np.select([dash == "HIGH", dash == "MEDIUM"], [0.85, 0.04], 0.005)
    crime = rng.random(n) < np.where(dash == "HIGH", 0.8, 0.64)
    incidents = finish({"reported_at": datetimes(p["day"], clock(rng, n)),
                         "victim_id": ids("CP", adults.police_no[p["who"]], 8), "dash_risk": dash,
                         "marac_referral": np.where(marac, "Y", "N").astype(object),
                         "crime_recorded": np.where(crime, "Y", "N").astype(object),
                         "_who": p["who"], "_present": p["present"]}, p["la"], "incident_id", "DA", 8, "reported_at")
    # Children present: the victim's household children aged 0-18 that day (18 only rarely).
    flagged = incidents[incidents["_present"]]
    row, kid = _household_children(w.kids, adults.household[flagged["_who"].to_numpy()])
    day = flagged["reported_at"].to_numpy()[row].astype("datetime64[D]").astype(np.int64)
    age = years_between(w.kids.dob[kid], day)
    keep = (w.kids.dob[kid] <= day) & (age <= 18) & (rng.random(len(kid)) < np.where(age == 18, 0.25, 0.85))
    row, kid = row[keep], kid[keep]
    children = pd.DataFrame({"incident_id": flagged["incident_id"].to_numpy()[row],
                             **person_cols(w.kids, kid, rng, 0.65, "person_id", "police"),
                             "_event": flagged["reported_at"].to_numpy()[row]})
    incidents["_has_children"] = incidents["incident_id"].isin(children["incident_id"])
    return incidents.drop(columns=["_present"]), children


def _sim_ae(w: World) -> pd.DataFrame:
    """A&E attendances of 0-24s; self-harm, alcohol and drugs follow the latent risk (A&E by trust)."""
    kids = w.kids

    def step(la: LocalAuthority, k: int, rng: np.random.Generator, span: slice) -> dict[str, np.ndarray]:
        lo, hi = w.days(k)
        who, day = draw(rng, kids.dob[span], np.exp(0.5 * kids.z[span]), count(rng, RATES["ae"], la), lo, hi,
                         (0, 24), lambda a: np.interp(a, [0, 4, 5, 14, 15, 25], [1.6, 1.6, 0.8, 0.8, 1.2, 1.2]))
        return {"who": who, "day": day}

    p = each_quarter(w, kids, "ae", 0, step)
    rng, n = w.rng("ae finish"), len(p["who"])
    age = years_between(kids.dob[p["who"]], p["day"])
    reasons = np.array(["INJURY", "ILLNESS", "OTHER", "ASSAULT", "SELF_HARM", "ALCOHOL", "DRUGS"], dtype=object)
    probs = np.where((age >= 12)[:, None], [0.38, 0.42, 0.08, 0.04, 0.03, 0.03, 0.02], [0.45, 0.5, 0.05, 0, 0, 0, 0])
    probs[:, 3:] *= np.exp(0.9 * kids.z[p["who"]])[:, None]  # risky reasons follow the latent risk
    probs /= probs.sum(axis=1, keepdims=True)
    reason = reasons[(rng.random((n, 1)) > probs.cumsum(axis=1)).sum(axis=1).clip(0, 6)]
    flagged = np.isin(reason, ["SELF_HARM", "ALCOHOL", "DRUGS", "ASSAULT"]) & (age < 18)
    cols = person_cols(kids, p["who"], rng, 1.0, None, "")
    cols |= {"arrived_at": datetimes(p["day"], clock(rng, n)), "attendance_reason": reason,
             "safeguarding_referral": np.where(rng.random(n) < np.where(flagged, 0.3, 0.02), "Y", "N").astype(object)}
    frame = finish(cols, p["la"], "attendance_id", "AE", 8, "arrived_at")
    trust = frame["la_code"].map({la.code: la.trust for la in w.las})
    frame["attendance_id"] = trust.str[:2] + frame["attendance_id"].str[2:]
    return frame.assign(_la=trust)


def _sim_treatment(w: World) -> pd.DataFrame:
    """Adult treatment episodes from 2 years back: referral, start (often within 28 days), discharge."""
    adults = w.adults

    def step(la: LocalAuthority, k: int, rng: np.random.Generator, span: slice) -> dict[str, np.ndarray]:
        dob, weight, (lo, hi) = adults.dob[span], np.exp(adults.z[span]), w.days(k)
        n = count(rng, RATES["treatment"], la)
        who, day = draw(rng, dob, weight, n, lo, hi, (18, 64))
        # Perinatal referrals: mothers who are pregnant or have a baby under 18 months.
        baby_age = ((lo + hi) // 2 - adults.youngest[span]) / 365.25
        mothers = (adults.sex[span] == "F") & (baby_age > -0.6) & (baby_age < 1.5)
        mums, mum_day = draw(rng, dob, weight * mothers, rng.binomial(n, 0.08), lo, hi, (18, 50))
        return {"who": np.r_[who, mums], "day": np.r_[day, mum_day],
                "perinatal": np.r_[np.zeros(len(who), bool), np.ones(len(mums), bool)]}

    p = each_quarter(w, adults, "treatment", -8, step)
    rng, n = w.rng("treatment finish"), len(p["who"])
    youngest_age = (p["day"] - np.nan_to_num(adults.youngest[p["who"]], nan=-1e9)) / 365.25
    with_kids = ((youngest_age >= 0) & (youngest_age < 18)) | p["perinatal"]
    service = pick(rng, {"SUBSTANCE_MISUSE": 54, "ADULT_MENTAL_HEALTH": 46}, n)
    service[p["perinatal"]] = "PERINATAL_MENTAL_HEALTH"
    misuse = service == "SUBSTANCE_MISUSE"
    start = p["day"] + np.where(rng.random(n) < np.where(misuse, 0.8, 0.65), rng.integers(1, 29, n),
                                rng.integers(29, 121, n))
    end = start + np.where(misuse, rng.integers(40, 421, n), rng.integers(30, 301, n))
    reason = np.where(misuse, pick(rng, {"COMPLETED": 45, "DROPPED_OUT": 33, "TRANSFERRED": 10, "DECLINED": 5,
                                          "OTHER": 7}, n),
                      pick(rng, {"COMPLETED": 60, "DROPPED_OUT": 20, "TRANSFERRED": 10, "DECLINED": 4, "OTHER": 6},
                            n)).astype(object)
    cols = person_cols(adults, p["who"], rng, 0.9, "client_id", "health")
    del cols["dob"], cols["sex"]
    cols |= {"service": service,
             "lives_with_children": np.where(rng.random(n) < np.where(with_kids, 0.9, 0.03), "Y", "N").astype(object),
             "referral_date": dates(p["day"]), "treatment_start_date": dates(start),
             "discharge_date": dates(end), "discharge_reason": reason}
    return finish(cols, p["la"], "episode_id", "TE", 8, "referral_date").assign(_la="all")


def simulate(w: World) -> dict[str, pd.DataFrame]:
    """Every extract's records (all LAs, all quarters and the burn-in), each with the file it goes
    in (``_la``: LA code, trust, or one file for the force / the service)."""
    cp = _sim_cp_plans(w)
    cla = _sim_cla_episodes(w, cp)
    police_missing, la_missing = _sim_missing(w, cla)
    incidents, children = _sim_domestic_abuse(w)
    incidents["_la"], children["_la"] = "force", "force"
    police_missing["_la"] = "force"
    return {"la_early_help_assessments": _sim_early_help(w), "la_cp_plans": cp, "la_cla_episodes": cla,
            "la_missing_episodes": la_missing, "la_vemt_screenings": _sim_vemt(w, police_missing),
            "police_da_incidents": incidents, "police_da_children": children,
            "police_missing_reports": police_missing, "health_ae_attendances": _sim_ae(w),
            "health_treatment_episodes": _sim_treatment(w)}
