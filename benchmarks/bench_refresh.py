"""Whole-refresh benchmarks for issue 8's targets, each printed side by side with its yardstick in
one run (a script that prints; nothing here is a test):

  (a) ``region``: a cold full refresh (no kept state) of a ``pmf demo --las N`` world against a bare
      DuckDB load of the same files, with the peak RSS of the refresh's whole process tree;
  (b) ``region``: one new quarter (one new period folder, the rest unchanged and already refreshed)
      against that cold full refresh;
  (c) ``demo``: the demo's rerun through the README's main command (``./scripts/refresh-demo.sh``)
      against a bare DuckDB load of the demo files.

    .venv/bin/python benchmarks/bench_refresh.py demo
    .venv/bin/python benchmarks/bench_refresh.py region --las 30 --work /tmp/pmf-bench
    .venv/bin/python benchmarks/bench_refresh.py all --las 30

The bare load is what any loader must at least do: one DuckDB table per file, every column as
text (``read_csv(..., all_varchar = true)`` for CSV; python-calamine into Arrow for XLSX, as
DuckDB has no XLSX reader), into an on-disk database, in a fresh Python process. Every timing is
a fresh process (interpreter start included), so both sides pay the same start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
PMF = str(Path(sys.executable).with_name("pmf"))

BARE_LOAD = r"""
import sys, time
from pathlib import Path
import duckdb, pyarrow as pa, python_calamine
raw, db = Path(sys.argv[1]), sys.argv[2]
con = duckdb.connect(db)
files = rows = 0
for folder in sorted(p for p in raw.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
    for path in sorted(folder.iterdir()):
        table = f'"{folder.name}/{path.stem}"'
        if path.suffix == ".csv":
            options = "all_varchar = true, header = true, strict_mode = false, delim = ',', quote = '\"', escape = '\"'"
            try:
                con.execute(f"create table {table} as select * from read_csv('{path}', {options})")
            except duckdb.Error:  # Windows-1252 text, which DuckDB cannot decode: transcode it first
                utf8 = Path(db + ".csv")
                utf8.write_text(path.read_text(encoding="cp1252"), encoding="utf-8")
                con.execute(f"create table {table} as select * from read_csv('{utf8}', {options})")
                utf8.unlink()
        elif path.suffix == ".xlsx":
            cells = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
            header, body = [str(c) for c in cells[0]], cells[1:]
            arrow = pa.table({name: pa.array([None if r[i] == "" else str(r[i]) for r in body], pa.string())
                              for i, name in enumerate(header)})
            con.execute(f"create table {table} as select * from arrow")
        else:
            continue
        files += 1
        rows += con.execute(f"select count(*) from {table}").fetchone()[0]
con.close()
print(f"{files} {rows}")
"""


class TreeRss:
    """Peak of the summed resident memory of a process and all its descendants (sampled), plus
    that of other process trees it uses (the warm Dask workers: ``also``)."""

    def __init__(self, pid: int, every: float = 0.1, also: tuple[int, ...] = ()) -> None:
        self.pid, self.every, self.peak, self.also = pid, every, 0, also
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as handle:
                        parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
                except OSError:
                    continue
        tree, frontier = [self.pid, *self.also], [self.pid, *self.also]
        while frontier:
            frontier = [child for child, parent in parents.items() if parent in frontier]
            tree += frontier
        return tree

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for pid in self._tree():
                try:
                    with open(f"/proc/{pid}/status") as handle:
                        total += next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:")) * 1024
                except (OSError, StopIteration):
                    continue
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def timed(
    command: list[str], *, env: dict | None = None, cwd: Path = REPO, log: Path | None = None, also: tuple[int, ...] = ()
) -> tuple[float, int, str]:
    """Wall seconds, peak tree RSS (with the ``also`` process trees) and stdout of one command (which must succeed)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rss = TreeRss(process.pid, also=also)
    output, _ = process.communicate()
    seconds = time.perf_counter() - started
    peak = rss.stop()
    if log:
        log.write_text(output)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{output[-3000:]}")
    return seconds, peak, output


def bare_load(raw_dir: Path, work: Path) -> tuple[float, int, str]:
    db = work / "bare.duckdb"
    db.unlink(missing_ok=True)
    seconds, peak, output = timed([PYTHON, "-c", BARE_LOAD, str(raw_dir), str(db)])
    db.unlink(missing_ok=True)
    files, rows = output.split()[-2:]
    return seconds, peak, f"{int(files):,} files, {int(rows):,} rows"


def warm_worker_pids(work: Path) -> tuple[int, ...]:
    """The warm Dask workers' processes (scheduler, nanny; the workers are the nanny's children)."""
    try:
        return tuple(json.loads((work / ".prefect" / "pmf-dask.json").read_text())["pids"])
    except (OSError, ValueError, KeyError):
        return ()


def refresh(raw_dir: Path, marts_dir: Path, config: Path | None, extra: list[str], log: Path) -> tuple[float, int]:
    command = [PMF, "refresh", "--raw-dir", str(raw_dir), "--marts-dir", str(marts_dir), *extra]
    if config:
        command += ["--config", str(config)]
    seconds, peak, _ = timed(command, env=os.environ.copy(), log=log, also=warm_worker_pids(marts_dir.parent))
    return seconds, peak


def _row(label: str, seconds: float, peak: int | None = None, note: str = "") -> str:
    memory = f"  peak RSS {peak / 2**30:5.2f} GiB" if peak else ""
    return f"    {label:<46} {seconds:7.1f} s{memory}  {note}"


def _verdict(ratio: float, target: float, reverse: bool = False) -> str:
    return f"{ratio:.2f}x (target <= {target:.2f}x: {'met' if ratio <= target else 'NOT met'})"


def machine() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"


def bench_demo(work: Path) -> dict:
    """(c): the README main command, rerun, against a bare DuckDB load of the demo files."""
    raw = REPO / "data" / "raw"
    print(f"(c) demo rerun through ./scripts/refresh-demo.sh vs a bare DuckDB load  [{machine()}]")
    print("    (first, untimed: the README command once, so that what is timed is a rerun)")
    timed(["bash", "scripts/refresh-demo.sh"], log=work / "demo-first.log")
    bare_seconds, _, what = bare_load(raw, work)
    rerun_seconds, rerun_peak, _ = timed(["bash", "scripts/refresh-demo.sh"], log=work / "demo-rerun.log")
    ratio = rerun_seconds / bare_seconds
    print(_row(f"bare DuckDB load ({what})", bare_seconds))
    print(_row("./scripts/refresh-demo.sh (rerun)", rerun_seconds, rerun_peak, _verdict(ratio, 1.0)))
    return {"bare_s": bare_seconds, "rerun_s": rerun_seconds, "ratio": ratio, "rerun_peak_rss": rerun_peak}


def bench_region(work: Path, n_las: int, workers: int | None) -> dict:
    """(a) and (b): cold full refresh vs bare load; one new quarter vs the cold full refresh."""
    raw, reference = work / f"raw{n_las}", work / f"ref{n_las}"
    if not (raw / "2019-20-Q4").exists():
        print(f"    (writing the {n_las}-LA demo world into {raw}: untimed)")
        subprocess.run([PMF, "demo", "--las", str(n_las), "--raw-dir", str(raw), "--reference-dir", str(reference)], check=True, stdout=subprocess.DEVNULL)
    for name in ("work_plan.csv", "plan_line_updates.csv"):
        shutil.copy(REPO / "data" / "reference" / name, reference / name)
    config = work / "bench.toml"
    config.write_text(f'reference_dir = "{reference}"\n')
    extra = ["--workers", str(workers)] if workers else []
    # As a region would run it: against a Prefect server and warm Dask workers that are already up
    # (`pmf server start`; their state is in <work>/.prefect, shared by every marts folder below
    # <work>). With --workers N the refreshes use N new local processes each instead.
    subprocess.run([PMF, "server", "start", "--marts-dir", str(work / "marts-cold")], check=True, stdout=subprocess.DEVNULL)
    where = f"{workers} local processes (--workers {workers})" if workers else "the warm Dask workers of `pmf server start`"
    print(f"    (intake on {where}; memory includes the workers)")
    periods = sorted(p.name for p in raw.iterdir() if p.is_dir() and p.name[:2] == "20")
    print(f"(a) cold full refresh of the {n_las}-LA world vs a bare DuckDB load  [{machine()}]")
    bare_seconds, bare_peak, what = bare_load(raw, work)
    cold_marts = work / "marts-cold"
    shutil.rmtree(cold_marts, ignore_errors=True)
    cold_seconds, cold_peak = refresh(raw, cold_marts, config, extra, work / "cold.log")
    print(_row(f"bare DuckDB load ({what})", bare_seconds, bare_peak))
    print(_row("pmf refresh, cold (no kept state)", cold_seconds, cold_peak, _verdict(cold_seconds / bare_seconds, 3.0)))
    print(f"    peak RSS target <= 4 GiB: {'met' if cold_peak <= 4 * 2**30 else 'NOT met'}")

    print(f"(b) one new quarter ({periods[-1]}) vs the cold full refresh  [{machine()}]")
    grown, marts = work / "raw-grown", work / "marts-incremental"
    shutil.rmtree(grown, ignore_errors=True)
    shutil.rmtree(marts, ignore_errors=True)
    grown.mkdir()
    for period in periods[:-1]:
        (grown / period).symlink_to(raw / period)
    refresh(grown, marts, config, extra, work / "before-new-quarter.log")  # untimed: last quarter's refresh
    (grown / periods[-1]).symlink_to(raw / periods[-1])
    new_seconds, new_peak = refresh(grown, marts, config, extra, work / "new-quarter.log")
    print(_row("pmf refresh, cold (above)", cold_seconds, cold_peak))
    print(_row("pmf refresh, one new quarter", new_seconds, new_peak, _verdict(new_seconds / cold_seconds, 0.25)))
    return {
        "n_las": n_las, "bare_s": bare_seconds, "bare_rows": what, "cold_s": cold_seconds, "cold_peak_rss": cold_peak,
        "new_quarter_s": new_seconds, "cold_over_bare": cold_seconds / bare_seconds, "new_over_cold": new_seconds / cold_seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", choices=["demo", "region", "all"])
    parser.add_argument("--las", type=int, default=30, help="LAs in the region world (default 30)")
    parser.add_argument(
        "--workers", type=int,
        help="pmf refresh --workers N: N new local processes a refresh (default: pmf refresh's default, the warm "
        "Dask workers that `pmf server start` starts)",
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/pmf-bench"), help="scratch folder (the world is kept there)")
    parser.add_argument("--json", type=Path, help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine()}
    if args.which in ("region", "all"):
        results["region"] = bench_region(args.work, args.las, args.workers)
    if args.which in ("demo", "all"):
        results["demo"] = bench_demo(args.work)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
