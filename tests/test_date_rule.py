"""The "unparseable date" rule is computed for a whole column at once; it must judge every value
exactly as ``datetime.strptime`` with the contract's ISO format does (what GX's strftime
expectation did, one value at a time)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.validate import is_date_text

FORMATS = {"date": "%Y-%m-%d", "datetime": "%Y-%m-%d %H:%M:%S"}


def _by_strptime(value: str, column_type: str) -> bool:
    try:
        datetime.strptime(value, FORMATS[column_type])
    except ValueError:
        return False
    return True


def _judged(values: list[str | None], column_type: str) -> list:
    series = pd.Series(values, dtype="str")
    parsed = pd.to_datetime(series, format=FORMATS[column_type], errors="coerce")
    return [None if pd.isna(v) else bool(v) for v in is_date_text(series, parsed, column_type)]


# Near-misses of the ISO shape: digits (ASCII and not), separators, spaces, signs.
_pieces = st.sampled_from(["0", "1", "2", "9", "00", "01", "12", "13", "29", "30", "31", "59", "60", "61", "0000", "2018", "1999",
                           "-", ":", " ", "  ", "T", "+", "٣", "１", "\t", "x"])
near_iso = st.lists(_pieces, min_size=1, max_size=12).map("".join)
shaped = st.builds(
    lambda y, m, d, hh, mm, ss, sep: f"{y:04d}-{m:02d}-{d:02d}{sep}{hh:02d}:{mm:02d}:{ss:02d}",
    st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 25), st.integers(0, 61), st.integers(0, 61),
    st.sampled_from([" ", "  ", "T"]),
)
dates = st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(near_iso, shaped, dates, st.text(max_size=12)), min_size=1, max_size=30))
def test_agrees_with_strptime_on_every_value(values):
    for column_type in FORMATS:
        assert _judged(values, column_type) == [_by_strptime(v, column_type) for v in values]


def test_the_cases_pandas_and_strptime_disagree_on():
    # pandas reads year 0000 and seconds 60-61; strptime does not; unpadded fields are fine in both.
    assert _judged(["0000-01-01", "2018-02-29", "2016-02-29", "2018-1-5", None], "date") == [False, False, True, True, None]
    assert _judged(["2018-01-05 23:59:60", "2018-01-05 1:02:03", "2018-01-05 24:00:00"], "datetime") == [False, True, False]
