"""Statistical process control: the XmR chart of NHS England's *Making Data Count* (indicators.md,
"Statistical process control (v2)").

As the Making Data Count Excel tool applies it: no outlier screening of the moving ranges, no
automatic rebasing. Limits are mean ± 2.66 × average moving range; near-limit lines at
mean ± (2/3 × 2.66) × amr. Four special-cause rules, each a function returning the positions it
flags with their side (``high`` / ``low``):

1. ``outside limits`` — a point beyond a process limit;
2. ``trend`` — 7 or more points each strictly greater (or less) than the one before;
3. ``two of three`` — 2 of 3 consecutive points beyond the same near-limit line, all 3 strictly on
   that side of the mean;
4. ``shift`` — 7 or more consecutive points strictly on one side of the mean.

Checked against NHSRplotthedots (``ptd_spc_standard.R``, ``ptd_calculate_point_type.R``), which
differs from the spec in ways the spec decides: it screens moving ranges above 3.267 × amr by
default (the spec does not); its two-of-three rule does not count points beyond the process
limits (the spec does); it takes a flagged point's side from the mean, not from the rule (the spec
takes it from the first rule that flags it); and it computes limits for fewer than 12 points with
a warning (the spec gives ``too few points``).

A point at the peak of a rise followed by a fall ends one trend run and starts another: it takes
the side of the run it ends (it is strictly greater than the point before it, the condition of a
rising run; it is the falling run's starting point only). The same for a trough.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Literal

import pandas as pd
import pyarrow as pa

DATE = pd.ArrowDtype(pa.date32())  # DATE in DuckDB even for an empty table

Side = Literal["high", "low"]
Flags = dict[int, Side]  # position in the series (0-based) -> side

LIMIT_FACTOR = 2.66
NEAR_LIMIT_FACTOR = 2 * 2.66 / 3
MIN_POINTS = 12
RUN_LENGTH = 7

OUTSIDE_LIMITS, TREND, TWO_OF_THREE, SHIFT = "outside limits", "trend", "two of three", "shift"
TOO_FEW_POINTS = "too few points"
IMPROVEMENT, CONCERN, COMMON_CAUSE = "special cause improvement", "special cause concern", "common cause"


@dataclass(frozen=True)
class Limits:
    mean: float
    average_moving_range: float
    lower_limit: float
    upper_limit: float
    near_lower_limit: float
    near_upper_limit: float


@dataclass(frozen=True)
class SpcPoint:
    value: float
    rules: tuple[str, ...] | None  # None: too few points (no rules applied)
    side: Side | None
    variation: str


def _values(values: Sequence[float]) -> list[float]:
    checked = []
    for position, x in enumerate(values):
        if isinstance(x, bool) or not isinstance(x, Real) or not math.isfinite(x):
            raise ValueError(f"SPC series point {position} must be a finite number, got {x!r}")
        checked.append(float(x))
    return checked


def moving_ranges(values: Sequence[float]) -> list[float]:
    """mrᵢ = |xᵢ − xᵢ₋₁| for i = 2 … n (n − 1 of them)."""
    xs = _values(values)
    return [abs(current - previous) for previous, current in zip(xs, xs[1:])]


def process_limits(values: Sequence[float]) -> Limits:
    """Mean, average moving range and the process and near-limit lines (needs 2 or more points)."""
    xs = _values(values)
    if len(xs) < 2:
        raise ValueError(f"process limits need at least 2 points, got {len(xs)}")
    mean = sum(xs) / len(xs)
    ranges = moving_ranges(xs)
    amr = sum(ranges) / len(ranges)
    return Limits(
        mean=mean,
        average_moving_range=amr,
        lower_limit=mean - LIMIT_FACTOR * amr,  # not truncated at 0
        upper_limit=mean + LIMIT_FACTOR * amr,
        near_lower_limit=mean - NEAR_LIMIT_FACTOR * amr,
        near_upper_limit=mean + NEAR_LIMIT_FACTOR * amr,
    )


def outside_limits(values: Sequence[float], limits: Limits) -> Flags:
    """Rule 1: x > upper limit (high) or x < lower limit (low)."""
    flags: Flags = {}
    for position, x in enumerate(_values(values)):
        if x > limits.upper_limit:
            flags[position] = "high"
        elif x < limits.lower_limit:
            flags[position] = "low"
    return flags


def _runs(marks: list[Side | None], run_length: int) -> Flags:
    """Positions in maximal runs of one side at least ``run_length`` long (earlier runs win)."""
    flags: Flags = {}
    start = 0
    while start < len(marks):
        end = start
        while end + 1 < len(marks) and marks[end + 1] == marks[start]:
            end += 1
        if marks[start] is not None and end - start + 1 >= run_length:
            for position in range(start, end + 1):
                flags.setdefault(position, marks[start])
        start = end + 1
    return flags


def trend(values: Sequence[float], run_length: int = RUN_LENGTH) -> Flags:
    """Rule 2: ``run_length`` or more consecutive points each strictly greater (high) or strictly
    less (low) than the one before; every point of the run, its first included. An equal
    neighbour ends a run."""
    xs = _values(values)
    steps: list[Side | None] = [
        "high" if current > previous else "low" if current < previous else None
        for previous, current in zip(xs, xs[1:])
    ]
    # A run of k steps covers k + 1 points: step i joins points i and i + 1.
    flags: Flags = {}
    for step, side in sorted(_runs(steps, run_length - 1).items()):
        flags.setdefault(step, side)  # a peak keeps the side of the run it ends
        flags.setdefault(step + 1, side)
    return flags


def two_of_three(values: Sequence[float], limits: Limits) -> Flags:
    """Rule 3: in 3 consecutive points, at least 2 beyond the same near-limit line (points beyond
    the process limit included) and all 3 strictly on that side of the mean; the points beyond
    the near line are flagged."""
    xs = _values(values)
    flags: Flags = {}
    for first in range(len(xs) - 2):
        window = range(first, first + 3)
        for side, beyond, on_side in (
            ("high", lambda x: x > limits.near_upper_limit, lambda x: x > limits.mean),
            ("low", lambda x: x < limits.near_lower_limit, lambda x: x < limits.mean),
        ):
            if all(on_side(xs[p]) for p in window) and sum(beyond(xs[p]) for p in window) >= 2:
                for position in window:
                    if beyond(xs[position]):
                        flags[position] = side
    return flags


def shift(values: Sequence[float], mean: float, run_length: int = RUN_LENGTH) -> Flags:
    """Rule 4: ``run_length`` or more consecutive points all strictly above (high) or all strictly
    below (low) the mean; a point equal to the mean ends a run."""
    xs = _values(values)
    marks: list[Side | None] = ["high" if x > mean else "low" if x < mean else None for x in xs]
    return _runs(marks, run_length)


RULES: tuple[tuple[str, Callable[[list[float], Limits], Flags]], ...] = (
    (OUTSIDE_LIMITS, outside_limits),
    (TREND, lambda xs, limits: trend(xs)),
    (TWO_OF_THREE, two_of_three),
    (SHIFT, lambda xs, limits: shift(xs, limits.mean)),
)


def variation(side: Side | None, polarity: str) -> str:
    """Improvement when the side is the desired direction, concern when not, common cause when unflagged."""
    if polarity not in ("higher", "lower"):
        raise ValueError(f"polarity must be 'higher' or 'lower', got {polarity!r}")
    if side is None:
        return COMMON_CAUSE
    desired = "high" if polarity == "higher" else "low"
    return IMPROVEMENT if side == desired else CONCERN


def classify(values: Sequence[float], polarity: str) -> tuple[Limits | None, list[SpcPoint]]:
    """Limits (None with fewer than 12 points) and, per point, its rules, side and variation.

    A point's rules are listed in the rules' order; its side comes from the first that flags it.
    """
    xs = _values(values)
    variation(None, polarity)  # checks polarity even for a short series
    if len(xs) < MIN_POINTS:
        return None, [SpcPoint(x, None, None, TOO_FEW_POINTS) for x in xs]
    limits = process_limits(xs)
    flagged = [(name, rule(xs, limits)) for name, rule in RULES]
    points = []
    for position, x in enumerate(xs):
        hits = [(name, flags[position]) for name, flags in flagged if position in flags]
        side = hits[0][1] if hits else None
        points.append(SpcPoint(x, tuple(name for name, _ in hits), side, variation(side, polarity)))
    return limits, points


# --------------------------------------------------------------------------- the marts

SPC_COLUMNS = [
    "indicator_code",
    "la_code",
    "period",
    "period_start",
    "pack_period",
    "value",
    "points",
    "mean",
    "lower_limit",
    "upper_limit",
    "near_lower_limit",
    "near_upper_limit",
    "rules",
    "side",
    "variation",
]


def spc_frame(values: pd.DataFrame, pack_period: str) -> pd.DataFrame:
    """``indicator_spc`` for one pack period: per indicator × LA, the series up to and including
    ``pack_period`` (period order; null and ``history_incomplete`` quarters left out), one row per point.

    ``values`` has the ``indicator_values`` columns.
    """
    pack_start = _period_start(values, pack_period)
    in_series = (
        values["value"].notna()
        & ~values["history_incomplete"].astype(bool)
        & (pd.to_datetime(values["period_start"]) <= pack_start)
    )
    rows = []
    series = values.loc[in_series, ["indicator_code", "la_code", "period", "period_start", "value", "polarity"]]
    series = series.sort_values(["indicator_code", "la_code", "period_start"])
    # Plain lists, one pass: per-group pandas access cost ~10x the SPC arithmetic itself.
    codes, las, periods, starts, numbers, polarities = (series[column].tolist() for column in series.columns)
    first = 0
    while first < len(codes):
        last = first
        while last + 1 < len(codes) and codes[last + 1] == codes[first] and las[last + 1] == las[first]:
            last += 1
        limits, classified = classify([float(x) for x in numbers[first : last + 1]], polarities[first])
        for offset, point in enumerate(classified):
            rows.append({
                "indicator_code": codes[first],
                "la_code": las[first],
                "period": periods[first + offset],
                "period_start": starts[first + offset],
                "pack_period": pack_period,
                "value": point.value,
                "points": len(classified),
                "mean": limits.mean if limits else None,
                "lower_limit": limits.lower_limit if limits else None,
                "upper_limit": limits.upper_limit if limits else None,
                "near_lower_limit": limits.near_lower_limit if limits else None,
                "near_upper_limit": limits.near_upper_limit if limits else None,
                "rules": None if point.rules is None else ";".join(point.rules),
                "side": point.side,
                "variation": point.variation,
            })
        first = last + 1
    frame = pd.DataFrame(rows, columns=SPC_COLUMNS)
    for column in ("value", "mean", "lower_limit", "upper_limit", "near_lower_limit", "near_upper_limit"):
        frame[column] = frame[column].astype("Float64")
    for column in ("indicator_code", "la_code", "period", "pack_period", "rules", "side", "variation"):
        frame[column] = frame[column].astype("string")
    frame["points"] = frame["points"].astype("Int64")
    frame["period_start"] = pd.to_datetime(frame["period_start"]).astype(DATE)
    return frame


def _period_start(values: pd.DataFrame, period: str) -> pd.Timestamp:
    starts = values.loc[values["period"] == period, "period_start"]
    if starts.empty:
        raise ValueError(f"pack period {period!r} is not a quarter of indicator_values")
    return pd.Timestamp(starts.iloc[0])
