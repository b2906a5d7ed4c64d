"""The board workbook's Charts sheet: a native line chart per indicator plotting value, interval,
SPC and Tees from the sheet's own tables, suppressed points left blank."""

from __future__ import annotations

import re
import zipfile

import pytest

from pipelines.periods import Quarter
from workbook_cells import (
    chart_table,
    is_number,
    series_headers,
    series_points,
    table_rows,
    values,
)
from workbook_fixtures import INDICATOR_COUNT, PERIOD


def test_one_native_line_chart_per_indicator(workbook, workbook_file):
    ws = workbook["Charts"]
    assert len(ws._charts) == INDICATOR_COUNT
    assert all(type(chart).__name__ == "LineChart" for chart in ws._charts)
    with zipfile.ZipFile(workbook_file) as archive:
        charts = [name for name in archive.namelist() if re.match(r"xl/charts/chart\d+\.xml$", name)]
    assert len(charts) == INDICATOR_COUNT
    assert len([name for name in ws.tables if name.startswith("Chart_")]) == INDICATOR_COUNT


def test_charts_show_value_interval_spc_and_tees(workbook):
    ws = workbook["Charts"]
    chart = next(chart for chart in ws._charts if "LSCB11b" in str(chart.title.tx.rich.p[0].r[0].t))
    assert series_headers(ws, chart) == ["Hartlepool", "Lower 95%", "Upper 95%", "SPC mean", "Lower process limit",
                                         "Upper process limit", "Tees"]
    rows = chart_table(ws, "LSCB11b")
    latest = rows[PERIOD.label]
    value = 10_000 * (30 + 14) / 20_000  # the fixture's last quarter (index 14), board (index 0)
    assert latest["Hartlepool"] == pytest.approx(value)
    assert (latest["Lower 95%"], latest["Upper 95%"]) == (pytest.approx(value - 5), pytest.approx(value + 5))
    mean = sum(10_000 * (30 + q) / 20_000 for q in range(15)) / 15  # every quarter is in the series
    assert latest["SPC mean"] == pytest.approx(mean)
    assert (latest["Lower process limit"], latest["Upper process limit"]) == (pytest.approx(mean - 8),
                                                                              pytest.approx(mean + 8))
    assert latest["Tees"] == pytest.approx(10_000 * sum(30 + 14 + la for la in range(4)) / 80_000)
    assert len(rows) == 15


def test_charts_leave_suppressed_points_and_their_spc_blank(workbook):
    ws = workbook["Charts"]
    marac = chart_table(ws, "MARAC")
    latest = marac[PERIOD.label]
    assert (latest["Hartlepool"], latest["Lower 95%"], latest["Upper 95%"]) == (None, None, None)
    assert latest["Note"].startswith("c")
    assert is_number(marac["2018-19 Q2"]["Hartlepool"])
    # a point of the series is suppressed: the mean would give it away, so no SPC lines
    assert all(row["SPC mean"] is None and row["Upper process limit"] is None for row in marac.values())
    chart = next(chart for chart in ws._charts if "MARAC" in str(chart.title.tx.rich.p[0].r[0].t))
    points = series_points(ws, chart.series[0])
    assert max(points, key=Quarter.parse) == PERIOD.label and points[PERIOD.label] is None
    assert all(is_number(value) for quarter, value in points.items() if quarter != PERIOD.label)
    # nothing but numbers or blanks in the cells a chart plots (text would plot as 0)
    plotted = {header for chart in ws._charts for header in series_headers(ws, chart)}
    assert {"Hartlepool", "Tees", "SPC mean"} <= plotted
    for name in ws.tables:
        if name.startswith("Chart_"):
            for row in values(table_rows(ws, name)):
                assert all(row[key] is None or is_number(row[key]) for key in plotted), (name, row["Quarter"])
    for chart in ws._charts:
        for series in chart.series:
            assert all(value is None or is_number(value) for value in series_points(ws, series).values())
