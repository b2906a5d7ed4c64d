"""Deterministic demo data: all ten extracts for every quarter, realistically messy but within
the contract (``shared/spec/extracts.md``), plus the population reference file and a manifest
of the row errors planted on purpose.

    generate_demo(raw_dir, reference_dir)          # 4 Tees LAs, 2017-18 Q1 .. 2019-20 Q4
    write_extract_rows("police_da_incidents", 1_000_000, path, quarter=q)   # benchmarks

Same arguments => byte-identical files: every random draw comes from a numpy ``default_rng``
keyed by the seed and stable labels (``zlib.crc32``, never ``hash()``), no clock is read, and
XLSX packages are written directly with fixed zip timestamps and no document properties.

How the data is made
--------------------
1. **People.** Each LA has a pool of children (a birth cohort per year: everyone aged 0-24 at
   some time in the window, sized like the population file) living in households of 1-4
   siblings with an adult; adults without children here are added. A person keeps their dob,
   sex, a unique valid NHS number (synthetic, 9xx range), an LA ``child_id`` (``0004512``), a
   force-wide police ``person_id`` (``CP10004512``) and, for adults, a health ``client_id``
   (``C0104512``). A latent risk score (household + own) makes the same children go missing
   again and again, witness domestic abuse repeatedly, get screened for exploitation at
   higher risk and attend A&E for self-harm, alcohol or drugs, so people recur within and
   across sources (NHS number filled on 65-90% of rows where optional).
2. **Records** are simulated per LA and quarter (with burn-in years so stocks such as open CP
   plans are steady from the first quarter), then **sent**: a record is in every quarter's file
   from the quarter of its start to the quarter its last date falls in, with dates after the
   period end left blank (open plans and care episodes, in-progress assessments, treatment not
   started or not ended, children not yet found, interviews not yet held). About 2% of records
   (events in a quarter's last three weeks) are recorded late: first sent the quarter after.

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

Messiness (all valid per the contract): LA extracts come one file per LA (``--E06000001``),
police force-wide, A&E one file per trust (NTHFT = Hartlepool + Stockton, STHFT = Middlesbrough
+ Redcar, synthetic LAs in pairs ``TR01``...), treatment one file. Redcar (and every 4th
synthetic LA) and health send XLSX, with report title rows or leading blank rows, real Excel
date cells or text. CSVs are UTF-8, UTF-8 with BOM or Windows-1252 (police incidents always,
with a ``Notes`` column holding ``£`` and ``–``). Header spellings vary (``incident_id``,
``Incident ID``, ``INCIDENT_ID``, `` Incident Id ``), columns are shuffled, extra columns
added; dates are ISO or UK, datetimes with or without seconds; optional blanks are ``""``,
``N/A``, ``NULL``, ``NA`` or ``-``; codes and person ids come in lower case or padded; keys and
LA codes padded; NHS numbers sometimes spaced; notes hold quotes, commas and newlines.

Planted errors: ~1% of each file's rows (never more than 2% of a file, so none in files under
50 rows), each with exactly one defect, cycling through every row rule that applies to the
extract, plus one duplicate key per period across two files of a split submission (the copy
in the later file). Duplicates are extra rows (a record sent twice, or another record given
its key), so every record is still sent. Impossible dates are only planted where no other rule
could also fire (``reported_at`` of incidents, ``referral_date``); incidents with children
present are never planted, so child rows stay linked. Each error is listed in
``<raw>/_demo/planted_errors.csv`` with the row number a person sees in the spreadsheet.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from pipelines.contract import Column, Extract, get_extract, load_contract
from pipelines.periods import Quarter, quarter_range
from pipelines.rules import RowRule

DEFAULT_SEED = 20170401
TEES_LAS = (
    ("E06000001", "Hartlepool", 20_500),
    ("E06000002", "Middlesbrough", 33_000),
    ("E06000003", "Redcar and Cleveland", 27_000),
    ("E06000004", "Stockton-on-Tees", 44_000),
)
TEES_TRUSTS = {"E06000001": "NTHFT", "E06000004": "NTHFT", "E06000002": "STHFT", "E06000003": "STHFT"}
SENDERS = {"NTHFT": "North Tees and Hartlepool NHS FT", "STHFT": "South Tees Hospitals NHS FT",
           "force": "Cleveland Police", "all": "Tees adult treatment services"}
# Rates per 10,000 children aged 0-17 per quarter, at Hartlepool's level (see the table above).
RATES = {"cp": 22.0, "cla": 19.0, "eh": 73.0, "vemt": 17.0, "missing": 84.0, "da": 400.0,
         "ae": 240.0, "treatment": 44.0}
LATE_SHARE = 0.02
PLANT_SHARE, MAX_PLANT_SHARE = 0.01, 0.02
MISSING_TOKENS = ("", "N/A", "NULL", "NA", "-")
MANIFEST_COLUMNS = ["period", "extract", "file_name", "row_number", "column_name", "rule", "outcome"]
_EPOCH = date(1970, 1, 1)
_DAY = 86_400
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate_demo` wrote."""

    files_written: int
    rows_per_extract: Mapping[str, int]
    planted_count: int
    planted_by_rule: Mapping[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- small helpers


def _rng(seed: int, *labels: object) -> np.random.Generator:
    words = [seed & 0xFFFFFFFF] + [zlib.crc32(str(label).encode()) for label in labels]
    return np.random.default_rng(np.random.SeedSequence(words))


def _day(d: date) -> int:
    return (d - _EPOCH).days


def nhs_check_digit(prefixes: np.ndarray) -> np.ndarray:
    """Modulus-11 check digit of 9-digit prefixes (weights 10..2); 10 means no valid number."""
    digits = (np.asarray(prefixes, dtype=np.int64)[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    check = 11 - (digits * np.arange(10, 1, -1)).sum(axis=1) % 11
    return np.where(check == 11, 0, check)


def is_valid_nhs_number(text: str) -> bool:
    digits = text.replace(" ", "")
    if len(digits) != 10 or not digits.isdigit():
        return False
    return int(nhs_check_digit(np.array([int(digits[:9])]))[0]) == int(digits[9])


def _nhs_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct valid NHS numbers (int64) with 9-digit prefixes in the 9xx range."""
    prefixes = rng.integers(900_000_000, 1_000_000_000, size=int(n * 1.4) + 16)
    check = nhs_check_digit(prefixes)
    numbers = (prefixes * 10 + check)[check != 10]
    _, first = np.unique(numbers, return_index=True)
    numbers = numbers[np.sort(first)]
    if len(numbers) < n:
        raise RuntimeError("ran out of NHS numbers; raise the over-draw")
    return numbers[:n]


def _age(dob: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Whole years between integer day numbers."""
    d1, d2 = dob.astype("datetime64[D]"), on.astype("datetime64[D]")
    y1, y2 = (d.astype("datetime64[Y]").astype(np.int64) for d in (d1, d2))
    key1, key2 = ((d.astype("datetime64[M]").astype(np.int64) % 12) * 32
                  + (d - d.astype("datetime64[M]")).astype(np.int64) for d in (d1, d2))
    return y2 - y1 - (key2 < key1)


def _pick(rng: np.random.Generator, weights: Mapping[str, float], n: int) -> np.ndarray:
    codes, p = list(weights), np.array(list(weights.values()), dtype=float)
    return np.array(codes, dtype=object)[rng.choice(len(codes), size=n, p=p / p.sum())]


def _mixture(rng: np.random.Generator, n: int, parts: list[tuple[float, int, int]]) -> np.ndarray:
    """Day counts from a mixture of uniform ranges [(weight, low, high), ...]."""
    which = rng.choice(len(parts), size=n, p=np.array([p[0] for p in parts]) / sum(p[0] for p in parts))
    low, high = np.array([p[1] for p in parts])[which], np.array([p[2] for p in parts])[which]
    return low + (rng.random(n) * (high - low + 1)).astype(np.int64)


def _clock(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds into the day, busier in the afternoon and evening."""
    weights = np.r_[[1.0] * 7, [2.0] * 8, [3.5] * 6, [2.0] * 3]
    hours = rng.choice(24, size=n, p=weights / weights.sum())
    return hours * 3600 + rng.integers(0, 3600, size=n)


def _seconds(days: np.ndarray, secs: np.ndarray | int = 0) -> np.ndarray:
    return (days.astype(np.int64) * _DAY + secs).astype("datetime64[s]")


def _dates(days: np.ndarray) -> np.ndarray:
    return _seconds(days)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    return np.array([f"{prefix}{n:0{width}d}" for n in numbers.tolist()], dtype=object)


def _blank_some(rng: np.random.Generator, values: np.ndarray, fill_rate: float) -> np.ndarray:
    out = values.astype(object).copy()
    out[rng.random(len(out)) >= fill_rate] = None
    return out


def _lerp(a: float, b: float, x: float) -> float:
    return a + (b - a) * x


# --------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class LocalAuthority:
    code: str
    name: str
    index: int
    children: int  # population aged 0-17
    factor: float  # rates relative to Hartlepool's
    trust: str
    sends_xlsx: bool

    @property
    def per10k(self) -> float:
        return self.children / 10_000 * self.factor


@dataclass
class People:
    """One pool of people (children or adults) for all LAs, contiguous per LA."""

    la: np.ndarray
    dob: np.ndarray  # day numbers
    sex: np.ndarray
    nhs: np.ndarray
    z: np.ndarray  # latent risk
    local_no: np.ndarray  # child_id / client_id number
    police_no: np.ndarray
    household: np.ndarray
    bounds: np.ndarray
    youngest: np.ndarray | None = None  # adults: dob (days) of youngest/eldest child, or NaN
    eldest: np.ndarray | None = None

    def span(self, la: LocalAuthority) -> slice:
        return slice(int(self.bounds[la.index]), int(self.bounds[la.index + 1]))


@dataclass
class World:
    seed: int
    quarters: list[Quarter]
    las: list[LocalAuthority]
    age_sizes: np.ndarray  # la x age (0-24) base population
    kids: People | None = None
    adults: People | None = None

    def rng(self, *labels: object) -> np.random.Generator:
        return _rng(self.seed, *labels)

    @property
    def n_quarters(self) -> int:
        return len(self.quarters)

    def quarter(self, k: int) -> Quarter:
        return self.quarters[0].shift(k)

    def days(self, k: int) -> tuple[int, int]:
        q = self.quarter(k)
        return _day(q.start_date), _day(q.end_date)

    def trend(self, k: int) -> float:
        return min(max(k / max(self.n_quarters - 1, 1), 0.0), 1.0)

    def qidx(self, values: np.ndarray) -> np.ndarray:
        """Quarter index (0 = first quarter) of datetime64 values; NaT gives a huge negative."""
        months = values.astype("datetime64[M]").astype(np.int64)
        first = self.quarters[0].start_date
        return (months - 3) // 3 - ((first.year - 1970) * 12 + first.month - 1 - 3) // 3


def _local_authorities(n_las: int, seed: int) -> list[LocalAuthority]:
    if not 1 <= n_las <= 200:
        raise ValueError(f"n_las must be between 1 and 200, got {n_las}")
    rng = _rng(seed, "las")
    las = []
    for i in range(n_las):
        if i < len(TEES_LAS):
            code, name, children = TEES_LAS[i]
            trust, factor = TEES_TRUSTS[code], 1.0 if i == 0 else float(rng.uniform(0.85, 1.15))
        else:
            code, name = f"E06{i + 1:06d}", f"Synthetic LA {i + 1}"
            children, factor = int(rng.integers(18_000, 70_001)), float(rng.uniform(0.85, 1.15))
            trust = f"TR{(i - 4) // 2 + 1:02d}"
        las.append(LocalAuthority(code, name, i, children, factor, trust, sends_xlsx=i % 4 == 2))
    return las


def _age_sizes(las: list[LocalAuthority], seed: int) -> np.ndarray:
    rng = _rng(seed, "age sizes")
    sizes = np.empty((len(las), 25))
    for la in las:
        per_year = la.children / 18
        shape = np.r_[rng.normal(1.0, 0.03, 18), rng.uniform(0.82, 1.02, 7)]
        shape[:18] *= 18 / shape[:18].sum()
        sizes[la.index] = per_year * shape
    return sizes


def population_table(world: World) -> pd.DataFrame:
    """ONS-style mid-year estimates: ``la_code, year, age (0-24), persons``."""
    first, last = world.quarters[0], world.quarters[-1]
    years = range(first.start_date.year, max(first.start_date.year, last.fy_start_year) + 1)
    rows = []
    for la in world.las:
        rng = world.rng("population", la.code)
        for year in years:
            growth = 1 + 0.004 * (year - first.start_date.year)
            persons = np.rint(world.age_sizes[la.index] * growth * rng.normal(1, 0.01, 25)).astype(int)
            rows += [(la.code, year, age, int(p)) for age, p in enumerate(persons)]
    return pd.DataFrame(rows, columns=["la_code", "year", "age", "persons"])


def _build_people(world: World) -> None:
    """Child and adult pools for every LA (children sorted by dob within each LA)."""
    rng = world.rng("people")
    y0, y1 = world.quarters[0].start_date.year, world.quarters[-1].end_date.year
    kid_parts, adult_parts, households = [], [], 0
    for la in world.las:
        cohorts = np.arange(y0 - 25, y1 + 1)
        sizes = np.rint(world.age_sizes[la.index][np.clip(y0 - cohorts, 0, 24)]).astype(int)
        dob = np.sort(np.concatenate([_day(date(int(c), 1, 1)) + rng.integers(0, 365, s)
                                      for c, s in zip(cohorts, sizes)]))
        n = len(dob)
        # Siblings: sort by dob blurred by +-4 years, then cut into households of 1-4 children.
        order = np.argsort(dob + rng.integers(-1461, 1462, n), kind="stable")
        cuts = np.cumsum(rng.choice([1, 2, 3, 4], size=n, p=[0.35, 0.38, 0.18, 0.09]))
        cuts = cuts[cuts < n]
        house_of_sorted = np.zeros(n, dtype=np.int64)
        house_of_sorted[cuts] = 1
        house_of_sorted = np.cumsum(house_of_sorted)
        household = np.empty(n, dtype=np.int64)
        household[order] = house_of_sorted + households
        n_house = int(house_of_sorted[-1]) + 1
        z_house = rng.normal(0, 1, n_house)
        z = 0.7 * z_house[household - households] + 0.714 * rng.normal(0, 1, n)
        kid_parts.append((la.index, dob, z, household))
        # Adults: one per household (mostly mothers) plus adults without children here.
        eldest = np.full(n_house, np.iinfo(np.int64).max)
        youngest = np.full(n_house, np.iinfo(np.int64).min)
        np.minimum.at(eldest, household - households, dob)
        np.maximum.at(youngest, household - households, dob)
        n_single = n_house // 2
        adult_dob = np.r_[eldest - rng.integers(19 * 365, 37 * 365, n_house),
                          _day(date(y0, 1, 1)) - rng.integers(19 * 365, 56 * 365, n_single)]
        adult_z = np.r_[z_house, 0.8 * rng.normal(0, 1, n_single)]
        adult_house = np.r_[np.arange(households, households + n_house), np.full(n_single, -1)]
        nan = np.full(n_single, np.nan)
        adult_parts.append((la.index, adult_dob, adult_z, adult_house,
                            np.r_[youngest.astype(float), nan], np.r_[eldest.astype(float), nan]))
        households += n_house

    def pool(parts: list[tuple], female_share: np.ndarray | float) -> People:
        la = np.concatenate([np.full(len(p[1]), p[0]) for p in parts])
        n = len(la)
        bounds = np.r_[0, np.cumsum([len(p[1]) for p in parts])]
        local = np.concatenate([rng.permutation(len(p[1])) + 1000 for p in parts])
        sex = np.where(rng.random(n) < female_share, "F", "M").astype(object)
        sex[rng.random(n) < 0.004] = "U"
        return People(la, np.concatenate([p[1] for p in parts]), sex, np.zeros(n, np.int64),
                      np.concatenate([p[2] for p in parts]), local, np.zeros(n, np.int64),
                      np.concatenate([p[3] for p in parts]), bounds)

    world.kids = pool(kid_parts, 0.49)
    is_parent = np.concatenate([p[3] >= 0 for p in adult_parts])
    world.adults = pool(adult_parts, np.where(is_parent, 0.8, 0.5))
    world.adults.youngest = np.concatenate([p[4] for p in adult_parts])
    world.adults.eldest = np.concatenate([p[5] for p in adult_parts])
    n_kids, n_all = len(world.kids.la), len(world.kids.la) + len(world.adults.la)
    nhs = _nhs_numbers(rng, n_all)
    police = rng.permutation(n_all) + 10_000_000
    world.kids.nhs, world.adults.nhs = nhs[:n_kids], nhs[n_kids:]
    world.kids.police_no, world.adults.police_no = police[:n_kids], police[n_kids:]
    world.adults.local_no = rng.permutation(len(world.adults.la)) + 100_000  # client ids, all LAs


# --------------------------------------------------------------------------- simulation


def _draw(rng: np.random.Generator, dob: np.ndarray, weight: np.ndarray, n: int, lo: int, hi: int,
          ages: tuple[int, int], age_weight: Callable[[np.ndarray], np.ndarray] | None = None,
          ) -> tuple[np.ndarray, np.ndarray]:
    """n events on days lo..hi, each for a person aged ``ages`` that day, chosen by weight."""
    age_mid = (lo + (hi - lo) // 2 - dob) / 365.25
    w = weight * ((age_mid > ages[0] - 0.5) & (age_mid < ages[1] + 1.5))
    if age_weight is not None:
        w = w * age_weight(age_mid)
    if n <= 0 or w.sum() <= 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    m = int(n * 1.3) + 8
    who = rng.choice(len(w), size=m, p=w / w.sum())
    day = rng.integers(lo, hi + 1, size=m)
    age = _age(dob[who], day)
    ok = (age >= ages[0]) & (age <= ages[1]) & (dob[who] <= day)
    return who[ok][:n], day[ok][:n]


def _count(rng: np.random.Generator, rate: float, la: LocalAuthority, multiplier: float = 1.0) -> int:
    return int(rng.poisson(rate * la.per10k * multiplier * rng.lognormal(0, 0.05)))


def _person_cols(people: People, who: np.ndarray, rng: np.random.Generator, nhs_fill: float,
                 id_col: str | None, id_kind: str) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {}
    if id_col:
        cols[id_col] = (_ids("", people.local_no[who], 7) if id_kind == "la"
                        else _ids("C", people.local_no[who], 7) if id_kind == "health"
                        else _ids("CP", people.police_no[who], 8))
    cols["nhs_number"] = _blank_some(rng, people.nhs[who].astype(str), nhs_fill)
    cols["dob"] = _dates(people.dob[who])
    cols["sex"] = people.sex[who]
    cols["_nhs"] = people.nhs[who]
    cols["_who"] = who
    return cols


def _finish(cols: dict[str, np.ndarray], la_codes: np.ndarray, key: str, prefix: str,
            width: int, sort_by: str) -> pd.DataFrame:
    frame = pd.DataFrame({"la_code": la_codes, **cols})
    frame = frame.sort_values([sort_by, "_who"], kind="stable").reset_index(drop=True)
    frame.insert(0, key, _ids(prefix, np.arange(len(frame)) + 1, width))
    frame["_la"] = frame["la_code"]
    return frame


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}


Step = Callable[[LocalAuthority, int, np.random.Generator, slice], dict[str, np.ndarray]]


def _each_quarter(w: World, pool: People, name: str, first_k: int, step: Step) -> dict[str, np.ndarray]:
    """Run ``step(la, k, rng, span)`` for every LA and quarter ``first_k..`` (negative = burn-in)
    and concatenate its arrays; ``who`` (index into the LA's span) becomes a pool index."""
    parts = []
    for la in w.las:
        rng, span = w.rng(name, la.code), pool.span(la)
        for k in range(first_k, w.n_quarters):
            part = step(la, k, rng, span)
            part["who"] = part["who"] + span.start
            parts.append(part | {"la": np.full(len(part["who"]), la.code, dtype=object)})
    return _concat(parts)


def _sim_cp_plans(w: World) -> pd.DataFrame:
    """CP plans: starts by risk (4% unborn), 1-30 months long; Hartlepool's neglect starts fall."""
    kids = w.kids

    def step(la: LocalAuthority, k: int, rng: np.random.Generator, span: slice) -> dict[str, np.ndarray]:
        dob, (lo, hi) = kids.dob[span], w.days(k)
        n_neg = _count(rng, RATES["cp"] * 0.8, la, _lerp(1.0, 0.65, w.trend(k)) if la.index == 0 else 1.0)
        n = n_neg + _count(rng, RATES["cp"] * 0.2, la)
        who, day = _draw(rng, dob, np.exp(1.3 * kids.z[span]), n, lo, hi, (0, 17))
        for i in np.flatnonzero(rng.random(len(who)) < 0.04):  # unborn: born 1-250 days after the start
            a, b = np.searchsorted(dob, day[i] + 1), np.searchsorted(dob, day[i] + 250)
            who[i] = rng.integers(a, b) if b > a else who[i]
        others = _pick(rng, {"PHY": 25, "EMO": 45, "SAB": 10, "MUL": 20}, len(who))
        return {"who": who, "day": day, "initial": rng.permutation(np.where(np.arange(len(who)) < n_neg, "NEG",
                                                                             others)).astype(object)}

    p = _each_quarter(w, kids, "cp", -12, step)
    rng, n = w.rng("cp finish"), len(p["who"])
    end = p["day"] + _mixture(rng, n, [(0.15, 30, 90), (0.6, 91, 365), (0.25, 366, 900)])
    end = np.minimum(end, np.maximum(p["day"], kids.dob[p["who"]] + 6574))  # ends by the 18th birthday
    changed = rng.random(n) < 0.12
    latest = np.where(changed, _pick(rng, {"NEG": 45, "MUL": 30, "EMO": 15, "PHY": 10}, n), p["initial"])
    cols = _person_cols(kids, p["who"], rng, 0.85, "child_id", "la")
    cols |= {"plan_start_date": _dates(p["day"]), "plan_end_date": _dates(end),
             "initial_category": p["initial"], "latest_category": latest}
    return _finish(cols, p["la"], "plan_id", "CPP", 7, "plan_start_date")


def _sim_cla_episodes(w: World, cp: pd.DataFrame) -> pd.DataFrame:
    """Looked-after episodes from 10 years back (stock ~150 per 10,000), many after a neglect plan."""
    kids = w.kids
    plans = cp[(cp["initial_category"] == "NEG") | (cp["latest_category"] == "NEG")]
    plan_who = plans["_who"].to_numpy()
    plan_start, plan_end = (_day_numbers(plans[c]) for c in ("plan_start_date", "plan_end_date"))

    def step(la: LocalAuthority, k: int, rng: np.random.Generator, span: slice) -> dict[str, np.ndarray]:
        dob, (lo, hi) = kids.dob[span], w.days(k)
        who, day = _draw(rng, dob, np.exp(1.2 * kids.z[span]), _count(rng, RATES["cla"], la), lo, hi, (0, 17))
        reason = _pick(rng, {"S": 62, "P": 22, "L": 9, "T": 3, "B": 2, "U": 2}, len(who))
        need = _pick(rng, {"N1": 67, "N2": 3, "N3": 2, "N4": 12, "N5": 4, "N6": 2, "N7": 2, "N8": 8}, len(who))
        # Half of new N1 care periods follow a neglect plan of the LA open in the year before.
        recent = plan_who[(plan_start <= hi) & (plan_end >= lo - 365) & (plan_who >= span.start)
                          & (plan_who < span.stop)] - span.start
        linked = np.flatnonzero((reason == "S") & (need == "N1") & (rng.random(len(who)) < 0.5))
        if len(recent) and len(linked):
            chosen = recent[rng.integers(0, len(recent), len(linked))]
            ok = (_age(dob[chosen], day[linked]) <= 17) & (dob[chosen] <= day[linked])
            who[linked[ok]] = chosen[ok]
        return {"who": who, "day": day, "reason": reason, "need": need}

    p = _each_quarter(w, kids, "cla", -40, step)
    rng, n = w.rng("cla finish"), len(p["who"])
    end = p["day"] + _mixture(rng, n, [(0.3, 7, 180), (0.35, 181, 730), (0.35, 731, 2900)])
    end = np.minimum(end, kids.dob[p["who"]] + 6574)
    ceased = _pick(rng, {"X1": 30, "E4A": 15, "E13": 10, "E41": 5, "E45": 8, "E11": 5, "E8": 10, "E5": 7, "E3": 2,
                         "text": 3}, n)
    texts = np.array(["Returned home, to parents\nunder a supervision order", "Moved to live with aunt, see notes",
                      "Placement ended – moved to kinship carer"], dtype=object)
    ceased[ceased == "text"] = texts[rng.integers(0, len(texts), int((ceased == "text").sum()))]
    cols = _person_cols(kids, p["who"], rng, 0.85, "child_id", "la")
    cols |= {"episode_start_date": _dates(p["day"]), "reason_new_episode": p["reason"],
             "legal_status": _pick(rng, {"C2": 50, "C1": 12, "V2": 12, "E1": 6, "J2": 3, "L1": 3, "D1": 3, "V3": 3,
                                         "V4": 3, "J1": 2, "J3": 1, "L2": 1, "L3": 1}, n),
             "category_of_need": p["need"], "episode_end_date": _dates(end), "reason_episode_ceased": ceased}
    return _finish(cols, p["la"], "episode_id", "CLA", 7, "episode_start_date")


def _sim_early_help(w: World) -> pd.DataFrame:
    """Early help assessments of 10-220 days; Hartlepool identifies neglect more often over time."""
    kids = w.kids

    def step(la: LocalAuthority, k: int, rng: np.random.Generator, span: slice) -> dict[str, np.ndarray]:
        lo, hi = w.days(k)
        who, day = _draw(rng, kids.dob[span], np.exp(0.9 * kids.z[span]), _count(rng, RATES["eh"], la), lo, hi,
                         (0, 17))
        share = _lerp(0.15, 0.27, w.trend(k)) if la.index == 0 else 0.18
        return {"who": who, "day": day, "neglect": rng.random(len(who)) < share}

    p = _each_quarter(w, kids, "eh", -4, step)
    rng, n = w.rng("eh finish"), len(p["who"])
    done = p["day"] + _mixture(rng, n, [(0.7, 10, 45), (0.25, 46, 100), (0.05, 101, 220)])
    pool = np.array(["1B", "2B", "3A", "3B", "4A", "4B", "6A", "8B", "11A", "15A", "16A", "17A", "21", "22A"])
    picks = pool[rng.integers(0, len(pool), (n, 2))]
    factors = np.array([";".join(dict.fromkeys(([f"19{'ABC'[i % 3]}"] if neglect else []) + list(pk[: 1 + i % 2])))
                        for i, (neglect, pk) in enumerate(zip(p["neglect"], picks))], dtype=object)
    cols = _person_cols(kids, p["who"], rng, 0.8, "child_id", "la")
    cols |= {"assessment_start_date": _dates(p["day"]), "assessment_completed_date": _dates(done),
             "neglect_identified": np.where(p["neglect"], "Y", "N").astype(object),
             "factors": _blank_some(rng, factors, 0.85)}
    return _finish(cols, p["la"], "assessment_id", "EHA", 7, "assessment_start_date")


def _day_numbers(values: pd.Series) -> np.ndarray:
    return values.to_numpy().astype("datetime64[D]").astype(np.int64)


def _sim_missing(w: World, cla: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Police missing reports and the LA missing episodes of the same children."""
    kids = w.kids
    care_who, care_start, care_end = cla["_who"].to_numpy(), *(_day_numbers(cla[c]) for c in (
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
        who, day = _draw(rng, dob, weight, _count(rng, RATES["missing"], la), lo, hi, (0, 17))
        within = _lerp(0.55, 0.85, w.trend(k)) if la.index == 0 else 0.7
        return {"who": who, "day": day, "care": care[who], "within": np.full(len(who), within)}

    p = _each_quarter(w, kids, "missing", 0, step)
    rng, n = w.rng("missing finish"), len(p["who"])
    reported = _seconds(p["day"], _clock(rng, n))
    found = reported + (np.clip(rng.lognormal(np.log(9), 1.0, n), 1.2, 480) * 3600).astype("timedelta64[s]")
    risk = kids.z[p["who"]] + rng.normal(0, 0.8, n)
    cols = _person_cols(kids, p["who"], rng, 0.75, "person_id", "police")
    cols |= {"reported_missing_at": reported, "found_at": found,
             "risk_grading": np.select([risk > 2.2, risk > 0.6], ["HIGH", "MEDIUM"], "LOW").astype(object),
             "from_care": np.where(p["care"], "Y", "N").astype(object), "_within": p["within"]}
    police = _finish(cols, p["la"], "report_id", "MR", 8, "reported_missing_at")
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
    accepted = np.where(offered, _pick(rng, {"Y": 75, "N": 20, "": 5}, n), "")
    delay = np.where(rng.random(n) < within, rng.integers(0, 4, n), rng.integers(4, 22, n))  # days to the RHI
    rhi = np.where(accepted == "Y", end.astype("datetime64[D]") + delay.astype("timedelta64[D]"),
                   np.datetime64("NaT")).astype("datetime64[s]")
    cols = _person_cols(w.kids, np.r_[reports["_who"].to_numpy(), absent["_who"].to_numpy()], rng, 0, "child_id", "la")
    del cols["nhs_number"]
    cols |= {"missing_or_away": kind, "missing_start": start, "missing_end": end,
             "rhi_offered": np.where(offered, "Y", "N").astype(object),
             "rhi_accepted": np.where(accepted == "", None, accepted).astype(object), "rhi_date": rhi}
    la_codes = np.r_[reports["la_code"].to_numpy(), absent["la_code"].to_numpy()]
    return _finish(cols, la_codes, "episode_id", "MEP", 7, "missing_start")


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
        who, day = _draw(rng, dob, weight, _count(rng, RATES["vemt"], la), lo, hi, (10, 17))
        return {"who": who, "day": day, "recent": recent[who]}

    p = _each_quarter(w, kids, "vemt", 0, step)
    rng, n = w.rng("vemt finish"), len(p["who"])
    score = kids.z[p["who"]] + rng.normal(0, 0.7, n)
    level = np.select([score > 3.2, score > 2.25, score > 1.0], ["HIGH", "MEDIUM", "LOW"], "NONE").astype(object)
    risky, low = np.isin(level, ["MEDIUM", "HIGH"]), level == "LOW"

    def yes(p_yes: np.ndarray) -> np.ndarray:
        return np.where(rng.random(n) < p_yes, "Y", "N").astype(object)

    cols = _person_cols(kids, p["who"], rng, 0.8, "child_id", "la")
    cols |= {"screening_date": _dates(p["day"]), "risk_level": level,
             "missing_concern": yes(np.where(p["recent"], 0.9, 0.05)),
             "exploitation_concern": yes(np.where(risky, 0.75, np.where(low, 0.2, 0.05))),
             "trafficking_concern": yes(np.where(level == "HIGH", 0.12, np.where(risky, 0.04, 0.005))),
             "holistic_plan": yes(np.where(risky, 0.6, np.where(low, 0.2, 0.05)))}
    return _finish(cols, p["la"], "screening_id", "VS", 7, "screening_date")


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
        n = _count(rng, RATES["da"], la)
        n_kids = rng.binomial(n, 0.55)
        with_kids = rng.choice(len(weight), n_kids, p=weight * active / (weight * active).sum())
        without = rng.choice(len(weight), n - n_kids, p=weight * ~active / (weight * ~active).sum())
        present = _lerp(0.78, 0.62, w.trend(k)) if la.index == 0 else 0.72
        return {"who": np.r_[with_kids, without], "day": rng.integers(lo, hi + 1, n),
                "present": np.r_[rng.random(n_kids) < present, np.zeros(n - n_kids, bool)]}

    p = _each_quarter(w, adults, "da", 0, step)
    rng, n = w.rng("da finish"), len(p["who"])
    score = adults.z[p["who"]] + rng.normal(0, 0.8, n)
    dash = np.select([score > 2.8, score > 1.6], ["HIGH", "MEDIUM"], "STANDARD").astype(object)
    marac = rng.random(n) < np.select([dash == "HIGH", dash == "MEDIUM"], [0.85, 0.04], 0.005)
    crime = rng.random(n) < np.where(dash == "HIGH", 0.8, 0.64)
    incidents = _finish({"reported_at": _seconds(p["day"], _clock(rng, n)),
                         "victim_id": _ids("CP", adults.police_no[p["who"]], 8), "dash_risk": dash,
                         "marac_referral": np.where(marac, "Y", "N").astype(object),
                         "crime_recorded": np.where(crime, "Y", "N").astype(object),
                         "_who": p["who"], "_present": p["present"]}, p["la"], "incident_id", "DA", 8, "reported_at")
    # Children present: the victim's household children aged 0-18 that day (18 only rarely).
    flagged = incidents[incidents["_present"]]
    row, kid = _household_children(w.kids, adults.household[flagged["_who"].to_numpy()])
    day = flagged["reported_at"].to_numpy()[row].astype("datetime64[D]").astype(np.int64)
    age = _age(w.kids.dob[kid], day)
    keep = (w.kids.dob[kid] <= day) & (age <= 18) & (rng.random(len(kid)) < np.where(age == 18, 0.25, 0.85))
    row, kid = row[keep], kid[keep]
    children = pd.DataFrame({"incident_id": flagged["incident_id"].to_numpy()[row],
                             **_person_cols(w.kids, kid, rng, 0.65, "person_id", "police"),
                             "_event": flagged["reported_at"].to_numpy()[row]})
    incidents["_has_children"] = incidents["incident_id"].isin(children["incident_id"])
    return incidents.drop(columns=["_present"]), children


def _sim_ae(w: World) -> pd.DataFrame:
    """A&E attendances of 0-24s; self-harm, alcohol and drugs follow the latent risk (A&E by trust)."""
    kids = w.kids

    def step(la: LocalAuthority, k: int, rng: np.random.Generator, span: slice) -> dict[str, np.ndarray]:
        lo, hi = w.days(k)
        who, day = _draw(rng, kids.dob[span], np.exp(0.5 * kids.z[span]), _count(rng, RATES["ae"], la), lo, hi,
                         (0, 24), lambda a: np.interp(a, [0, 4, 5, 14, 15, 25], [1.6, 1.6, 0.8, 0.8, 1.2, 1.2]))
        return {"who": who, "day": day}

    p = _each_quarter(w, kids, "ae", 0, step)
    rng, n = w.rng("ae finish"), len(p["who"])
    age = _age(kids.dob[p["who"]], p["day"])
    reasons = np.array(["INJURY", "ILLNESS", "OTHER", "ASSAULT", "SELF_HARM", "ALCOHOL", "DRUGS"], dtype=object)
    probs = np.where((age >= 12)[:, None], [0.38, 0.42, 0.08, 0.04, 0.03, 0.03, 0.02], [0.45, 0.5, 0.05, 0, 0, 0, 0])
    probs[:, 3:] *= np.exp(0.9 * kids.z[p["who"]])[:, None]  # risky reasons follow the latent risk
    probs /= probs.sum(axis=1, keepdims=True)
    reason = reasons[(rng.random((n, 1)) > probs.cumsum(axis=1)).sum(axis=1).clip(0, 6)]
    flagged = np.isin(reason, ["SELF_HARM", "ALCOHOL", "DRUGS", "ASSAULT"]) & (age < 18)
    cols = _person_cols(kids, p["who"], rng, 1.0, None, "")
    cols |= {"arrived_at": _seconds(p["day"], _clock(rng, n)), "attendance_reason": reason,
             "safeguarding_referral": np.where(rng.random(n) < np.where(flagged, 0.3, 0.02), "Y", "N").astype(object)}
    frame = _finish(cols, p["la"], "attendance_id", "AE", 8, "arrived_at")
    trust = frame["la_code"].map({la.code: la.trust for la in w.las})
    frame["attendance_id"] = trust.str[:2] + frame["attendance_id"].str[2:]
    return frame.assign(_la=trust)


def _sim_treatment(w: World) -> pd.DataFrame:
    """Adult treatment episodes from 2 years back: referral, start (often within 28 days), discharge."""
    adults = w.adults

    def step(la: LocalAuthority, k: int, rng: np.random.Generator, span: slice) -> dict[str, np.ndarray]:
        dob, weight, (lo, hi) = adults.dob[span], np.exp(adults.z[span]), w.days(k)
        n = _count(rng, RATES["treatment"], la)
        who, day = _draw(rng, dob, weight, n, lo, hi, (18, 64))
        # Perinatal referrals: mothers who are pregnant or have a baby under 18 months.
        baby_age = ((lo + hi) // 2 - adults.youngest[span]) / 365.25
        mothers = (adults.sex[span] == "F") & (baby_age > -0.6) & (baby_age < 1.5)
        mums, mum_day = _draw(rng, dob, weight * mothers, rng.binomial(n, 0.08), lo, hi, (18, 50))
        return {"who": np.r_[who, mums], "day": np.r_[day, mum_day],
                "perinatal": np.r_[np.zeros(len(who), bool), np.ones(len(mums), bool)]}

    p = _each_quarter(w, adults, "treatment", -8, step)
    rng, n = w.rng("treatment finish"), len(p["who"])
    youngest_age = (p["day"] - np.nan_to_num(adults.youngest[p["who"]], nan=-1e9)) / 365.25
    with_kids = ((youngest_age >= 0) & (youngest_age < 18)) | p["perinatal"]
    service = _pick(rng, {"SUBSTANCE_MISUSE": 54, "ADULT_MENTAL_HEALTH": 46}, n)
    service[p["perinatal"]] = "PERINATAL_MENTAL_HEALTH"
    misuse = service == "SUBSTANCE_MISUSE"
    start = p["day"] + np.where(rng.random(n) < np.where(misuse, 0.8, 0.65), rng.integers(1, 29, n),
                                rng.integers(29, 121, n))
    end = start + np.where(misuse, rng.integers(40, 421, n), rng.integers(30, 301, n))
    reason = np.where(misuse, _pick(rng, {"COMPLETED": 45, "DROPPED_OUT": 33, "TRANSFERRED": 10, "DECLINED": 5,
                                          "OTHER": 7}, n),
                      _pick(rng, {"COMPLETED": 60, "DROPPED_OUT": 20, "TRANSFERRED": 10, "DECLINED": 4, "OTHER": 6},
                            n)).astype(object)
    cols = _person_cols(adults, p["who"], rng, 0.9, "client_id", "health")
    del cols["dob"], cols["sex"]
    cols |= {"service": service,
             "lives_with_children": np.where(rng.random(n) < np.where(with_kids, 0.9, 0.03), "Y", "N").astype(object),
             "referral_date": _dates(p["day"]), "treatment_start_date": _dates(start),
             "discharge_date": _dates(end), "discharge_reason": reason}
    return _finish(cols, p["la"], "episode_id", "TE", 8, "referral_date").assign(_la="all")


# Dates filled in only once they have happened: (column, {dependent column: value while hidden}).
REVEALS: dict[str, list[tuple[str, dict[str, object]]]] = {
    "la_early_help_assessments": [("assessment_completed_date", {})],
    "la_cp_plans": [("plan_end_date", {})],
    "la_cla_episodes": [("episode_end_date", {"reason_episode_ceased": None})],
    "la_missing_episodes": [("missing_end", {"rhi_offered": "N", "rhi_accepted": None, "rhi_date": None}),
                            ("rhi_date", {"rhi_accepted": None})],
    "police_missing_reports": [("found_at", {})],
    "health_treatment_episodes": [("treatment_start_date", {"discharge_date": None, "discharge_reason": None}),
                                  ("discharge_date", {"discharge_reason": None})],
}
_ANCHORS = {"la_early_help_assessments": "assessment_start_date"}  # sent from the start, not the event


def _schedule(w: World, name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``_first``/``_last``: the quarters whose files carry the record."""
    extract = get_extract(name)
    dated = frame[_ANCHORS.get(name, extract.event_date or "")].to_numpy()
    anchor = w.qidx(dated)
    # Late recording: events in the last three weeks of a quarter that missed its extract.
    next_start = ((dated.astype("datetime64[M]").astype(np.int64) - 3) // 3 * 3 + 6).astype("datetime64[M]")
    near_end = next_start.astype("datetime64[D]") - dated.astype("datetime64[D]") <= np.timedelta64(21, "D")
    late = w.rng("late", name).random(len(frame)) < LATE_SHARE * 91 / 21
    late &= near_end & (anchor >= 0) & (anchor < w.n_quarters - 1)
    first, last = np.maximum(anchor, 0) + late, anchor + late
    for column, _ in REVEALS.get(name, []):
        values = frame[column].to_numpy()
        last = np.maximum(last, np.where(np.isnat(values), last, np.minimum(w.qidx(values), w.n_quarters - 1)))
    frame = frame.assign(_first=first, _last=np.where(last >= 0, np.maximum(last, first), last))
    return frame[(frame["_last"] >= 0) & (frame["_first"] < w.n_quarters)].reset_index(drop=True)


def _rows_in_quarter(name: str, frame: pd.DataFrame, k: int, quarter: Quarter) -> pd.DataFrame:
    """The records quarter k sends, as known at its end (later dates blank)."""
    rows = frame[(frame["_first"] <= k) & (frame["_last"] >= k)].copy()
    cutoff = np.datetime64(quarter.end_date) + np.timedelta64(1, "D")
    for column, dependents in REVEALS.get(name, []):
        hidden = rows[column].to_numpy() >= cutoff
        rows.loc[hidden, column] = pd.NaT
        for dependent, value in dependents.items():
            rows.loc[hidden, dependent] = value
    return rows


# --------------------------------------------------------------------------- planting errors


@dataclass
class _File:
    """One file being written: typed values by column, text overrides, planted errors."""

    extract: Extract
    label: str
    cols: dict[str, np.ndarray]
    n: int
    overrides: dict[tuple[int, str], str | None] = field(default_factory=dict)
    planted: list[tuple[int, str, RowRule, str]] = field(default_factory=list)
    protected: set[int] = field(default_factory=set)  # rows another file's planted error relies on
    inserts: list[tuple[int, dict[str, object]]] = field(default_factory=list)  # (after row, copy)

    def row(self, i: int) -> dict[str, object]:
        return {column: values[i] for column, values in self.cols.items()}

    def apply_inserts(self) -> None:
        """Insert the duplicate rows; renumber planted errors and overrides to match."""
        if not self.inserts:
            return
        after = sorted(self.inserts, key=lambda item: item[0])
        order, new_index, position = [], {}, 0
        for r in range(self.n):
            new_index[r] = len(order)
            order.append(r)
            while position < len(after) and after[position][0] == r:
                self.planted.append((len(order), self.extract.key[0], RowRule.DUPLICATE_KEY, "quarantine"))
                order.append(self.n + position)
                position += 1
        planted = [(new_index[i], *rest) for i, *rest in self.planted if rest[1] is not RowRule.DUPLICATE_KEY]
        self.planted = sorted(planted + [p for p in self.planted if p[2] is RowRule.DUPLICATE_KEY])
        self.overrides = {(new_index[i], c): v for (i, c), v in self.overrides.items()}
        for column, values in self.cols.items():
            extra = np.array([copy[column] for _, copy in after], dtype=values.dtype)
            self.cols[column] = np.concatenate([values, extra])[order]
        self.n, self.inserts = len(order), []

    def present(self, i: int, column: str) -> bool:
        value = self.cols[column][i]
        return not (value is None or (isinstance(value, np.datetime64) and np.isnat(value)))


_BAD_DATES = ["31/02/{y}", "{y}-13-01", "3rd Oct", "10/31/{y}", "{y}-02-30", "31/04/{y}", "{y}/06/15"]
_BAD_TIMES = [" 14:05", " 09:30", "", " 10:61"]
_IMPOSSIBLE = ["1899-12-31", "01/01/1900", "1999-12-31", "1900-01-01"]
_BAD_CODES = ["X", "?", "9", "UNK", "Yes", "No", "Z1"]
_BAD_LA = ["Hartlepool", "E0600001", "W06000015", "E10000023", "00EB"]
_IMPOSSIBLE_DATE_COLUMNS = {"police_da_incidents": "reported_at", "health_treatment_episodes": "referral_date"}


def _dependents(extract: Extract, column: str) -> list[str]:
    out, todo = [], [column]
    while todo:
        current = todo.pop()
        for c in extract.columns:
            if c.not_before == current:
                out.append(c.name)
                todo.append(c.name)
    return out


def _choose(rng: np.random.Generator, options: list):  # noqa: ANN202 - any element type
    return options[int(rng.integers(len(options)))]


def _unparseable_date(f: _File, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    column = _choose(rng, [c for c in f.extract.columns if c.type in ("date", "datetime") and f.present(i, c.name)])
    text = _choose(rng, _BAD_DATES).format(y=q.start_date.year)
    f.overrides[i, column.name] = text + (_choose(rng, _BAD_TIMES) if column.type == "datetime" else "")
    return column.name, "quarantine"


def _impossible_date(f: _File, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    column = f.extract.column(_IMPOSSIBLE_DATE_COLUMNS[f.extract.name])
    f.overrides[i, column.name] = _choose(rng, _IMPOSSIBLE) + (" 00:00" if column.type == "datetime" else "")
    return column.name, "quarantine"


def _unknown_code(f: _File, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    column = _choose(rng, [c for c in f.extract.columns if c.type in ("code", "la_code") and f.present(i, c.name)])
    bad = [b for b in (_BAD_LA if column.type == "la_code" else _BAD_CODES) if b.upper() not in column.codes]
    f.overrides[i, column.name] = _choose(rng, bad)
    return column.name, "quarantine"


def _required_missing(f: _File, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    ext = f.extract
    options = [c.name for c in ext.columns if c.required and c.name not in ext.key]
    options += [c.name for c in ext.columns if c.required_when and f.present(i, c.required_when)]
    column = _choose(rng, options)
    f.overrides[i, column] = _choose(rng, list(MISSING_TOKENS))
    return column, "quarantine"


def _dob_after_event(f: _File, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    ext = f.extract
    compared = f.cols["_event" if ext.parent else ext.date_compared_with_dob][i].astype("datetime64[D]")
    after = int(rng.integers(ext.unborn_days + 1, ext.unborn_days + 120))
    f.cols["dob"][i] = (compared + np.timedelta64(after, "D")).astype("datetime64[s]")
    return "dob", "quarantine"


def _event_after_period(f: _File, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    """Move the event (and the dates that must follow it) to 1-45 days after the period."""
    event = f.extract.event_date or ""
    target = (np.datetime64(q.end_date) + np.timedelta64(int(rng.integers(1, 46)), "D")).astype("datetime64[s]")
    if not f.present(i, event):  # an in-progress assessment "completed" in the future
        f.cols[event][i] = target
        return event, "quarantine"
    shift = target - f.cols[event][i].astype("datetime64[D]")
    for column in [event, *_dependents(f.extract, event)]:
        if f.present(i, column):
            f.cols[column][i] = f.cols[column][i] + shift
    return event, "quarantine"


def _end_before_start(f: _File, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    pairs = [c for c in f.extract.columns if c.not_before and f.present(i, c.not_before)]
    if not pairs:
        return None
    column = _choose(rng, pairs)
    start = f.cols[column.not_before][i]
    time_of_day = start - start.astype("datetime64[D]") if column.type == "datetime" else np.timedelta64(0, "s")
    f.cols[column.name][i] = start.astype("datetime64[D]") - np.timedelta64(int(rng.integers(1, 31)), "D") + time_of_day
    for c in f.extract.columns:  # a discharge needs its reason, or the row would have two defects
        if c.required_when == column.name and not f.present(i, c.name):
            f.cols[c.name][i] = "COMPLETED"
    return column.name, "quarantine"


def _orphan(f: _File, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    column = f.extract.parent.on if f.extract.parent else ""
    f.cols[column][i] = f"DA9{int(rng.integers(10**6, 10**7)):07d}"  # real ids never reach DA9...
    return column, "quarantine"


def _invalid_nhs_number(f: _File, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    good = str(f.cols["_nhs"][i])
    f.cols["nhs_number"][i] = good[:9] + str((int(good[9]) + int(rng.integers(1, 10))) % 10)
    return "nhs_number", "quarantine" if f.extract.column("nhs_number").required else "warning"


# How to give a row exactly one defect of each kind (duplicate keys are inserted copies instead).
_PLANTERS = {RowRule.UNPARSEABLE_DATE: _unparseable_date, RowRule.IMPOSSIBLE_DATE: _impossible_date,
             RowRule.UNKNOWN_CODE: _unknown_code, RowRule.REQUIRED_MISSING: _required_missing,
             RowRule.DOB_AFTER_EVENT: _dob_after_event, RowRule.EVENT_AFTER_PERIOD: _event_after_period,
             RowRule.END_BEFORE_START: _end_before_start, RowRule.ORPHAN: _orphan,
             RowRule.INVALID_NHS_NUMBER: _invalid_nhs_number}


def _rules_for(extract: Extract) -> list[RowRule]:
    """The row rules a planted error can break in this extract, in the contract's order."""
    applies = {RowRule.IMPOSSIBLE_DATE: extract.name in _IMPOSSIBLE_DATE_COLUMNS,
               RowRule.INVALID_NHS_NUMBER: "nhs_number" in extract.column_names,
               RowRule.END_BEFORE_START: any(c.not_before for c in extract.columns),
               RowRule.DOB_AFTER_EVENT: extract.dob_column is not None,
               RowRule.EVENT_AFTER_PERIOD: extract.event_date is not None,
               RowRule.ORPHAN: extract.parent is not None}
    return [rule for rule in RowRule if applies.get(rule, True)]


def _plantable_rows(f: _File) -> np.ndarray:
    """Rows that may carry (or be the source of) a planted error."""
    ok = np.ones(f.n, dtype=bool)
    if "_has_children" in f.cols:  # keep child rows linked to clean incidents
        ok &= ~f.cols["_has_children"].astype(bool)
    ok[sorted(f.protected | {p[0] for p in f.planted})] = False
    return np.flatnonzero(ok)


class _Planter:
    """Plants errors in each file, cycling through the rules that apply to each extract."""

    def __init__(self, seed: int) -> None:
        self.seed, self.position = seed, {name: 0 for name in load_contract()}

    def plant_file(self, f: _File, q: Quarter) -> None:
        rng = _rng(self.seed, "plant", q.folder_id, f.extract.name, f.label)
        target = min(int(f.n * MAX_PLANT_SHARE), int(rng.binomial(f.n, PLANT_SHARE))) - len(f.inserts)
        rows = _plantable_rows(f)
        if target <= 0 or len(rows) < 2 * target:
            f.apply_inserts()
            return
        chosen = np.sort(rng.choice(rows, size=target, replace=False))
        clean = np.setdiff1d(rows, chosen)
        rules = _rules_for(f.extract)
        for i in chosen.tolist():
            for attempt in range(len(rules)):
                rule = rules[(self.position[f.extract.name] + attempt) % len(rules)]
                if rule is RowRule.DUPLICATE_KEY:  # row i stays as it is; a copy follows it
                    f.inserts.append((i, self._copy(f, i, clean, rng)))
                    break
                planted = _PLANTERS[rule](f, i, q, rng)
                if planted:
                    f.planted.append((i, planted[0], rule, planted[1]))
                    break
            self.position[f.extract.name] += 1
        f.apply_inserts()

    @staticmethod
    def _copy(f: _File, i: int, clean: np.ndarray, rng: np.random.Generator) -> dict[str, object]:
        """Row i sent twice, or (half the time) another record given row i's key by mistake."""
        copy = f.row(i)
        if not f.extract.parent and len(clean) and rng.random() < 0.5:
            copy = f.row(int(clean[int(rng.integers(len(clean)))])) | {k: copy[k] for k in f.extract.key}
        return copy

    def cross_file_duplicate(self, earlier: _File, later: _File, q: Quarter) -> bool:
        """Send a clean record of the earlier file again in the later one (e.g. by both LAs)."""
        if int(later.n * MAX_PLANT_SHARE) < 1:
            return False
        rng = _rng(self.seed, "cross", q.folder_id, later.extract.name)
        src, dst = _plantable_rows(earlier), _plantable_rows(later)
        if not len(src) or not len(dst):
            return False
        i, j = int(src[int(rng.integers(len(src)))]), int(dst[int(rng.integers(len(dst)))])
        copy = earlier.row(i)
        if later.extract.source == "la":
            copy["la_code"] = later.cols["la_code"][j]
        later.inserts.append((j, copy))
        later.protected.add(j)
        earlier.protected.add(i)
        return True


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class _Style:
    is_xlsx: bool
    encoding: str = "utf-8"
    newline: str = "\n"
    header: str = "snake"  # snake | title | upper | padded
    shuffle: bool = False
    extras: tuple[str, ...] = ()
    dates: str = "iso"  # iso | uk | mixed
    seconds_share: float = 0.0
    excel_dates: float = 0.0  # share of date cells written as real Excel dates (XLSX)
    layout: str = "plain"  # plain | titled | blank_rows (XLSX)
    mess: float = 0.0  # share of code / id cells in lower case or padded
    tokens: tuple[str, ...] = ("",)
    nhs_spaced: float = 0.0


_ACRONYMS = {"id", "nhs", "dob", "la", "rhi", "dash", "marac", "vemt"}
_NOTES = ["Seen by duty team", "Referred to MASH, strategy discussion held", "Mum says \"fine\", no concerns",
          "Call from school,\nfollow-up booked", "Damage to property – approx £200", "Café staff raised concern",
          "Father’s address not known", "Joint visit with police, 2 officers", "Carer notified"]
_TEAMS = ["North", "South", "Central", "Locality 2", "Out of hours"]


def _header_name(name: str, kind: str) -> str:
    words = name.split("_")
    if kind == "title":
        return " ".join(w.upper() if w in _ACRONYMS else w.capitalize() for w in words)
    if kind == "upper":
        return name.upper()
    if kind == "padded":
        return " " + " ".join(w.capitalize() for w in words) + " "
    return name


def _style_for(w: World, extract: Extract, label: str, k: int) -> _Style:
    rng = w.rng("style", k, extract.name, label)
    common = dict(header=str(rng.choice(["snake", "title", "upper", "padded"])), shuffle=bool(rng.random() < 0.3),
                  dates=str(rng.choice(["iso", "uk", "mixed"])), seconds_share=float(rng.choice([0, 0, 0.5, 1])),
                  mess=float(rng.choice([0, 0.02, 0.06])), nhs_spaced=float(rng.choice([0, 0.1, 0.5])),
                  tokens=tuple(rng.choice(MISSING_TOKENS, size=int(rng.integers(1, 4)), replace=False)))
    extras = [(), (), ("Notes",), ("Team",), ("Notes", "Team"), ("Worker",)][int(rng.integers(6))]
    la = next((x for x in w.las if x.code == label), None)
    if extract.source == "health" or (la is not None and la.sends_xlsx):
        layout = str(rng.choice(["plain", "titled", "blank_rows"]))
        if extract.name == "health_treatment_episodes":
            layout = "blank_rows"
        elif label == "NTHFT":
            layout = "titled"
        excel = 1.0 if label == "NTHFT" else float(rng.choice([0, 1, 1, 0.6]))
        return _Style(True, layout=layout, excel_dates=excel, extras=extras, **common)
    if extract.name == "police_da_incidents" or (la is not None and la.index % 4 == 3):
        return _Style(False, "cp1252", "\r\n", extras=("Notes", "Team")[: 1 + int(rng.random() < 0.5)], **common)
    encoding = "utf-8-sig" if (la.index % 4 == 0 if la else extract.name == "police_missing_reports") else "utf-8"
    return _Style(False, encoding, str(rng.choice(["\n", "\r\n"])), extras=extras, **common)


def _format_dates(values: np.ndarray, column: Column, style: _Style, rng: np.random.Generator) -> np.ndarray:
    index = pd.DatetimeIndex(values)
    iso, uk = "%Y-%m-%d", "%d/%m/%Y"
    if column.type == "datetime":
        with_seconds = rng.random(len(values)) < style.seconds_share
        iso_t = np.where(with_seconds, index.strftime(iso + " %H:%M:%S"), index.strftime(iso + " %H:%M"))
        uk_t = np.where(with_seconds, index.strftime(uk + " %H:%M:%S"), index.strftime(uk + " %H:%M"))
    else:
        iso_t, uk_t = np.asarray(index.strftime(iso)), np.asarray(index.strftime(uk))
    use_uk = {"iso": 0.0, "uk": 1.0, "mixed": 0.5}[style.dates]
    text = np.where(rng.random(len(values)) < use_uk, uk_t, iso_t).astype(object)
    if style.excel_dates:
        excel = rng.random(len(values)) < style.excel_dates
        as_python = np.array([None if pd.isna(d) else d.date() if column.type == "date" else d
                              for d in index.to_pydatetime()], dtype=object)
        text[excel] = as_python[excel]
    return text


def _mess(values: np.ndarray, share: float, rng: np.random.Generator, lower: bool) -> np.ndarray:
    out = values.copy()
    hit = np.flatnonzero((rng.random(len(out)) < share) & np.array([v is not None for v in out]))
    for i in hit.tolist():
        text = str(out[i])
        out[i] = (text.lower() if lower and rng.random() < 0.6 else text) + (" " if rng.random() < 0.5 else "")
        out[i] = (" " if rng.random() < 0.4 else "") + out[i]
    return out


def _render(f: _File, style: _Style, rng: np.random.Generator) -> tuple[list[str], list[np.ndarray]]:
    """Contract columns (plus extras) as cell values, in the file's column order."""
    out: dict[str, np.ndarray] = {}
    for column in f.extract.columns:
        values = f.cols[column.name]
        if column.type in ("date", "datetime"):
            cells = _format_dates(values, column, style, rng)
            missing = np.isnat(values)
        else:
            cells = values.astype(object).copy()
            missing = np.array([v is None for v in cells], dtype=bool)
            if column.name == "nhs_number":
                spaced = (rng.random(f.n) < style.nhs_spaced) & ~missing
                cells[spaced] = [f"{v[:3]} {v[3:6]} {v[6:]}" for v in cells[spaced]]
            elif column.type == "code" or column.identifier == "person_id":
                cells = _mess(cells, style.mess, rng, lower=True)
            elif column.type == "la_code" or column.name in f.extract.key:
                cells = _mess(cells, style.mess / 2, rng, lower=False)
        token = np.array(style.tokens, dtype=object)[rng.integers(0, len(style.tokens), f.n)]
        if style.is_xlsx:
            token[token == ""] = None
        cells[missing] = token[missing]
        out[column.name] = cells
    for (i, name), text in f.overrides.items():
        out[name][i] = None if (style.is_xlsx and text == "") else text
    for extra in style.extras:
        choices = np.array(_NOTES if extra == "Notes" else _TEAMS, dtype=object)
        out[extra] = choices[rng.integers(0, len(choices), f.n)]
        if extra == "Notes":
            out[extra][rng.random(f.n) < 0.6] = ""
            out[extra][:1] = _NOTES[4]  # one non-ASCII value in every file with notes
    names = list(out)
    if style.shuffle:
        names = [names[i] for i in rng.permutation(len(names))]
    header = [_header_name(n, style.header) if n in f.cols else n for n in names]
    return header, [out[n] for n in names]


def _write_csv(path: Path, header: list[str], cells: list[np.ndarray], style: _Style) -> None:
    frame = pd.DataFrame(dict(enumerate(cells)))
    frame.columns = header
    frame.to_csv(path, index=False, encoding=style.encoding, lineterminator=style.newline)


_MAIN = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_PKG, _REL = "http://schemas.openxmlformats.org/package/2006", "http://schemas.openxmlformats.org/officeDocument/2006"
_XLSX_PARTS = {  # the smallest package Excel, LibreOffice, openpyxl and calamine all open
    "[Content_Types].xml": f'<Types xmlns="{_PKG}/content-types"><Default Extension="rels" ContentType="'
    'application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"'
    '/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
    'sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>',
    "_rels/.rels": f'<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" '
    f'Type="{_REL}/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'<workbook {_MAIN} xmlns:r="{_REL}/relationships"><sheets><sheet name="Extract" sheetId="1" '
    'r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" Type="'
    f'{_REL}/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{_REL}/'
    'relationships/styles" Target="styles.xml"/></Relationships>',
    "xl/styles.xml": f'<styleSheet {_MAIN}><numFmts count="2"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/>'
    '<numFmt numFmtId="165" formatCode="dd/mm/yyyy hh:mm"/></numFmts><fonts count="1"><font><sz val="11"/><name '
    'val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill '
    'patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/>'
    '</border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="164" fontId="0"'
    ' fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" fontId="0" fillId="0" borderId="0"'
    ' xfId="0" applyNumberFormat="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" '
    'builtinId="0"/></cellStyles></styleSheet>',
}
_EXCEL_EPOCH = datetime(1899, 12, 30)


def _xlsx_cell(ref: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):  # a real Excel date-time: serial days, style 2
        delta = value - _EXCEL_EPOCH
        return f'<c r="{ref}" s="2"><v>{delta.days + delta.seconds / 86400!r}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}" s="1"><v>{(value - _EXCEL_EPOCH.date()).days}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'


def _write_xlsx(path: Path, rows: list[tuple[int, list[object]]]) -> None:
    """A one-sheet workbook from (sheet row number, cells); written directly, so it is fast and
    byte-for-byte reproducible (fixed zip timestamps, no document properties)."""
    letters = [chr(65 + i) if i < 26 else "A" + chr(65 + i - 26) for i in range(52)]
    body = "".join(f'<row r="{r}">' + "".join(_xlsx_cell(f"{letters[j]}{r}", v) for j, v in enumerate(cells))
                   + "</row>" for r, cells in rows)
    sheet = f"<worksheet {_MAIN}><sheetData>{body}</sheetData></worksheet>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, xml in [*_XLSX_PARTS.items(), ("xl/worksheets/sheet1.xml", sheet)]:
            data = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + xml).encode()
            archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_TIME), data, compress_type=zipfile.ZIP_DEFLATED)


def _header_row(style: _Style) -> int:
    return {"plain": 1, "titled": 4, "blank_rows": 3}[style.layout] if style.is_xlsx else 1


# --------------------------------------------------------------------------- public API


def _file_label(name: str, label: str) -> str:
    return name if label in ("", "all", "force") else f"{name}--{label}"


def _simulate(w: World) -> dict[str, pd.DataFrame]:
    """Every extract's records, with the quarters whose files send them (``_first``..``_last``)
    and the file they go in (``_la``: LA code, trust, or one file for the force / the service)."""
    cp = _sim_cp_plans(w)
    cla = _sim_cla_episodes(w, cp)
    police_missing, la_missing = _sim_missing(w, cla)
    incidents, children = _sim_domestic_abuse(w)
    incidents["_la"], children["_la"] = "force", "force"
    police_missing["_la"] = "force"
    records = {"la_early_help_assessments": _sim_early_help(w), "la_cp_plans": cp, "la_cla_episodes": cla,
               "la_missing_episodes": la_missing, "la_vemt_screenings": _sim_vemt(w, police_missing),
               "police_da_incidents": incidents, "police_da_children": children,
               "police_missing_reports": police_missing, "health_ae_attendances": _sim_ae(w),
               "health_treatment_episodes": _sim_treatment(w)}
    scheduled = {name: _schedule(w, name, frame) for name, frame in records.items() if name != "police_da_children"}
    sent = scheduled["police_da_incidents"].set_index("incident_id")
    children = children[children["incident_id"].isin(sent.index)]
    scheduled["police_da_children"] = children.assign(
        _first=sent.loc[children["incident_id"], "_first"].to_numpy(),
        _last=sent.loc[children["incident_id"], "_first"].to_numpy()).reset_index(drop=True)
    return {name: scheduled[name] for name in load_contract()}


def _world(n_las: int, seed: int, first: Quarter, last: Quarter) -> World:
    las = _local_authorities(n_las, seed)
    w = World(seed, quarter_range(first, last), las, _age_sizes(las, seed))
    _build_people(w)
    return w


def generate_demo(raw_dir: Path, reference_dir: Path, *, n_las: int = 4, seed: int = DEFAULT_SEED,
                  first: Quarter = Quarter.parse("2017-18 Q1"), last: Quarter = Quarter.parse("2019-20 Q4"),
                  ) -> DemoSummary:
    """Write a demo dataset and return what was written.

    - ``raw_dir/<period id>/<extract>[--<LA or trust>].csv|xlsx``: all ten extracts for every
      quarter ``first..last`` (extract files already in those folders are replaced, other files
      and folders are left alone, so point it at an empty folder or an earlier demo);
    - ``raw_dir/_demo/planted_errors.csv``: one row per planted error (``MANIFEST_COLUMNS``);
    - ``reference_dir/population.csv``: ``la_code, year, age, persons`` for ages 0-24 and the
      calendar years from ``first``'s start to ``last``'s financial year.

    ``n_las`` 1-4 takes the first Tees LAs; more adds synthetic LAs ``E06000005``... (40 gives a
    pan-regional set about 12 times the volume). Same arguments, same bytes.
    """
    raw_dir, reference_dir = Path(raw_dir), Path(reference_dir)
    w = _world(n_las, seed, first, last)
    records = _simulate(w)
    reference_dir.mkdir(parents=True, exist_ok=True)
    population_table(w).to_csv(reference_dir / "population.csv", index=False, lineterminator="\n")
    planter, manifest = _Planter(seed), []
    rows_per_extract = {name: 0 for name in records}
    files_written = 1
    for k, quarter in enumerate(w.quarters):
        folder = raw_dir / quarter.folder_id
        folder.mkdir(parents=True, exist_ok=True)
        for old in sorted(folder.iterdir()):
            if old.suffix in (".csv", ".xlsx") and re.split(r"--|\.", old.name)[0] in records:
                old.unlink()
        submissions = [_files_for(w, name, _rows_in_quarter(name, frame, k, quarter), k)
                       for name, frame in records.items()]
        split = [files for files in submissions if len(files) > 1]
        for offset in range(len(split)):  # one duplicate key across two files of a submission
            files = split[(k + offset) % len(split)]
            if planter.cross_file_duplicate(files[0][1], files[-1][1], quarter):
                break
        for files in submissions:
            for file_name, f, style in files:
                planter.plant_file(f, quarter)
                header_row = _write_file(w, folder / file_name, f, style, k)
                manifest += [(quarter.folder_id, f.extract.name, file_name, header_row + 1 + i, column,
                              str(rule), outcome) for i, column, rule, outcome in f.planted]
                rows_per_extract[f.extract.name] += f.n
                files_written += 1
    manifest_dir = raw_dir / "_demo"
    manifest_dir.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(manifest, columns=MANIFEST_COLUMNS).sort_values(
        ["period", "extract", "file_name", "row_number"], kind="stable")
    table.to_csv(manifest_dir / "planted_errors.csv", index=False, lineterminator="\n")
    by_rule = {str(rule): int((table["rule"] == str(rule)).sum()) for rule in RowRule}
    return DemoSummary(files_written + 1, rows_per_extract, len(table), by_rule)


def _files_for(w: World, name: str, rows: pd.DataFrame, k: int) -> list[tuple[str, _File, _Style]]:
    """The period's files of one extract, in name order: (file name, content, style)."""
    extract, files = get_extract(name), []
    for label, part in rows.groupby("_la", sort=True):
        f = _File(extract, str(label), {c: _as_array(part[c]) for c in part.columns}, len(part))
        style = _style_for(w, extract, str(label), k)
        files.append((f"{_file_label(name, str(label))}.{'xlsx' if style.is_xlsx else 'csv'}", f, style))
    return sorted(files, key=lambda item: item[0])


def _as_array(series: pd.Series) -> np.ndarray:
    """A writable numpy copy: datetimes as datetime64[s], text with None for missing."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.to_numpy().astype("datetime64[s]")
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.to_numpy().copy()
    values = series.to_numpy(dtype=object).copy()
    values[pd.isna(values)] = None
    return values


def _write_file(w: World, path: Path, f: _File, style: _Style, k: int) -> int:
    """Write one file; return its header's row number."""
    header, cells = _render(f, style, w.rng("render", k, f.extract.name, f.label))
    if style.is_xlsx:
        sender = {la.code: la.name for la in w.las}.get(f.label) or SENDERS.get(f.label, f"Trust {f.label}")
        at = _header_row(style)
        titles = [(1, [f"{sender} – {f.extract.title}"]), (2, [f"Period: {w.quarter(k).label}"])]
        rows = (titles if style.layout == "titled" else []) + [(at, header)]
        _write_xlsx(path, rows + [(at + 1 + i, list(r)) for i, r in enumerate(zip(*[c.tolist() for c in cells]))])
    else:
        _write_csv(path, header, cells, style)
    return _header_row(style)


# --------------------------------------------------------------------------- benchmark files

_BENCH_PREFIX = {"la_early_help_assessments": "EHA", "la_cp_plans": "CPP", "la_cla_episodes": "CLA",
                 "la_missing_episodes": "MEP", "la_vemt_screenings": "VS", "police_da_incidents": "DA",
                 "police_missing_reports": "MR", "health_ae_attendances": "AE", "health_treatment_episodes": "TE"}
_BENCH_TEXT = {"factors": ["3A;16A", "19B", "1B;2B", "21"], "reason_episode_ceased": ["E13", "E4A", "X1", "E8"]}


def write_extract_rows(extract_name: str, n_rows: int, path: Path, *, quarter: Quarter, seed: int = 0,
                       chunk_rows: int = 200_000) -> None:
    """Write one large valid CSV of ``n_rows`` rows of an extract for ``quarter`` (benchmarks).

    Rows are independent synthetic records (no people pool, no messiness): UTF-8, contract
    header, ISO dates, every row valid. Memory is bounded by ``chunk_rows``. Keys depend only on
    the row number, so files stay consistent: ``police_da_children`` row i belongs to incident
    i // 2 of a ``police_da_incidents`` file written for the same quarter with at least
    ceil(n_rows / 2) rows.
    """
    extract, path = get_extract(extract_name), Path(path)
    if path.suffix.lower() != ".csv":
        raise ValueError(f"write_extract_rows writes CSV only; got {path.name!r}")
    if n_rows < 0 or chunk_rows < 1:
        raise ValueError("n_rows must be >= 0 and chunk_rows >= 1")
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for number, start in enumerate(range(0, max(n_rows, 1), chunk_rows)):
            index = np.arange(start, min(start + chunk_rows, n_rows))
            chunk = _bench_chunk(extract, index, quarter, _rng(seed, "bench", extract_name, number))
            chunk.to_csv(handle, index=False, header=start == 0, lineterminator="\n")


def _bench_chunk(extract: Extract, index: np.ndarray, q: Quarter, rng: np.random.Generator) -> pd.DataFrame:
    n, lo, hi = len(index), _day(q.start_date) * _DAY, (_day(q.end_date) + 1) * _DAY - 1
    parent = index // 2 if extract.parent else index
    # An incident's time depends only on its number, so its child rows can be dated without it.
    golden = (parent * 0.6180339887498949) % 1.0
    root = lo + (golden * (hi - lo - _DAY)).astype(np.int64)
    if extract.name != "police_da_incidents" and not extract.parent:
        root = rng.integers(lo, hi - _DAY, n)
    times: dict[str, np.ndarray] = {}  # seconds; -1 = blank
    for c in extract.columns:
        if c.type in ("date", "datetime") and c.identifier != "dob":
            value = root if c.not_before is None else np.where(
                times[c.not_before] < 0, -1, times[c.not_before] + (rng.random(n) * (hi - times[c.not_before])))
            value = np.asarray(value, dtype=np.int64)
            if not c.required:
                value = np.where(rng.random(n) < 0.3, -1, value)
            times[c.name] = value // _DAY * _DAY if c.type == "date" else value
    out: dict[str, np.ndarray] = {}
    for c in extract.columns:
        if c.name in times or c.identifier == "dob":
            if c.identifier == "dob":
                compared = times.get(extract.date_compared_with_dob or "", root) // _DAY
                oldest = 25 if extract.name == "health_ae_attendances" else 18
                value = (compared - rng.integers(0, oldest * 365 - 1, n)) * _DAY
            else:
                value = times[c.name]
            text = np.datetime_as_string(value.astype("datetime64[s]"), unit="D" if c.type == "date" else "m")
            out[c.name] = np.where(value < 0, "", np.strings.replace(text, "T", " "))
        elif c.type == "code":
            out[c.name] = np.array(c.codes)[rng.integers(0, len(c.codes), n)]
            if c.required_when:
                out[c.name] = np.where(times[c.required_when] < 0, "", out[c.name])
            elif not c.required:
                out[c.name] = np.where(rng.random(n) < 0.2, "", out[c.name])
        elif c.type == "la_code":
            out[c.name] = np.array([code for code, _, _ in TEES_LAS])[rng.integers(0, 4, n)]
        elif c.identifier == "nhs_number":
            prefix = rng.integers(900_000_000, 999_999_990, n)
            check = nhs_check_digit(prefix)
            while (check == 10).any():
                prefix = np.where(check == 10, prefix + 1, prefix)
                check = nhs_check_digit(prefix)
            value = (prefix * 10 + check).astype(str)
            out[c.name] = value if c.required else np.where(rng.random(n) < 0.2, "", value)
        elif c.name == extract.key[0] and not extract.parent:
            out[c.name] = np.strings.add(_BENCH_PREFIX[extract.name], np.char.zfill(index.astype(str), 10))
        elif extract.parent and c.name == extract.parent.on:
            out[c.name] = np.strings.add("DA", np.char.zfill(parent.astype(str), 10))
        elif c.identifier == "person_id":
            prefix = {"child_id": "", "client_id": "C"}.get(c.name, "CP")
            number = index if c.name in extract.key else rng.integers(0, 10**7, n)
            out[c.name] = np.strings.add(prefix, np.char.zfill(number.astype(str), 10 if prefix == "CP" else 7))
        else:
            out[c.name] = np.array(_BENCH_TEXT[c.name])[rng.integers(0, 4, n)]
            out[c.name] = np.where(rng.random(n) < 0.3, "", out[c.name])
    return pd.DataFrame(out)
