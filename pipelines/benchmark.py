"""Each LA compared with the Tees figure (indicators.md, "Comparison with the Tees figure (v2)").

As Fingertips compares an area with England: per indicator and quarter the comparator figure sums
the numerators and the denominators of every LA in the setting ``comparator_la_codes`` (the four
Tees LAs, the board's own included), with its value and 95% interval by the indicator's unit
(``pipelines.intervals``, the interval method picked by the summed numerator). No partial sums:
one comparator LA with a null numerator or denominator (an extract not received) leaves the
comparator figure null. A denominator of 0 is not null; it adds nothing.

An LA is ``similar`` when the comparator value lies within its own 95% interval (ends included),
else ``better`` or ``worse`` by the indicator's polarity; ``not compared`` (with the reason) when
either value is null.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from pipelines.intervals import intervals_frame

DATE = pd.ArrowDtype(pa.date32())  # DATE in DuckDB even for an empty table

COMPARATOR = "Tees"
BETTER, SIMILAR, WORSE, NOT_COMPARED = "better", "similar", "worse", "not compared"

BENCHMARK_COLUMNS = [
    "indicator_code",
    "la_code",
    "period",
    "period_start",
    "value",
    "ci_lower",
    "ci_upper",
    "polarity",
    "comparator",
    "comparator_numerator",
    "comparator_denominator",
    "comparator_value",
    "comparator_ci_lower",
    "comparator_ci_upper",
    "comparator_ci_method",
    "comparison",
    "not_compared_reason",
]


def compare_with_comparator(
    value: float | None,
    ci_lower: float | None,
    ci_upper: float | None,
    comparator_value: float | None,
    polarity: str,
    *,
    value_reason: str | None = None,
    comparator_reason: str | None = None,
) -> tuple[str, str | None]:
    """(comparison, not_compared_reason) of one LA value against the comparator value.

    ``similar`` when the comparator value lies within [ci_lower, ci_upper] (ends included), else
    ``better`` / ``worse`` by ``polarity``; ``not compared`` when either value is null, the reason
    naming which (with ``value_reason`` / ``comparator_reason`` when given).
    """
    if polarity not in ("higher", "lower"):
        raise ValueError(f"polarity must be 'higher' or 'lower', got {polarity!r}")
    reasons = []
    if pd.isna(value):
        reasons.append("LA value not available" + (f": {value_reason}" if value_reason else ""))
    if pd.isna(comparator_value):
        reasons.append(f"{COMPARATOR} value not available" + (f": {comparator_reason}" if comparator_reason else ""))
    if reasons:
        return NOT_COMPARED, "; ".join(reasons)
    if pd.isna(ci_lower) or pd.isna(ci_upper) or ci_lower > ci_upper:
        raise ValueError(f"value {value} has no valid 95% interval ({ci_lower}, {ci_upper})")
    if ci_lower <= comparator_value <= ci_upper:
        return SIMILAR, None
    is_higher = value > comparator_value
    return (BETTER if is_higher == (polarity == "higher") else WORSE), None


def comparator_figures(values: pd.DataFrame, comparator_la_codes: tuple[str, ...]) -> pd.DataFrame:
    """One row per indicator × period of ``values``: the comparator LAs' summed numerator and
    denominator, value, 95% interval and method, and why the figure is null when it is.

    No partial sums: when any comparator LA has a null numerator or denominator, or no row, the
    sums and the figure are null.
    """
    codes = sorted(set(comparator_la_codes))
    if not codes:
        raise ValueError("comparator_la_codes is empty: the comparator figure needs at least one LA")
    keys = values[["indicator_code", "period", "unit"]].drop_duplicates()
    members = values[values["la_code"].isin(codes)]
    parts = {key: group.set_index("la_code") for key, group in members.groupby(["indicator_code", "period"], sort=False)}
    nothing = members.iloc[0:0].set_index("la_code")
    rows = []
    for (code, period, unit) in keys.itertuples(index=False):
        part = parts.get((code, period), nothing)
        missing = []
        for la_code in codes:
            if la_code not in part.index:
                missing.append(f"{la_code} has no figure for {period}")
            elif pd.isna(part.at[la_code, "numerator"]) or pd.isna(part.at[la_code, "denominator"]):
                reason = part.at[la_code, "status_reason"]
                missing.append(f"{la_code} {reason}" if not pd.isna(reason) else f"{la_code} has no counts")
        whole = not missing
        rows.append({
            "indicator_code": code,
            "period": period,
            "unit": unit,
            "comparator_numerator": int(part["numerator"].sum()) if whole else None,
            "comparator_denominator": int(part["denominator"].sum()) if whole else None,
            "comparator_reason": "; ".join(missing) if missing else None,
        })
    figures = pd.DataFrame(rows, columns=["indicator_code", "period", "unit", "comparator_numerator",
                                          "comparator_denominator", "comparator_reason"])
    for column in ("comparator_numerator", "comparator_denominator"):
        figures[column] = figures[column].astype("Int64")
    figures = intervals_frame(figures, "unit", "comparator_numerator", "comparator_denominator")
    zero = figures["comparator_denominator"].fillna(-1) == 0
    figures.loc[zero, "comparator_reason"] = "the summed denominator is 0"
    return figures.rename(columns={
        "value": "comparator_value",
        "ci_lower": "comparator_ci_lower",
        "ci_upper": "comparator_ci_upper",
        "ci_method": "comparator_ci_method",
    }).drop(columns=["unit"])


def benchmark_frame(values: pd.DataFrame, comparator_la_codes: tuple[str, ...]) -> pd.DataFrame:
    """``indicator_benchmark``: every indicator × LA × period of ``values`` (the indicator_values
    columns) against the comparator figure."""
    figures = comparator_figures(values, comparator_la_codes)
    out = values.merge(figures, on=["indicator_code", "period"], how="left")
    judged = [
        compare_with_comparator(
            value, lower, upper, comparator, polarity,
            value_reason=None if pd.isna(reason) else reason,
            comparator_reason=None if pd.isna(comparator_reason) else comparator_reason,
        )
        for value, lower, upper, comparator, polarity, reason, comparator_reason in zip(
            out["value"], out["ci_lower"], out["ci_upper"], out["comparator_value"], out["polarity"],
            out["status_reason"], out["comparator_reason"], strict=True,
        )
    ]
    out["comparator"] = COMPARATOR
    out["comparison"] = pd.array([comparison for comparison, _ in judged], dtype="string")
    out["not_compared_reason"] = pd.array([reason for _, reason in judged], dtype="string")
    out["period_start"] = pd.to_datetime(out["period_start"]).astype(DATE)
    return out[BENCHMARK_COLUMNS].sort_values(["indicator_code", "la_code", "period_start"]).reset_index(drop=True)
