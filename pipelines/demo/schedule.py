"""Which quarters' files send each record, and what each file knows of it.

A record is in every quarter's file from the quarter of its start to the quarter its last date
falls in, with dates after the period end left blank (open plans and care episodes, in-progress
assessments, treatment not started or not ended, children not yet found, interviews not yet
held). About 2% of records (events in a quarter's last three weeks) are recorded late: first
sent the quarter after.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.contract import get_extract, load_contract
from pipelines.demo.world import World
from pipelines.periods import Quarter

LATE_SHARE = 0.02

# Dates filled in only once they have happened: (column, {dependent column: value while hidden}).
REVEALS: dict[str, list[tuple[str, dict[str, object]]]] = {
    "la_early_help_assessments": [("assessment_completed_date", {})],
    "la_cp_plans": [("plan_end_date", {})],
    "la_cla_episodes": [("episode_end_date", {"reason_episode_ceased": None})],
    "la_missing_episodes": [("missing_end", {"rhi_offered": "N", "rhi_accepted": None, "rhi_date": None}),
                            ("rhi_date", {"rhi_accepted": None})],
    "police_missing_reports": [("found_at", {})],
    "health_treatment_episodes": [("treatment_start_date", {"discharge_date": None, "discharge_reason": None}),
                                  ("discharge_date", {"discharge_reason": None})],
}
_ANCHORS = {"la_early_help_assessments": "assessment_start_date"}  # sent from the start, not the event


def _schedule_extract(w: World, name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``_first``/``_last``: the quarters whose files carry the record."""
    extract = get_extract(name)
    dated = frame[_ANCHORS.get(name, extract.event_date or "")].to_numpy()
    anchor = w.qidx(dated)
    # Late recording: events in the last three weeks of a quarter that missed its extract.
    next_start = ((dated.astype("datetime64[M]").astype(np.int64) - 3) // 3 * 3 + 6).astype("datetime64[M]")
    near_end = next_start.astype("datetime64[D]") - dated.astype("datetime64[D]") <= np.timedelta64(21, "D")
    late = w.rng("late", name).random(len(frame)) < LATE_SHARE * 91 / 21
    late &= near_end & (anchor >= 0) & (anchor < w.n_quarters - 1)
    first, last = np.maximum(anchor, 0) + late, anchor + late
    for column, _ in REVEALS.get(name, []):
        values = frame[column].to_numpy()
        last = np.maximum(last, np.where(np.isnat(values), last, np.minimum(w.qidx(values), w.n_quarters - 1)))
    frame = frame.assign(_first=first, _last=np.where(last >= 0, np.maximum(last, first), last))
    return frame[(frame["_last"] >= 0) & (frame["_first"] < w.n_quarters)].reset_index(drop=True)


def rows_in_quarter(name: str, frame: pd.DataFrame, k: int, quarter: Quarter) -> pd.DataFrame:
    """The records quarter k sends, as known at its end (later dates blank)."""
    rows = frame[(frame["_first"] <= k) & (frame["_last"] >= k)].copy()
    cutoff = np.datetime64(quarter.end_date) + np.timedelta64(1, "D")
    for column, dependents in REVEALS.get(name, []):
        hidden = rows[column].to_numpy() >= cutoff
        rows.loc[hidden, column] = pd.NaT
        for dependent, value in dependents.items():
            rows.loc[hidden, dependent] = value
    return rows


def schedule(w: World, records: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Every extract's records, in the contract's order, with the quarters whose files send them
    (``_first``..``_last``); the children present at an incident are sent once, with its first file."""
    scheduled = {name: _schedule_extract(w, name, frame) for name, frame in records.items()
                 if name != "police_da_children"}
    sent = scheduled["police_da_incidents"].set_index("incident_id")
    children = records["police_da_children"]
    children = children[children["incident_id"].isin(sent.index)]
    scheduled["police_da_children"] = children.assign(
        _first=sent.loc[children["incident_id"], "_first"].to_numpy(),
        _last=sent.loc[children["incident_id"], "_first"].to_numpy()).reset_index(drop=True)
    return {name: scheduled[name] for name in load_contract()}
