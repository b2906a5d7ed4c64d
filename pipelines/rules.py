"""The data-quality rules of the contract, by the names that appear in ``quarantine.rule``.

Row rules quarantine one row; file rules reject a whole file. The names are what agencies see
in the validation report, so they read as plain words.
"""

from __future__ import annotations

from enum import StrEnum


class RowRule(StrEnum):
    REQUIRED_MISSING = "required value missing"
    UNPARSEABLE_DATE = "unparseable date"
    IMPOSSIBLE_DATE = "impossible date"
    UNKNOWN_CODE = "unknown code"
    INVALID_NHS_NUMBER = "invalid NHS number"
    END_BEFORE_START = "end before start"
    DOB_AFTER_EVENT = "dob after event"
    EVENT_AFTER_PERIOD = "event after period"
    DUPLICATE_KEY = "duplicate key"
    ORPHAN = "orphan"


class FileRule(StrEnum):
    UNREADABLE = "unreadable file"
    UNDECODABLE = "undecodable text"
    MISSING_COLUMN = "missing required column"
    NO_DATA_ROWS = "no data rows"
    TOO_MANY_QUARANTINED = "more than 5% of rows quarantined"


# A file with more than this share of its data rows quarantined is rejected (contract: Row share).
MAX_QUARANTINED_SHARE = 0.05
