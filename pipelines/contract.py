"""The extract contract, loaded from ``extracts.toml`` and validated on load.

Everything that needs to know an extract's shape (reader, suites, staging, docs, demo data)
asks this module, so the contract has exactly one written form.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

CONTRACT_PATH = Path(__file__).with_name("extracts.toml")

ColumnType = Literal["text", "date", "datetime", "code", "la_code"]
IdentifierKind = Literal["nhs_number", "person_id", "dob"]
Source = Literal["la", "police", "health"]
# How reports and docs name each source, in the order they list them.
SOURCE_TITLES: dict[Source, str] = {"la": "Local authority (children's social care)", "police": "Police", "health": "Health"}

LA_CODE_PATTERN = r"^E0[6-9][0-9]{6}$"
# Dates other than a date of birth before this are impossible (contract: "Dates other than dob
# before 2000-01-01 are impossible dates").
EARLIEST_POSSIBLE_DATE = "2000-01-01"
# The ISO forms of the date and datetime columns' text, once normalised (``ingest``).
DATE_FORMATS = {"date": "%Y-%m-%d", "datetime": "%Y-%m-%d %H:%M:%S"}


class Column(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: ColumnType
    required: bool = True
    codes: tuple[str, ...] = ()
    identifier: IdentifierKind | None = None
    not_before: str | None = None
    required_when: str | None = None
    description: str = ""

    @model_validator(mode="after")
    def _codes_only_for_code_columns(self) -> Column:
        if (self.type == "code") != bool(self.codes):
            raise ValueError(f"column {self.name}: codes are given exactly when type is 'code'")
        return self


class ParentLink(BaseModel):
    """A child extract whose rows belong to a row of another extract (police_da_children)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    extract: str
    on: str
    event_date: str


class Extract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    source: Source
    title: str
    grain: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    event_date: str | None = None
    dob_compared_with: str | None = None
    unborn_days: int = 0
    parent: ParentLink | None = None
    note: str = ""

    @model_validator(mode="after")
    def _references_exist(self) -> Extract:
        names = {column.name for column in self.columns}
        if len(names) != len(self.columns):
            raise ValueError(f"{self.name}: duplicate column names")
        referenced = [*self.key, self.event_date, self.dob_compared_with]
        referenced += [c.not_before for c in self.columns] + [c.required_when for c in self.columns]
        missing = sorted({ref for ref in referenced if ref and ref not in names})
        if missing:
            raise ValueError(f"{self.name}: refers to unknown columns {missing}")
        if (self.event_date is None) == (self.parent is None):
            raise ValueError(f"{self.name}: needs exactly one of event_date or parent")
        return self

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def required_columns(self) -> list[str]:
        """Columns that must be present in the file's header (all contract columns are)."""
        return self.column_names

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def dob_column(self) -> str | None:
        return next((c.name for c in self.columns if c.identifier == "dob"), None)

    @property
    def date_compared_with_dob(self) -> str | None:
        """The event date a date of birth may not be after (contract: the DOB rule)."""
        return self.dob_compared_with or self.event_date


@cache
def load_contract(path: Path = CONTRACT_PATH) -> dict[str, Extract]:
    """Read and validate the contract; raise ValueError naming the extract and problem."""
    with open(path, "rb") as handle:
        raw = tomllib.load(handle)
    extracts = {name: Extract(name=name, **body) for name, body in raw.items()}
    for extract in extracts.values():
        if extract.parent and extract.parent.extract not in extracts:
            raise ValueError(f"{extract.name}: parent {extract.parent.extract} is not an extract")
    return extracts


def get_extract(name: str) -> Extract:
    try:
        return load_contract()[name]
    except KeyError:
        raise KeyError(f"unknown extract {name!r}; the contract has {sorted(load_contract())}") from None
