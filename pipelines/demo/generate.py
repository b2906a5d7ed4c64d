"""``generate_demo``: the demo dataset, written as a sequence of the package's jobs.

The world (:mod:`~pipelines.demo.world`) -> its events (:mod:`~pipelines.demo.simulate`) -> the
quarters that send them (:mod:`~pipelines.demo.schedule`) -> each period's files, with errors
planted (:mod:`~pipelines.demo.plant`) -> written as agencies write them
(:mod:`~pipelines.demo.render`), plus the population reference file and the list of errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipelines.demo.plant import Planter
from pipelines.demo.render import files_for, write_file
from pipelines.demo.schedule import rows_in_quarter, schedule
from pipelines.demo.simulate import simulate
from pipelines.demo.world import build_world, population_table
from pipelines.periods import Quarter
from pipelines.rules import RowRule

DEFAULT_SEED = 20170401
MANIFEST_COLUMNS = ["period", "extract", "file_name", "row_number", "column_name", "rule", "outcome"]


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate_demo` wrote."""

    files_written: int
    rows_per_extract: Mapping[str, int]
    planted_count: int
    planted_by_rule: Mapping[str, int] = field(default_factory=dict)


def generate_demo(raw_dir: Path, reference_dir: Path, *, n_las: int = 4, seed: int = DEFAULT_SEED,
                  first: Quarter = Quarter.parse("2017-18 Q1"), last: Quarter = Quarter.parse("2019-20 Q4"),
                  ) -> DemoSummary:
    """Write a demo dataset and return what was written.

    - ``raw_dir/<period id>/<extract>[--<LA or trust>].csv|xlsx``: all ten extracts for every
      quarter ``first..last`` (extract files already in those folders are replaced, other files
      and folders are left alone, so point it at an empty folder or an earlier demo);
    - ``raw_dir/_demo/planted_errors.csv``: one row per planted error (``MANIFEST_COLUMNS``);
    - ``reference_dir/population.csv``: ``la_code, year, age, persons`` for ages 0-24 and the
      calendar years from ``first``'s start to ``last``'s financial year.

    ``n_las`` 1-4 takes the first Tees LAs; more adds synthetic LAs ``E06000005``... (40 gives a
    pan-regional set about 12 times the volume). Same arguments, same bytes.
    """
    raw_dir, reference_dir = Path(raw_dir), Path(reference_dir)
    w = build_world(n_las, seed, first, last)
    records = schedule(w, simulate(w))
    reference_dir.mkdir(parents=True, exist_ok=True)
    population_table(w).to_csv(reference_dir / "population.csv", index=False, lineterminator="\n")
    planter, manifest = Planter(seed), []
    rows_per_extract = {name: 0 for name in records}
    files_written = 1
    for k, quarter in enumerate(w.quarters):
        folder = raw_dir / quarter.folder_id
        folder.mkdir(parents=True, exist_ok=True)
        for old in sorted(folder.iterdir()):
            if old.suffix in (".csv", ".xlsx") and re.split(r"--|\.", old.name)[0] in records:
                old.unlink()
        submissions = [files_for(w, name, rows_in_quarter(name, frame, k, quarter), k)
                       for name, frame in records.items()]
        split = [files for files in submissions if len(files) > 1]
        for offset in range(len(split)):  # one duplicate key across two files of a submission
            files = split[(k + offset) % len(split)]
            if planter.cross_file_duplicate(files[0][1], files[-1][1], quarter):
                break
        for files in submissions:
            for file_name, f, style in files:
                planter.plant_file(f, quarter)
                header_row = write_file(w, folder / file_name, f, style, k)
                manifest += [(quarter.folder_id, f.extract.name, file_name, header_row + 1 + i, column,
                              str(rule), outcome) for i, column, rule, outcome in f.planted]
                rows_per_extract[f.extract.name] += f.n
                files_written += 1
    manifest_dir = raw_dir / "_demo"
    manifest_dir.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(manifest, columns=MANIFEST_COLUMNS).sort_values(
        ["period", "extract", "file_name", "row_number"], kind="stable")
    table.to_csv(manifest_dir / "planted_errors.csv", index=False, lineterminator="\n")
    by_rule = {str(rule): int((table["rule"] == str(rule)).sum()) for rule in RowRule}
    return DemoSummary(files_written + 1, rows_per_extract, len(table), by_rule)
