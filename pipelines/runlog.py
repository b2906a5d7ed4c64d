"""What every refresh leaves behind, published or not: its summary, one line in the run log
(``<marts-dir>/logs/refresh_log.jsonl``), and the published ``refresh_log`` table made from it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipelines import __version__

LOG_FOLDER = "logs"  # <marts-dir>/logs/: the run log and each refresh's technical log
RUN_LOG = "refresh_log.jsonl"


@dataclass
class RefreshSummary:
    run_id: str
    period: str
    files_read: int = 0
    files_rejected: int = 0
    rows_received: int = 0
    rows_staged: int = 0
    rows_quarantined: int = 0
    indicator_rows: int = 0
    indicator_values_available: int = 0
    outputs: list[Path] = field(default_factory=list)
    inputs_sha256: str = ""
    started_at: float = field(default_factory=time.time)

    def lines(self) -> list[str]:
        return [
            f"Refresh {self.run_id} for {self.period}: done in {time.time() - self.started_at:.1f} s",
            f"  files read:        {self.files_read} ({self.files_rejected} rejected)",
            f"  rows received:     {self.rows_received}",
            f"  rows staged:       {self.rows_staged}",
            f"  rows quarantined:  {self.rows_quarantined}",
            f"  indicator values:  {self.indicator_values_available} of {self.indicator_rows} available "
            f"(indicator x LA x quarter)",
            "  outputs:",
            *[f"    {path}" for path in self.outputs],
        ]


def run_record(summary: RefreshSummary, outcome: str, message: str = "") -> dict:
    """One line of the run log: when, which inputs (sha256), outcome, counts, duration."""
    finished = time.time()
    return {
        "run_id": summary.run_id,
        "started_at": datetime.fromtimestamp(summary.started_at, UTC).isoformat(timespec="milliseconds"),
        "finished_at": datetime.fromtimestamp(finished, UTC).isoformat(timespec="milliseconds"),
        "duration_seconds": round(finished - summary.started_at, 1),
        "board_period": summary.period,
        "outcome": outcome,
        "message": message[:2000],
        "files_read": summary.files_read,
        "files_rejected": summary.files_rejected,
        "rows_received": summary.rows_received,
        "rows_staged": summary.rows_staged,
        "rows_quarantined": summary.rows_quarantined,
        "indicator_values_available": summary.indicator_values_available,
        "inputs_sha256": summary.inputs_sha256,
        "pmf_version": __version__,
    }


def append_run_record(marts_dir: Path, record: dict) -> None:
    """Every run, failed ones included, is appended to ``<marts-dir>/logs/refresh_log.jsonl``."""
    folder = marts_dir / LOG_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / RUN_LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def refresh_log_frame(marts_dir: Path, current: dict) -> pd.DataFrame:
    """``refresh_log``: every earlier run from the run log, plus this one (as published)."""
    path = marts_dir / LOG_FOLDER / RUN_LOG
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] if path.exists() else []
    frame = pd.DataFrame([*records, current])
    for column in ("started_at", "finished_at"):
        # ISO 8601 to the second (run logs before 2026-12-02) or to the millisecond
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601").dt.tz_localize(None)
    return frame
