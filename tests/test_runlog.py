"""The run log (pipelines/runlog.py): times to the millisecond, and logs written before that still read."""

from __future__ import annotations

import json
from datetime import datetime

from pipelines.runlog import LOG_FOLDER, RUN_LOG, RefreshSummary, refresh_log_frame, run_record


def test_runs_a_second_apart_or_less_keep_their_order_and_old_lines_still_read(tmp_path):
    # A line as pmf wrote them until 2026-12-02 (to the second), then a run in the same second.
    old = {"run_id": "20261201T100000Z-aaaaaa", "started_at": "2026-12-01T10:00:00+00:00",
           "finished_at": "2026-12-01T10:00:05+00:00", "outcome": "published"}
    (tmp_path / LOG_FOLDER).mkdir()
    (tmp_path / LOG_FOLDER / RUN_LOG).write_text(json.dumps(old) + "\n", encoding="utf-8")
    summary = RefreshSummary(run_id="20261201T100005Z-bbbbbb", period="2019-20 Q4")
    summary.started_at = datetime.fromisoformat("2026-12-01T10:00:05.250+00:00").timestamp()
    current = run_record(summary, "published")
    assert current["started_at"] == "2026-12-01T10:00:05.250+00:00"  # milliseconds kept
    frame = refresh_log_frame(tmp_path, current)
    assert frame["started_at"].tolist() == [datetime(2026, 12, 1, 10, 0, 0), datetime(2026, 12, 1, 10, 0, 5, 250_000)]
    assert frame.sort_values("started_at", ascending=False)["run_id"].iloc[0] == "20261201T100005Z-bbbbbb"
