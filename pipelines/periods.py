"""Financial-year quarters: labels (``2018-19 Q3``), folder ids (``2018-19-Q3``) and dates.

Q1 = Apr-Jun, Q2 = Jul-Sep, Q3 = Oct-Dec, Q4 = Jan-Mar (contract: Periods).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_LABEL = re.compile(r"^(\d{4})-(\d{2})[ -]Q([1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    """A financial-year quarter; orders chronologically."""

    fy_start_year: int  # 2018 for 2018-19
    number: int  # 1..4

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4:
            raise ValueError(f"quarter number must be 1-4, got {self.number}")

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """Parse a label (``2018-19 Q3``) or a folder id (``2018-19-Q3``)."""
        match = _LABEL.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not a period: expected e.g. '2018-19 Q3' or '2018-19-Q3'")
        start, end_yy, number = int(match[1]), int(match[2]), int(match[3])
        if (start + 1) % 100 != end_yy:
            raise ValueError(f"{text!r} is not a period: {start}-{end_yy:02d} is not a financial year")
        return cls(start, number)

    @classmethod
    def containing(cls, day: date) -> Quarter:
        fy = day.year if day.month >= 4 else day.year - 1
        return cls(fy, (day.month - 4) % 12 // 3 + 1)

    @property
    def label(self) -> str:
        return f"{self.fy_start_year}-{(self.fy_start_year + 1) % 100:02d} Q{self.number}"

    @property
    def folder_id(self) -> str:
        return self.label.replace(" ", "-")

    @property
    def start_date(self) -> date:
        month = 4 + 3 * (self.number - 1)
        year = self.fy_start_year + (month - 1) // 12
        return date(year, (month - 1) % 12 + 1, 1)

    @property
    def end_date(self) -> date:
        return self.shift(1).start_date - timedelta(days=1)

    def shift(self, quarters: int) -> Quarter:
        index = self.fy_start_year * 4 + (self.number - 1) + quarters
        return Quarter(index // 4, index % 4 + 1)

    def __str__(self) -> str:
        return self.label


def quarter_range(first: Quarter, last: Quarter) -> list[Quarter]:
    if last < first:
        raise ValueError(f"{last} is before {first}")
    quarters = [first]
    while quarters[-1] < last:
        quarters.append(quarters[-1].shift(1))
    return quarters


def is_period_folder(name: str) -> bool:
    try:
        return Quarter.parse(name).folder_id == name
    except ValueError:
        return False
