"""``pmf``: the command line of the quarterly refresh.

Exit status of ``pmf refresh``: 0 success; 2 input rejected (validation report written, nothing
published); 1 any other failure (the previous outputs stay as they were). Errors are reported
as one clear message; the full technical detail goes to ``<marts-dir>/logs/``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_REJECTED = 0, 1, 2


def prefect_environment(home: Path) -> None:
    """Quiet, offline Prefect defaults (any the user has set are kept).

    Without a server Prefect starts a temporary local API; these settings keep it from phoning
    home and give its SQLite database time to start without "database is locked" noise.
    """
    home = Path(os.environ.get("PREFECT_HOME", home)).resolve()
    home.mkdir(parents=True, exist_ok=True)
    defaults = {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "60",
        "PREFECT_LOGGING_LEVEL": "CRITICAL",  # pmf prints its own progress and one clear error
        "PREFECT_LOGGING_LOG_PRINTS": "false",
        "GX_ANALYTICS_ENABLED": "False",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pmf",
        description="Hartlepool Safeguarding Children Board performance-management framework: "
        "turn each quarter's agency extracts into PMF indicators, analysts' marts and the board workbook.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "refresh",
        help="run the quarterly refresh (ingest, validate, stage, indicators, status, marts, workbook)",
        description="Run the whole quarterly refresh as a Prefect flow. Exit status: 0 success; "
        "2 input rejected (validation report written, nothing published); 1 any other failure. "
        "A failure never changes the previously published outputs.",
    )
    run.add_argument("--raw-dir", type=Path, default=Path("data/raw"), help="period folders of extracts (default: data/raw)")
    run.add_argument("--marts-dir", type=Path, default=Path("data/marts"), help="where outputs are published (default: data/marts)")
    run.add_argument("--period", metavar="LABEL", help="the quarter the board pack is for, e.g. '2019-20 Q4' (default: the latest period folder)")
    run.add_argument("--board-la", metavar="LA_CODE", help="ONS code of the board's LA (default from pmf.toml: E06000001 Hartlepool)")
    run.add_argument("--config", type=Path, help="settings file (default: pmf.toml in the project, if present)")

    demo = commands.add_parser(
        "demo",
        help="write the built-in synthetic demo extracts (4 Tees LAs, 2017-18 Q1 to 2019-20 Q4)",
        description="Write deterministic synthetic extracts (realistically messy, within the contract) and "
        "the population reference. Contains no real person's data.",
    )
    demo.add_argument("--raw-dir", type=Path, default=Path("data/raw"), help="where to write period folders (default: data/raw)")
    demo.add_argument("--reference-dir", type=Path, default=Path("data/reference"), help="where to write population.csv")
    demo.add_argument("--las", type=int, default=4, help="number of LAs (4 = the Tees LAs; more adds synthetic LAs)")
    demo.add_argument("--seed", type=int, default=20170401, help="random seed (same seed, same files)")

    suites = commands.add_parser("suites", help="regenerate the GX suites in expectations/ from the extract contract")
    suites.add_argument("--check", action="store_true", help="only check that the committed suites are current")

    docs = commands.add_parser("docs", help="regenerate docs/extracts.md and docs/indicators.md from the contract and the registry")
    docs.add_argument("--check", action="store_true", help="only check that the committed docs are current")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"refresh": _refresh, "demo": _demo, "suites": _suites, "docs": _docs}
    return handlers[args.command](args)


def _refresh(args: argparse.Namespace) -> int:
    marts_dir = args.marts_dir.resolve()
    log_dir = marts_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"refresh-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"
    logging.basicConfig(filename=log_path, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    prefect_environment(marts_dir.parent / ".prefect")

    from pipelines import preflight
    from pipelines.publish import RefreshAlreadyRunning
    from pipelines.refresh import InputRejected, progress

    try:
        try:  # every check that needs no extract, all problems at once, before Prefect starts
            settings = preflight.load_checked_settings(
                args.config, board_la_code=args.board_la, raw_dir=args.raw_dir, period=args.period
            )
        except preflight.PreflightFailed as failure:
            _record_preflight_failure(marts_dir, failure)
            raise
        progress(f"pmf refresh: {args.raw_dir} -> {marts_dir}")
        from pipelines.flows import quarterly_refresh

        summary = quarterly_refresh(
            raw_dir=args.raw_dir.resolve(), marts_dir=marts_dir, settings=settings, period=args.period
        )
    except preflight.PreflightFailed as failure:
        logging.getLogger("pmf").error("preflight: %s", failure)
        print(f"pmf refresh: {failure}", file=sys.stderr)
        return EXIT_REJECTED if failure.is_input else EXIT_FAILED
    except InputRejected as rejection:
        print(f"pmf refresh: input rejected\n{rejection}", file=sys.stderr)
        return EXIT_REJECTED
    except RefreshAlreadyRunning as error:
        print(f"pmf refresh: {error}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # the one place a bug becomes a message and an exit status
        logging.getLogger("pmf").error("refresh failed:\n%s", traceback.format_exc())
        print(f"pmf refresh failed: {error}\n(the previous outputs are unchanged; details in {log_path})", file=sys.stderr)
        return EXIT_FAILED
    for line in summary.lines():
        progress(line)
    return EXIT_OK


def _record_preflight_failure(marts_dir: Path, failure: Exception) -> None:
    """A refresh stopped by its checks is a run too: one line in the run log."""
    from pipelines.preflight import PreflightFailed
    from pipelines.publish import new_run_id
    from pipelines.refresh import RefreshSummary, append_run_record, run_record

    outcome = "rejected" if isinstance(failure, PreflightFailed) and failure.is_input else "failed"
    append_run_record(marts_dir, run_record(RefreshSummary(run_id=new_run_id(), period=""), outcome, str(failure)))


def _demo(args: argparse.Namespace) -> int:
    from pipelines.demo import generate_demo

    print(f"pmf demo: writing synthetic extracts for {args.las} LAs into {args.raw_dir} (no real person's data)")
    summary = generate_demo(args.raw_dir, args.reference_dir, n_las=args.las, seed=args.seed)
    print(f"  files written: {summary.files_written}")
    for extract, rows in summary.rows_per_extract.items():
        print(f"  {extract:<28} {rows:>9,} rows")
    print(f"  planted invalid rows: {summary.planted_count:,} (listed in {args.raw_dir / '_demo' / 'planted_errors.csv'})")
    print(f"  population estimates: {args.reference_dir / 'population.csv'}")
    return EXIT_OK


def _suites(args: argparse.Namespace) -> int:
    from pipelines.validate import SUITES_DIR, stale_suites, write_suites

    if args.check:
        stale = stale_suites(SUITES_DIR)
        for name in stale:
            print(f"stale or missing suite: expectations/{name}.json (run `pmf suites`)", file=sys.stderr)
        return EXIT_FAILED if stale else EXIT_OK
    for path in write_suites(SUITES_DIR):
        print(f"wrote {path}")
    return EXIT_OK


def _docs(args: argparse.Namespace) -> int:
    from pipelines.docs import stale_docs, write_docs

    if args.check:
        stale = stale_docs()
        for path in stale:
            print(f"{path} is out of date (run `pmf docs`)", file=sys.stderr)
        return EXIT_FAILED if stale else EXIT_OK
    for path in write_docs():
        print(f"wrote {path}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
