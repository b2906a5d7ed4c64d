"""The indicator registry and the one place values, intervals and availability are computed.

Each ``sql/indicators/ind_<code>.sql`` returns counts per LA and quarter; this module unions
them, nulls out any row whose extracts were not received for a quarter it needs (with the
reason: never a zero), and applies the interval for the indicator's unit
(``pipelines.intervals``).
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator

from pipelines.contract import load_contract
from pipelines.intervals import intervals_frame
from pipelines.periods import Quarter
from pipelines.models import SQL_DIR

REGISTRY_PATH = Path(__file__).with_name("indicators.toml")

INDICATOR_VALUE_COLUMNS = [
    "indicator_code",
    "la_code",
    "period",
    "period_start",
    "period_end",
    "numerator",
    "denominator",
    "value",
    "ci_lower",
    "ci_upper",
    "ci_method",
    "unit",
    "polarity",
    "status_reason",
    "history_incomplete",
]


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    title: str
    unit: Literal["percent", "per_10000"]
    polarity: Literal["lower", "higher"]
    sources: tuple[str, ...]
    evidences: tuple[str, ...]
    definition: str
    population: str | None = None
    lookback_quarters: int = 0

    @field_validator("sources")
    @classmethod
    def _sources_are_extracts(cls, sources: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(sources) - set(load_contract()))
        if unknown:
            raise ValueError(f"sources {unknown} are not extracts of the contract")
        return sources

    @property
    def sql_path(self) -> Path:
        return SQL_DIR / "indicators" / f"ind_{self.code.lower()}.sql"

    @property
    def model_name(self) -> str:
        return f"ind_{self.code.lower()}"

    @property
    def unit_label(self) -> str:
        if self.unit == "percent":
            return "%"
        return f"per 10,000 {self.population}" if self.population else "per 10,000"


@cache
def load_registry(path: Path = REGISTRY_PATH) -> dict[str, Indicator]:
    with open(path, "rb") as handle:
        raw = tomllib.load(handle)
    return {code: Indicator(code=code, **body) for code, body in raw.items()}


def unavailable_reason(indicator: Indicator, period: Quarter, received: set[tuple[str, str]], first: Quarter) -> str | None:
    """Why the indicator cannot be computed for ``period`` (None when it can).

    It needs every source extract for the reported quarter and for its look-back quarters back
    to the earliest period received (quarters before that are flagged ``history_incomplete``
    by the SQL instead).
    """
    needed = [period.shift(-back) for back in range(indicator.lookback_quarters, -1, -1)]
    missing = [
        f"{extract} for {quarter.label}"
        for quarter in needed
        if quarter >= first
        for extract in indicator.sources
        if (extract, quarter.label) not in received
    ]
    return f"not received: {', '.join(missing)}" if missing else None


def compute_indicator_values(
    con: duckdb.DuckDBPyConnection,
    receipts: pd.DataFrame,
    *,
    registry: dict[str, Indicator] | None = None,
    schema: str = "work.main",
) -> pd.DataFrame:
    """``indicator_values`` for every indicator x LA x quarter (see module docstring)."""
    registry = registry or load_registry()
    received = set(zip(receipts["extract"], receipts["period"], strict=True))
    parts = []
    for indicator in registry.values():
        counts = con.execute(
            f"select * from {schema}.{indicator.model_name} order by la_code, period"
        ).df()
        counts["unit"] = indicator.unit
        counts["polarity"] = indicator.polarity
        parts.append(counts)
    values = pd.concat(parts, ignore_index=True)
    quarters = con.execute(f"select period, period_start, period_end from {schema}.int_quarters").df()
    values = values.merge(quarters, on="period", how="left")
    first = min(Quarter.parse(period) for period in quarters["period"]) if len(quarters) else None
    reasons = {
        (code, period): unavailable_reason(registry[code], Quarter.parse(period), received, first)
        for code, period in values[["indicator_code", "period"]].drop_duplicates().itertuples(index=False)
    }
    values["status_reason"] = [reasons[key] for key in zip(values["indicator_code"], values["period"], strict=True)]
    not_received = values["status_reason"].notna()
    # Never a zero for data that was not sent: the counts are unknown.
    values["numerator"] = values["numerator"].astype("Int64").mask(not_received)
    values["denominator"] = values["denominator"].astype("Int64").mask(not_received)
    zero = ~not_received & (values["denominator"].fillna(-1) == 0)
    values.loc[zero, "status_reason"] = "denominator is 0"
    no_population = ~not_received & values["denominator"].isna()
    values.loc[no_population, "status_reason"] = "no population estimate for this LA"
    values = intervals_frame(values, "unit", "numerator", "denominator")
    values["history_incomplete"] = values["history_incomplete"].astype(bool)
    values["status_reason"] = values["status_reason"].astype("string")  # VARCHAR even when all null
    for column in ("period_start", "period_end"):
        values[column] = pd.to_datetime(values[column]).dt.date  # DATE, not TIMESTAMP, in the marts
    return values[INDICATOR_VALUE_COLUMNS].sort_values(["indicator_code", "la_code", "period_start"]).reset_index(drop=True)


def definitions_frame(registry: dict[str, Indicator] | None = None) -> pd.DataFrame:
    registry = registry or load_registry()
    return pd.DataFrame(
        [
            {
                "indicator_code": ind.code,
                "title": ind.title,
                "unit": ind.unit,
                "unit_label": ind.unit_label,
                "polarity": ind.polarity,
                "definition": ind.definition,
                "sources": ", ".join(ind.sources),
                "evidences": ", ".join(ind.evidences),
                "ci_methods": "Wilson score (95%)" if ind.unit == "percent" else "Byar (numerator >= 10) / exact Poisson (< 10), 95%",
            }
            for ind in registry.values()
        ]
    )
