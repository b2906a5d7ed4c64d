"""The indicator registry and the one place values, intervals and availability are computed.

Each ``sql/indicators/ind_<code>.sql`` holds only its definition: ``indicator_code, la_code,
period, numerator, denominator`` for the LA × quarters it counts anything in. This module places
them all on the spine (every LA × quarter, ``int_la_quarters``) with the population denominators
and the history flag (``indicator_counts``), nulls out any row whose extracts were not received
for a quarter it needs (with the reason: never a zero), and applies the interval for the
indicator's unit (``pipelines.intervals``).
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from pipelines.contract import load_contract
from pipelines.intervals import intervals_frame
from pipelines.periods import Quarter
from pipelines.models import SQL_DIR

REGISTRY_PATH = Path(__file__).with_name("indicators.toml")

# What every sql/indicators/ind_<code>.sql returns (STYLE.md: the same columns in every one).
INDICATOR_SQL_COLUMNS = ["indicator_code", "la_code", "period", "numerator", "denominator"]
# Every indicator's counts on the spine (indicator_counts).
INDICATOR_COUNT_COLUMNS = [
    "indicator_code", "la_code", "period", "period_start", "period_end", "numerator", "denominator", "history_incomplete",
]
POPULATION_PATTERN = re.compile(r"aged (\d+)-(\d+)")

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
    flags_incomplete_history: bool = False

    @field_validator("sources")
    @classmethod
    def _sources_are_extracts(cls, sources: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(sources) - set(load_contract()))
        if unknown:
            raise ValueError(f"sources {unknown} are not extracts of the contract")
        return sources

    @model_validator(mode="after")
    def _rates_name_their_population(self) -> Indicator:
        if self.unit == "per_10000" and not POPULATION_PATTERN.fullmatch(self.population or ""):
            raise ValueError(f"{self.code}: a per_10000 rate needs population = \"aged <from>-<to>\" (got {self.population!r})")
        if self.flags_incomplete_history and not self.lookback_quarters:
            raise ValueError(f"{self.code}: flags_incomplete_history needs the lookback_quarters it flags")
        return self

    @property
    def population_ages(self) -> tuple[int, int] | None:
        """The ages (inclusive) of the population a rate is taken over; None for a percentage."""
        if self.unit != "per_10000":
            return None
        low, high = POPULATION_PATTERN.fullmatch(self.population).groups()
        return int(low), int(high)

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


def indicator_counts(
    con: duckdb.DuckDBPyConnection,
    *,
    registry: dict[str, Indicator] | None = None,
    schema: str = "work.main",
) -> pd.DataFrame:
    """Every indicator's counts for every LA × quarter of the spine (indicators.md: "computed for
    every local authority and every quarter that the data covers"), in ``INDICATOR_COUNT_COLUMNS``.

    An LA × quarter its SQL counted nothing in counts 0; a rate's denominator is the population of
    the ages its ``population`` names (null when the LA has no estimate for the quarter); and a
    quarter is flagged ``history_incomplete`` when the indicator ``flags_incomplete_history`` and
    its look-back (``lookback_quarters`` before it) reaches before the first period received.
    """
    registry = registry or load_registry()
    entries = pd.DataFrame(
        [
            {
                "indicator_code": indicator.code,
                "unit": indicator.unit,
                "population_age_from": (indicator.population_ages or (None, None))[0],
                "population_age_to": (indicator.population_ages or (None, None))[1],
                "flagged_lookback_quarters": indicator.lookback_quarters if indicator.flags_incomplete_history else 0,
            }
            for indicator in registry.values()
        ]
    ).astype({"population_age_from": "Int64", "population_age_to": "Int64"})
    counts = "\n        union all by name\n        ".join(
        f"select '{indicator.code}' as registry_code, * from {schema}.{indicator.model_name}" for indicator in registry.values()
    )
    con.register("_indicator_registry", entries)
    try:
        misnamed = con.execute(
            f"select distinct registry_code, indicator_code from ({counts}) where indicator_code is distinct from registry_code"
        ).fetchall()
        if misnamed:
            raise ValueError(f"indicator SQL returns another indicator's code (model's code, code returned): {misnamed}")
        return con.execute(f"""
            with

            registry as (
                select * from _indicator_registry
            ),

            counts as (
                {counts}
            ),

            la_quarters as (
                select * from {schema}.int_la_quarters
            ),

            population as (
                select * from {schema}.int_population_by_quarter
            ),

            rate_populations as (
                select
                    registry.indicator_code,
                    population.la_code,
                    population.period,
                    sum(population.persons)::bigint as persons,
                from registry
                inner join population
                    on population.age between registry.population_age_from and registry.population_age_to
                group by all
            ),

            final as (
                select
                    registry.indicator_code,
                    la_quarters.la_code,
                    la_quarters.period,
                    la_quarters.period_start,
                    la_quarters.period_end,
                    coalesce(counts.numerator, 0) as numerator,
                    case
                        when registry.unit = 'per_10000' then rate_populations.persons
                        else coalesce(counts.denominator, 0)
                    end as denominator,
                    -- quarter_index 1 is the first period received: this quarter's look-back
                    -- reaches before it.
                    la_quarters.quarter_index <= registry.flagged_lookback_quarters as history_incomplete,
                from registry
                cross join la_quarters
                left join counts
                    on
                        registry.indicator_code = counts.indicator_code
                        and la_quarters.la_code = counts.la_code
                        and la_quarters.period = counts.period
                left join rate_populations
                    on
                        registry.indicator_code = rate_populations.indicator_code
                        and la_quarters.la_code = rate_populations.la_code
                        and la_quarters.period = rate_populations.period
            )

            select * from final
            order by indicator_code, la_code, period_start
        """).df()[INDICATOR_COUNT_COLUMNS]
    finally:
        con.unregister("_indicator_registry")


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
    values = indicator_counts(con, registry=registry, schema=schema)
    values["unit"] = values["indicator_code"].map({code: indicator.unit for code, indicator in registry.items()})
    values["polarity"] = values["indicator_code"].map({code: indicator.polarity for code, indicator in registry.items()})
    quarters = con.execute(f"select period from {schema}.int_quarters").df()
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
