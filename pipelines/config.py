"""Settings for a refresh, validated on load (``pmf.toml`` at the project root, all optional)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipelines.periods import Quarter

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_FILE = PROJECT_ROOT / "pmf.toml"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    board_la_code: str = "E06000001"
    board_name: str = "Hartlepool Safeguarding Children Board"
    # The other Tees LAs the board compares itself with.
    comparator_la_codes: tuple[str, ...] = ("E06000002", "E06000003", "E06000004")
    la_names: dict[str, str] = Field(
        default_factory=lambda: {
            "E06000001": "Hartlepool",
            "E06000002": "Middlesbrough",
            "E06000003": "Redcar and Cleveland",
            "E06000004": "Stockton-on-Tees",
        }
    )
    default_baseline_period: str = "2017-18 Q2"
    reference_dir: Path = PROJECT_ROOT / "data" / "reference"
    chunk_rows: int = Field(default=200_000, ge=1_000)
    # Board workbook: any count from 1 to this is shown as "<5" (outputs.md: small numbers).
    suppress_counts_below: int = Field(default=5, ge=1)
    # Published releases kept under <marts-dir>/releases/ (the current one included).
    keep_releases: int = Field(default=3, ge=1)

    @field_validator("default_baseline_period")
    @classmethod
    def _is_period(cls, value: str) -> str:
        return Quarter.parse(value).label

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
