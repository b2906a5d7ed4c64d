"""The demo's world: its local authorities, their people, and the seeded random draws.

**People.** Each LA has a pool of children (a birth cohort per year: everyone aged 0-24 at some
time in the window, sized like the population file) living in households of 1-4 siblings with
an adult; adults without children here are added. A person keeps their dob, sex, a unique valid
NHS number (synthetic, 9xx range), an LA ``child_id`` (``0004512``), a force-wide police
``person_id`` (``CP10004512``) and, for adults, a health ``client_id`` (``C0104512``). A latent
risk score (household + own) makes the same children go missing again and again, witness
domestic abuse repeatedly, get screened for exploitation at higher risk and attend A&E for
self-harm, alcohol or drugs, so people recur within and across sources (NHS number filled on
65-90% of rows where optional).

**LAs.** The first four are the Tees LAs of ``pipelines.config.TEES_LAS`` (codes and names), at
their real child populations; more are synthetic (``E06000005``..., 18,000-70,000 children).
Every random draw comes from :func:`seeded_rng`: a numpy ``default_rng`` keyed by the seed and
stable labels (``zlib.crc32``, never ``hash()``), so the same seed gives the same world.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from pipelines.config import TEES_LAS
from pipelines.periods import Quarter, quarter_range

# Per Tees LA, in TEES_LAS's order: children aged 0-17 (public mid-year estimates, rounded) and
# the NHS trust whose A&E department they attend.
TEES_CHILDREN = (20_500, 33_000, 27_000, 44_000)
TEES_TRUSTS = ("NTHFT", "STHFT", "STHFT", "NTHFT")
SECONDS_PER_DAY = 86_400
_EPOCH = date(1970, 1, 1)


def seeded_rng(seed: int, *labels: object) -> np.random.Generator:
    """The random generator for one job of the demo: the same seed and labels, the same draws."""
    words = [seed & 0xFFFFFFFF] + [zlib.crc32(str(label).encode()) for label in labels]
    return np.random.default_rng(np.random.SeedSequence(words))


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
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
        return seeded_rng(self.seed, *labels)

    @property
    def n_quarters(self) -> int:
        return len(self.quarters)

    def quarter(self, k: int) -> Quarter:
        return self.quarters[0].shift(k)

    def days(self, k: int) -> tuple[int, int]:
        q = self.quarter(k)
        return day_number(q.start_date), day_number(q.end_date)

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
    rng = seeded_rng(seed, "las")
    tees = list(zip(TEES_LAS.items(), TEES_CHILDREN, TEES_TRUSTS, strict=True))
    las = []
    for i in range(n_las):
        if i < len(tees):
            (code, name), children, trust = tees[i]
            factor = 1.0 if i == 0 else float(rng.uniform(0.85, 1.15))
        else:
            code, name = f"E06{i + 1:06d}", f"Synthetic LA {i + 1}"
            children, factor = int(rng.integers(18_000, 70_001)), float(rng.uniform(0.85, 1.15))
            trust = f"TR{(i - len(tees)) // 2 + 1:02d}"  # synthetic trusts: pairs of synthetic LAs
        las.append(LocalAuthority(code, name, i, children, factor, trust, sends_xlsx=i % 4 == 2))
    return las


def _age_sizes(las: list[LocalAuthority], seed: int) -> np.ndarray:
    rng = seeded_rng(seed, "age sizes")
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
        dob = np.sort(np.concatenate([day_number(date(int(c), 1, 1)) + rng.integers(0, 365, s)
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
                          day_number(date(y0, 1, 1)) - rng.integers(19 * 365, 56 * 365, n_single)]
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


def build_world(n_las: int, seed: int, first: Quarter, last: Quarter) -> World:
    """The LAs (the Tees LAs first), their population by age and their people, for first..last."""
    las = _local_authorities(n_las, seed)
    w = World(seed, quarter_range(first, last), las, _age_sizes(las, seed))
    _build_people(w)
    return w
