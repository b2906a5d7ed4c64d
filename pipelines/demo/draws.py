"""Random draws shared by the simulations, and the shape every simulated extract takes.

A simulation runs a ``step`` for every LA and quarter (:func:`each_quarter`), drawing events for
people of the LA's pool (:func:`draw`, :func:`count`), then gives them their person columns
(:func:`person_cols`) and keys (:func:`finish`). Days are integer day numbers (1970-01-01 = 0).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from pipelines.demo.world import SECONDS_PER_DAY, LocalAuthority, People, World


def years_between(dob: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Whole years between integer day numbers."""
    d1, d2 = dob.astype("datetime64[D]"), on.astype("datetime64[D]")
    y1, y2 = (d.astype("datetime64[Y]").astype(np.int64) for d in (d1, d2))
    key1, key2 = ((d.astype("datetime64[M]").astype(np.int64) % 12) * 32
                  + (d - d.astype("datetime64[M]")).astype(np.int64) for d in (d1, d2))
    return y2 - y1 - (key2 < key1)


def pick(rng: np.random.Generator, weights: Mapping[str, float], n: int) -> np.ndarray:
    codes, p = list(weights), np.array(list(weights.values()), dtype=float)
    return np.array(codes, dtype=object)[rng.choice(len(codes), size=n, p=p / p.sum())]


def mixture(rng: np.random.Generator, n: int, parts: list[tuple[float, int, int]]) -> np.ndarray:
    """Day counts from a mixture of uniform ranges [(weight, low, high), ...]."""
    which = rng.choice(len(parts), size=n, p=np.array([p[0] for p in parts]) / sum(p[0] for p in parts))
    low, high = np.array([p[1] for p in parts])[which], np.array([p[2] for p in parts])[which]
    return low + (rng.random(n) * (high - low + 1)).astype(np.int64)


def clock(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds into the day, busier in the afternoon and evening."""
    weights = np.r_[[1.0] * 7, [2.0] * 8, [3.5] * 6, [2.0] * 3]
    hours = rng.choice(24, size=n, p=weights / weights.sum())
    return hours * 3600 + rng.integers(0, 3600, size=n)


def datetimes(days: np.ndarray, secs: np.ndarray | int = 0) -> np.ndarray:
    return (days.astype(np.int64) * SECONDS_PER_DAY + secs).astype("datetime64[s]")


def dates(days: np.ndarray) -> np.ndarray:
    return datetimes(days)


def ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    return np.array([f"{prefix}{n:0{width}d}" for n in numbers.tolist()], dtype=object)


def blank_some(rng: np.random.Generator, values: np.ndarray, fill_rate: float) -> np.ndarray:
    out = values.astype(object).copy()
    out[rng.random(len(out)) >= fill_rate] = None
    return out


def lerp(a: float, b: float, x: float) -> float:
    return a + (b - a) * x


def draw(rng: np.random.Generator, dob: np.ndarray, weight: np.ndarray, n: int, lo: int, hi: int,
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
    age = years_between(dob[who], day)
    ok = (age >= ages[0]) & (age <= ages[1]) & (dob[who] <= day)
    return who[ok][:n], day[ok][:n]


def count(rng: np.random.Generator, rate: float, la: LocalAuthority, multiplier: float = 1.0) -> int:
    return int(rng.poisson(rate * la.per10k * multiplier * rng.lognormal(0, 0.05)))


def person_cols(people: People, who: np.ndarray, rng: np.random.Generator, nhs_fill: float,
                id_col: str | None, id_kind: str) -> dict[str, np.ndarray]:
    """The person columns of pool members ``who``: their id (``id_kind`` la, health or police)
    as ``id_col``, NHS number (filled on ``nhs_fill`` of rows), dob and sex; ``_nhs``/``_who`` too."""
    cols: dict[str, np.ndarray] = {}
    if id_col:
        cols[id_col] = (ids("", people.local_no[who], 7) if id_kind == "la"
                        else ids("C", people.local_no[who], 7) if id_kind == "health"
                        else ids("CP", people.police_no[who], 8))
    cols["nhs_number"] = blank_some(rng, people.nhs[who].astype(str), nhs_fill)
    cols["dob"] = dates(people.dob[who])
    cols["sex"] = people.sex[who]
    cols["_nhs"] = people.nhs[who]
    cols["_who"] = who
    return cols


def finish(cols: dict[str, np.ndarray], la_codes: np.ndarray, key: str, prefix: str,
           width: int, sort_by: str) -> pd.DataFrame:
    """The extract's frame, sorted by ``sort_by`` and keyed ``<prefix><n>`` in that order; ``_la``
    (the file a row goes in) is its LA unless the simulation says otherwise."""
    frame = pd.DataFrame({"la_code": la_codes, **cols})
    frame = frame.sort_values([sort_by, "_who"], kind="stable").reset_index(drop=True)
    frame.insert(0, key, ids(prefix, np.arange(len(frame)) + 1, width))
    frame["_la"] = frame["la_code"]
    return frame


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}


Step = Callable[[LocalAuthority, int, np.random.Generator, slice], dict[str, np.ndarray]]


def each_quarter(w: World, pool: People, name: str, first_k: int, step: Step) -> dict[str, np.ndarray]:
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


def day_numbers(values: pd.Series) -> np.ndarray:
    return values.to_numpy().astype("datetime64[D]").astype(np.int64)
