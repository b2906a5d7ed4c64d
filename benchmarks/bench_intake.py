"""Benchmark intake (read + normalise, validate, load) on one big extract file or the demo data.

Not a test: it prints throughput and peak memory so that changes to ``pipelines.ingest``,
``pipelines.validate``, ``pipelines.batch`` and ``pipelines.intake`` can be compared on the
same machine.

    python benchmarks/bench_intake.py                              # 1,000,000 rows of police_missing_reports, CSV
    python benchmarks/bench_intake.py --rows 250000 --format xlsx
    python benchmarks/bench_intake.py --extract police_da_children  # also writes the incidents it needs
    python benchmarks/bench_intake.py --demo                       # the demo data set: 4 LAs x 12 quarters
    python benchmarks/bench_intake.py --demo --las 12              # a pan-regional demo set
    python benchmarks/bench_intake.py --profile /tmp/intake.prof   # cProfile of the intake call

The input files are written first, in a separate process, so the peak RSS reported is that of
intake alone (plus the interpreter, pandas, DuckDB and Great Expectations, shown as "baseline").
Intake runs against a DuckDB work database on disk, as in a real refresh. Time is split into
phases by wrapping the functions ``pipelines.intake.intake`` calls; the wrappers cost next to
nothing. ``--tracemalloc`` adds the peak of Python-level allocations (slow: expect 2-3x).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import multiprocessing
import os
import pstats
import resource
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

QUARTER = "2018-19 Q3"


# --------------------------------------------------------------------------- input files


def _write_big_extract(extract_name: str, rows: int, folder: Path, fmt: str) -> None:
    """One valid file of ``rows`` rows (plus its parent extract's file for a child extract)."""
    from pipelines.contract import get_extract
    from pipelines.demo.bench_files import write_extract_rows
    from pipelines.periods import Quarter

    quarter = Quarter.parse(QUARTER)
    folder.mkdir(parents=True, exist_ok=True)
    extract = get_extract(extract_name)
    files = [(extract_name, rows)]
    if extract.parent:  # child row i belongs to parent row i // 2
        files.insert(0, (extract.parent.extract, math.ceil(rows / 2)))
    for name, n in files:
        csv_path = folder / f"{name}.csv"
        write_extract_rows(name, n, csv_path, quarter=quarter)
        if fmt == "xlsx":
            csv_to_xlsx(csv_path, folder / f"{name}.xlsx", get_extract(name))
            csv_path.unlink()


def csv_to_xlsx(csv_path: Path, xlsx_path: Path, extract, chunk_rows: int = 100_000) -> None:
    """Stream a benchmark CSV into a one-sheet workbook (the demo's XLSX writer); dates become
    real Excel dates (as most partner workbooks have them), everything else inline text."""
    import pandas as pd

    from pipelines.demo.xlsx import write_xlsx

    kinds = {c.name: c.type for c in extract.columns}

    def cell_values(values: pd.Series, kind: str) -> list[object]:
        if kind not in ("date", "datetime"):
            return [value or None for value in values]
        parsed = pd.to_datetime(values, errors="coerce")  # blank -> NaT
        return [None if pd.isna(t) else t.date() if kind == "date" else t.to_pydatetime() for t in parsed]

    def rows():
        yield 1, list(kinds)
        number = 1
        for chunk in pd.read_csv(csv_path, dtype=str, keep_default_na=False, chunksize=chunk_rows):
            columns = [cell_values(chunk[name], kind) for name, kind in kinds.items()]
            for cells in zip(*columns, strict=True):
                number += 1
                yield number, cells

    write_xlsx(xlsx_path, rows(), zip64=True)


def _write_demo(raw_dir: Path, reference_dir: Path, n_las: int) -> None:
    from pipelines.demo.generate import generate_demo

    generate_demo(raw_dir, reference_dir, n_las=n_las)


def _in_subprocess(target, *args) -> None:
    """Run ``target`` in a fresh process so its memory does not count towards intake's peak."""
    process = multiprocessing.get_context("spawn").Process(target=target, args=args)
    process.start()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"writing the input files failed (exit code {process.exitcode})")


# --------------------------------------------------------------------------- measuring


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


class Phases:
    """Wall time and peak RSS per phase; phases nest (a phase's own time excludes its children's)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.peak_rss: dict[str, int] = defaultdict(int)
        self.stack: list[str] = ["other"]
        self.started: list[float] = [time.perf_counter()]
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            rss, phase = _rss_bytes(), self.stack[-1]
            self.peak_rss[phase] = max(self.peak_rss[phase], rss)

    def __enter__(self) -> Phases:
        self.started = [time.perf_counter()]
        self._sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._charge()
        self._stop.set()
        self._sampler.join()

    def _charge(self) -> None:
        now = time.perf_counter()
        self.seconds[self.stack[-1]] += now - self.started[-1]
        self.started[-1] = now

    @contextmanager
    def phase(self, name: str):
        self._charge()
        self.stack.append(name)
        self.started.append(time.perf_counter())
        try:
            yield
        finally:
            self._charge()
            self.stack.pop()
            self.started.pop()
            self.started[-1] = time.perf_counter()

    def wrap(self, module, attribute: str, name: str) -> None:
        original = getattr(module, attribute)

        def timed(*args, **kwargs):
            with self.phase(name):
                return original(*args, **kwargs)

        setattr(module, attribute, timed)

    def wrap_generator(self, owner, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            iterator = original(*args, **kwargs)
            while True:
                with self.phase(name):
                    try:
                        item = next(iterator)
                    except StopIteration:
                        return
                yield item

        setattr(owner, attribute, timed)


def instrument(phases: Phases) -> None:
    """Time the steps of ``pipelines.intake.intake`` (see ``Phases``), in one process."""
    from pipelines import batch, ingest, intake, validate

    phases.wrap(intake, "sha256_of", "read: sha256")
    phases.wrap_generator(ingest.FileReader, "chunks", "read: parse")
    phases.wrap(batch, "normalise_values", "read: normalise")  # batch normalises a whole batch at once
    phases.wrap(batch, "validate_chunks", "validate: outcome + quarantine")
    phases.wrap(validate, "prepare", "validate: prepare derived columns")
    phases.wrap(validate._Validator, "run", "validate: GX")
    phases.wrap(batch, "_write_entry", "keep: write entries (Parquet)")
    phases.wrap(intake, "load_raw_tables", "load: DuckDB from entries")


def run_intake(raw_dir: Path, work_path: Path, chunk_rows: int, profile: Path | None, trace: bool) -> dict:
    import duckdb

    from pipelines import validate
    from pipelines.intake import intake

    setup = time.perf_counter()
    validate._validator()  # GX import and context: paid once per process, reported apart
    setup = time.perf_counter() - setup
    con = duckdb.connect()
    con.execute(f"attach '{work_path}' as work")
    baseline_rss = _rss_bytes()
    phases = Phases()
    instrument(phases)
    profiler = cProfile.Profile() if profile else None
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with phases:
        if profiler:
            profiler.enable()
        result = intake(raw_dir, con, chunk_rows=chunk_rows, progress=lambda message: None)
        if profiler:
            profiler.disable()
    seconds = time.perf_counter() - started
    traced_peak = tracemalloc.get_traced_memory()[1] if trace else None
    if trace:
        tracemalloc.stop()
    con.close()
    if profiler:
        profiler.dump_stats(profile)
    received = sum(report.rows_received for report in result.files)
    return {
        "files": len(result.files),
        "rejected": len(result.rejected),
        "rows": received,
        "rows_staged": sum(report.rows_staged for report in result.files),
        "rows_quarantined": sum(report.rows_quarantined for report in result.files),
        "seconds": seconds,
        "rows_per_second": received / seconds if seconds else float("nan"),
        "gx_setup_seconds": setup,
        "baseline_rss_mib": baseline_rss / 2**20,
        "peak_rss_mib": _max_rss_bytes() / 2**20,
        "tracemalloc_peak_mib": traced_peak / 2**20 if traced_peak is not None else None,
        "phases": {
            name: {"seconds": phases.seconds[name], "peak_rss_mib": phases.peak_rss.get(name, 0) / 2**20}
            for name in sorted(phases.seconds, key=lambda n: (n == "other", n))
        },
    }


# --------------------------------------------------------------------------- report


def _print(run: dict, label: str) -> None:
    print(f"\n{label}")
    print(f"  load average (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"  files: {run['files']} ({run['rejected']} rejected)")
    print(f"  rows: {run['rows']:,} received = {run['rows_staged']:,} staged + {run['rows_quarantined']:,} quarantined")
    print(f"  intake: {run['seconds']:.1f} s, {run['rows_per_second']:,.0f} rows/s (GX setup before it: {run['gx_setup_seconds']:.1f} s)")
    print(f"  peak RSS: {run['peak_rss_mib']:,.0f} MiB (baseline before intake {run['baseline_rss_mib']:,.0f} MiB)")
    if run["tracemalloc_peak_mib"] is not None:
        print(f"  tracemalloc peak (Python allocations during intake): {run['tracemalloc_peak_mib']:,.0f} MiB")
    print(f"  {'phase':<36}{'seconds':>9}{'share':>8}{'peak RSS MiB':>14}")
    for name, phase in run["phases"].items():
        share = phase["seconds"] / run["seconds"] if run["seconds"] else 0
        print(f"  {name:<36}{phase['seconds']:>9.1f}{share:>8.0%}{phase['peak_rss_mib']:>14,.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the big extract file (default 1,000,000)")
    parser.add_argument("--extract", default="police_missing_reports", help="which extract (default police_missing_reports)")
    parser.add_argument("--chunk-rows", type=int, default=200_000, help="intake's chunk_rows (default 200,000)")
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    parser.add_argument("--demo", action="store_true", help="time intake of the generated demo data set instead")
    parser.add_argument("--las", type=int, default=4, help="local authorities in the demo data set (default 4)")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the intake call here")
    parser.add_argument("--tracemalloc", action="store_true", help="also report the peak of Python allocations (slow)")
    parser.add_argument("--json", type=Path, help="also write the numbers as JSON here")
    parser.add_argument("--keep", type=Path, help="write the input files and work database here and keep them")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="pmf-bench-")) if args.keep is None else args.keep
    workdir.mkdir(parents=True, exist_ok=True)
    raw_dir = workdir / "raw"
    try:
        started = time.perf_counter()
        if args.demo:
            label = f"demo data set, {args.las} LAs x 12 quarters, chunk_rows={args.chunk_rows:,}"
            if not raw_dir.exists():
                _in_subprocess(_write_demo, raw_dir, workdir / "reference", args.las)
        else:
            label = f"{args.rows:,} rows of {args.extract} ({args.format}), chunk_rows={args.chunk_rows:,}"
            folder = raw_dir / QUARTER.replace(" ", "-")
            if not folder.exists():
                _in_subprocess(_write_big_extract, args.extract, args.rows, folder, args.format)
        size = sum(p.stat().st_size for p in raw_dir.rglob("*") if p.suffix in (".csv", ".xlsx"))
        print(f"input written in {time.perf_counter() - started:.1f} s: {size / 2**20:,.1f} MiB under {raw_dir}", flush=True)
        work_path = workdir / "work.duckdb"
        work_path.unlink(missing_ok=True)
        run = run_intake(raw_dir, work_path, args.chunk_rows, args.profile, args.tracemalloc)
        run.update(label=label, input_mib=size / 2**20, load_average=os.getloadavg())
        _print(run, label)
        if args.profile:
            print(f"\ncProfile written to {args.profile}; top functions by own time:")
            pstats.Stats(str(args.profile)).sort_stats("tottime").print_stats(15)
        if args.json:
            args.json.write_text(json.dumps(run, indent=2) + "\n")
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
