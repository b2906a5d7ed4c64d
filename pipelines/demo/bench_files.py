"""Big valid extract files for the intake benchmark (``benchmarks/bench_intake.py``).

    write_extract_rows("police_da_incidents", 1_000_000, path, quarter=q)

Unlike the demo these rows are independent synthetic records: no people pool, no messiness.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.config import TEES_LAS
from pipelines.contract import Extract, get_extract
from pipelines.demo.world import SECONDS_PER_DAY, day_number, nhs_check_digit, seeded_rng
from pipelines.periods import Quarter

_BENCH_PREFIX = {"la_early_help_assessments": "EHA", "la_cp_plans": "CPP", "la_cla_episodes": "CLA",
                 "la_missing_episodes": "MEP", "la_vemt_screenings": "VS", "police_da_incidents": "DA",
                 "police_missing_reports": "MR", "health_ae_attendances": "AE", "health_treatment_episodes": "TE"}
_BENCH_TEXT = {"factors": ["3A;16A", "19B", "1B;2B", "21"], "reason_episode_ceased": ["E13", "E4A", "X1", "E8"]}


def write_extract_rows(extract_name: str, n_rows: int, path: Path, *, quarter: Quarter, seed: int = 0,
                       chunk_rows: int = 200_000) -> None:
    """Write one large valid CSV of ``n_rows`` rows of an extract for ``quarter`` (benchmarks).

    Rows are independent synthetic records (no people pool, no messiness): UTF-8, contract
    header, ISO dates, every row valid. Memory is bounded by ``chunk_rows``. Keys depend only on
    the row number, so files stay consistent: ``police_da_children`` row i belongs to incident
    i // 2 of a ``police_da_incidents`` file written for the same quarter with at least
    ceil(n_rows / 2) rows.
    """
    extract, path = get_extract(extract_name), Path(path)
    if path.suffix.lower() != ".csv":
        raise ValueError(f"write_extract_rows writes CSV only; got {path.name!r}")
    if n_rows < 0 or chunk_rows < 1:
        raise ValueError("n_rows must be >= 0 and chunk_rows >= 1")
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for number, start in enumerate(range(0, max(n_rows, 1), chunk_rows)):
            index = np.arange(start, min(start + chunk_rows, n_rows))
            chunk = _bench_chunk(extract, index, quarter, seeded_rng(seed, "bench", extract_name, number))
            chunk.to_csv(handle, index=False, header=start == 0, lineterminator="\n")


def _bench_chunk(extract: Extract, index: np.ndarray, q: Quarter, rng: np.random.Generator) -> pd.DataFrame:
    n, lo = len(index), day_number(q.start_date) * SECONDS_PER_DAY
    hi = (day_number(q.end_date) + 1) * SECONDS_PER_DAY - 1
    parent = index // 2 if extract.parent else index
    # An incident's time depends only on its number, so its child rows can be dated without it.
    golden = (parent * 0.6180339887498949) % 1.0
    root = lo + (golden * (hi - lo - SECONDS_PER_DAY)).astype(np.int64)
    if extract.name != "police_da_incidents" and not extract.parent:
        root = rng.integers(lo, hi - SECONDS_PER_DAY, n)
    times: dict[str, np.ndarray] = {}  # seconds; -1 = blank
    for c in extract.columns:
        if c.type in ("date", "datetime") and c.identifier != "dob":
            value = root if c.not_before is None else np.where(
                times[c.not_before] < 0, -1, times[c.not_before] + (rng.random(n) * (hi - times[c.not_before])))
            value = np.asarray(value, dtype=np.int64)
            if not c.required:
                value = np.where(rng.random(n) < 0.3, -1, value)
            times[c.name] = value // SECONDS_PER_DAY * SECONDS_PER_DAY if c.type == "date" else value
    out: dict[str, np.ndarray] = {}
    for c in extract.columns:
        if c.name in times or c.identifier == "dob":
            if c.identifier == "dob":
                compared = times.get(extract.date_compared_with_dob or "", root) // SECONDS_PER_DAY
                oldest = 25 if extract.name == "health_ae_attendances" else 18
                value = (compared - rng.integers(0, oldest * 365 - 1, n)) * SECONDS_PER_DAY
            else:
                value = times[c.name]
            text = np.datetime_as_string(value.astype("datetime64[s]"), unit="D" if c.type == "date" else "m")
            out[c.name] = np.where(value < 0, "", np.strings.replace(text, "T", " "))
        elif c.type == "code":
            out[c.name] = np.array(c.codes)[rng.integers(0, len(c.codes), n)]
            if c.required_when:
                out[c.name] = np.where(times[c.required_when] < 0, "", out[c.name])
            elif not c.required:
                out[c.name] = np.where(rng.random(n) < 0.2, "", out[c.name])
        elif c.type == "la_code":
            out[c.name] = np.array(list(TEES_LAS))[rng.integers(0, len(TEES_LAS), n)]
        elif c.identifier == "nhs_number":
            prefix = rng.integers(900_000_000, 999_999_990, n)
            check = nhs_check_digit(prefix)
            while (check == 10).any():
                prefix = np.where(check == 10, prefix + 1, prefix)
                check = nhs_check_digit(prefix)
            value = (prefix * 10 + check).astype(str)
            out[c.name] = value if c.required else np.where(rng.random(n) < 0.2, "", value)
        elif c.name == extract.key[0] and not extract.parent:
            out[c.name] = np.strings.add(_BENCH_PREFIX[extract.name], np.char.zfill(index.astype(str), 10))
        elif extract.parent and c.name == extract.parent.on:
            out[c.name] = np.strings.add("DA", np.char.zfill(parent.astype(str), 10))
        elif c.identifier == "person_id":
            prefix = {"child_id": "", "client_id": "C"}.get(c.name, "CP")
            number = index if c.name in extract.key else rng.integers(0, 10**7, n)
            out[c.name] = np.strings.add(prefix, np.char.zfill(number.astype(str), 10 if prefix == "CP" else 7))
        else:
            out[c.name] = np.array(_BENCH_TEXT[c.name])[rng.integers(0, 4, n)]
            out[c.name] = np.where(rng.random(n) < 0.3, "", out[c.name])
    return pd.DataFrame(out)
