"""Settings for a refresh, validated on load (``pmf.toml`` at the project root, all optional)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipelines.periods import Quarter

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the repository: sql/, docs/ and data/ are found from it
CONFIG_FILE = PROJECT_ROOT / "pmf.toml"

# The four Tees LAs by ONS code, the board's own first: the one place their codes and names are
# written (the settings' defaults below, the demo's world and the tests read them from here).
TEES_LAS: Mapping[str, str] = MappingProxyType({
    "E06000001": "Hartlepool",
    "E06000002": "Middlesbrough",
    "E06000003": "Redcar and Cleveland",
    "E06000004": "Stockton-on-Tees",
})


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    board_la_code: str = next(iter(TEES_LAS))
    board_name: str = "Hartlepool Safeguarding Children Board"
    # The LAs whose summed counts make the comparator ("Tees") figure: the four Tees LAs, the
    # board's own included (indicators.md v2). The workbook shows the others beside the board's.
    comparator_la_codes: tuple[str, ...] = tuple(TEES_LAS)
    la_names: dict[str, str] = Field(default_factory=lambda: dict(TEES_LAS))
    default_baseline_period: str = "2017-18 Q2"
    reference_dir: Path = PROJECT_ROOT / "data" / "reference"
    chunk_rows: int = Field(default=200_000, ge=1_000)
    # Board workbook: any count from 1 to this is shown as "<5" (outputs.md: small numbers).
    suppress_counts_below: int = Field(default=5, ge=1)
    # pmf serve: when the deployment runs. Default: the 15th of the month after each quarter
    # ends (quarters end in June, September, December and March), 06:00 UK time.
    schedule_cron: str = "0 6 15 1,4,7,10 *"
    schedule_timezone: str = "Europe/London"

    @field_validator("schedule_cron")
    @classmethod
    def _is_cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"{value!r} is not a cron schedule: expected five fields, minute hour day month weekday")
        return value

    @field_validator("schedule_timezone")
    @classmethod
    def _is_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/London)") from None
        return value

    @field_validator("comparator_la_codes")
    @classmethod
    def _comparators_are_distinct(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        if not codes:
            raise ValueError("needs at least one LA code (the LAs whose counts make the Tees figure)")
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if repeated:
            raise ValueError(f"lists {', '.join(repeated)} more than once (each LA's counts would be summed twice)")
        return codes

    # Published releases kept under <marts-dir>/releases/ (the current one included).
    keep_releases: int = Field(default=3, ge=1)

    @field_validator("default_baseline_period")
    @classmethod
    def _is_period(cls, value: str) -> str:
        return Quarter.parse(value).label

    @property
    def other_comparator_la_codes(self) -> tuple[str, ...]:
        """The comparator LAs other than the board's own (shown beside it)."""
        return tuple(code for code in self.comparator_la_codes if code != self.board_la_code)

    def la_name(self, la_code: str) -> str:
        return self.la_names.get(la_code, la_code)


def load_settings(path: Path | None = None, **overrides: object) -> Settings:
    path = path or CONFIG_FILE
    values: dict = {}
    if path.exists():
        with open(path, "rb") as handle:
            values = tomllib.load(handle)
    values.update({key: value for key, value in overrides.items() if value is not None})
    return Settings(**values)
