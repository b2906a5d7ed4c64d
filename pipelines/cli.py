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


def add_refresh_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``pmf refresh``; ``pmf serve`` takes the same ones (a run of the deployment is a refresh)."""
    parser.add_argument("--raw-dir", type=Path, default=Path("data/raw"), help="period folders of extracts (default: data/raw)")
    parser.add_argument("--marts-dir", type=Path, default=Path("data/marts"), help="where outputs are published (default: data/marts)")
    parser.add_argument("--period", metavar="LABEL", help="the quarter the board pack is for, e.g. '2019-20 Q4' (default: the latest period folder)")
    parser.add_argument("--board-la", metavar="LA_CODE", help="ONS code of the board's LA (default from pmf.toml: E06000001 Hartlepool)")
    parser.add_argument("--config", type=Path, help="settings file (default: pmf.toml in the project, if present)")
    parser.add_argument(
        "--workers", type=_positive, default=None, metavar="N",
        help="local processes that read and validate files in parallel (default: the warm Dask workers that "
        f"`pmf server start` started, when they are running; else as many processes as cores, {_cores()})",
    )
    parser.add_argument(
        "--rebuild", action="store_true",
        help="build every output again even when nothing changed since the last publish "
        "(validated files in the kept state are still reused)",
    )
    parser.add_argument(
        "--dask-address", metavar="tcp://HOST:PORT",
        help="run the read-and-validate work on an existing Dask cluster instead (workers must see the raw "
        "and marts folders at the same paths, and reach the Prefect API)",
    )


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
    add_refresh_options(run)

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

    server = commands.add_parser(
        "server",
        help="start, stop or check a local Prefect server in the background (refreshes then skip Prefect's ~15 s start-up)",
        description="Runs Prefect's own `prefect server start --background` on 127.0.0.1 (UI included), with its "
        "state beside the marts (<marts-dir>/../.prefect), and warm Dask workers (distributed's `dask scheduler` and "
        "`dask worker`, also on 127.0.0.1) that keep their imports between refreshes. `pmf refresh` uses the server "
        "while it answers, unless PREFECT_API_URL names another one, and the workers unless --workers or "
        "--dask-address says otherwise.",
    )
    server.add_argument("action", choices=["start", "stop", "status"])
    server.add_argument("--marts-dir", type=Path, default=Path("data/marts"), help="the marts folder whose refreshes use it (default: data/marts)")
    server.add_argument(
        "--workers", type=int, default=_cores(), metavar="N",
        help="start: also start N warm Dask worker processes that refreshes validate on, keeping their imports "
        f"between runs (default: the cores, {_cores()}; 0: none)",
    )

    suites = commands.add_parser("suites", help="regenerate the GX suites in expectations/ from the extract contract")
    suites.add_argument("--check", action="store_true", help="only check that the committed suites are current")

    docs = commands.add_parser("docs", help="regenerate docs/extracts.md and docs/indicators.md from the contract and the registry")
    docs.add_argument("--check", action="store_true", help="only check that the committed docs are current")
    serve = commands.add_parser(
        "serve",
        help="serve the refresh as the Prefect deployment pmf-quarterly-refresh/quarterly, on its schedule, until stopped",
        description="Serve the quarterly refresh as the Prefect deployment pmf-quarterly-refresh/quarterly on the "
        "Prefect server at PREFECT_API_URL, with the cron schedule of the settings (schedule_cron, default the 15th "
        "of the month after each quarter ends, 06:00 Europe/London). Runs scheduled runs and triggered ones "
        "(prefect deployment run pmf-quarterly-refresh/quarterly) until stopped with Ctrl-C. Its options are those "
        "of pmf refresh, and each run uses them. Exit status 1 when no Prefect server is reachable.",
    )
    add_refresh_options(serve)
    _add_lead_form_commands(commands)
    return parser


def _cores() -> int:
    from pipelines.workers import cores

    return cores()


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def _add_lead_form_commands(commands: argparse._SubParsersAction) -> None:
    forms = commands.add_parser(
        "lead-forms",
        help="write one XLSX update form per plan lead (the lines no indicator evidences)",
        description="Write <marts-dir>/lead-forms/lead-form-<period>-<lead>.xlsx for every lead: their lines with "
        "line text, due date and current RAG and commentary. RAG is a drop-down; only RAG, commentary, "
        "'Updated by' and 'Updated on' can be changed. Returned forms go in <reference-dir>/lead-updates/.",
    )
    forms.add_argument("--period", metavar="LABEL", help="the quarter the update is for (default: the latest period folder in --raw-dir, else the last quarter ended)")
    forms.add_argument("--raw-dir", type=Path, default=Path("data/raw"), help="period folders of extracts, for the default period (default: data/raw)")
    forms.add_argument("--marts-dir", type=Path, default=Path("data/marts"), help="forms go in <marts-dir>/lead-forms/ (default: data/marts)")
    forms.add_argument("--config", type=Path, help="settings file (default: pmf.toml in the project, if present)")

    updates = commands.add_parser(
        "lead-updates",
        help="import returned lead update forms into plan_line_updates.csv",
        description="Update plan_line_updates.csv from returned forms. A form with any problem (unknown line, a line "
        "of another lead, a bad RAG, an edited protected cell) is not applied and each problem is listed. "
        "Exit status: 0 every form applied; 2 some form had problems (it was left unapplied).",
    )
    actions = updates.add_subparsers(dest="action", required=True, metavar="ACTION")
    imports = actions.add_parser("import", help="import forms (default: every form in <reference-dir>/lead-updates/)")
    imports.add_argument("files", nargs="*", type=Path, metavar="FILE", help="returned forms (default: the lead-updates/ folder; applied forms move to its imported/ folder)")
    imports.add_argument("--config", type=Path, help="settings file (default: pmf.toml in the project, if present)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"refresh": _refresh, "demo": _demo, "server": _server, "suites": _suites, "docs": _docs,
                "serve": _serve, "lead-forms": _lead_forms, "lead-updates": _lead_updates}
    return handlers[args.command](args)


def _refresh(args: argparse.Namespace, refresh_flow: object = None) -> int:
    from pipelines.runlog import LOG_FOLDER

    marts_dir = args.marts_dir.resolve()
    log_dir = marts_dir / LOG_FOLDER
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
        from pipelines.prefect_api import choose_api

        progress(f"pmf refresh: {args.raw_dir} -> {marts_dir} (reporting to {choose_api()})")
        from pipelines.flows import choose_task_runner, quarterly_refresh, run_flow

        runner, workers = choose_task_runner(args.workers, args.dask_address)
        flow = refresh_flow or quarterly_refresh.with_options(task_runner=runner)
        summary = run_flow(flow(
            raw_dir=args.raw_dir.resolve(), marts_dir=marts_dir, settings=settings, period=args.period, workers=workers,
            rebuild=args.rebuild,
        ))
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


def _serve(args: argparse.Namespace) -> int:
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")  # the runner says when it picks up a run
    prefect_environment(args.marts_dir.resolve().parent / ".prefect")
    from pipelines.config import load_settings

    try:
        settings = load_settings(args.config, board_la_code=args.board_la)
    except (ValueError, OSError) as error:
        print(f"pmf serve: {error}", file=sys.stderr)
        return EXIT_FAILED
    from pipelines.prefect_api import choose_api

    choose_api()  # PREFECT_API_URL, else the server `pmf server start` started
    problem = prefect_server_problem()
    if problem:
        print(f"pmf serve: {problem}.\nStart a Prefect server first, either in the background:\n"
              "    pmf server start\n"
              "or in another terminal (then point pmf at it):\n"
              "    prefect server start\n"
              "    export PREFECT_API_URL=http://127.0.0.1:4200/api\n"
              "and serve again:\n"
              "    pmf serve", file=sys.stderr)
        return EXIT_FAILED
    from pipelines.flows import serve_deployment

    options = refresh_options(args)
    print(f"pmf serve: serving pmf-quarterly-refresh/quarterly ({settings.schedule_cron!r}, {settings.schedule_timezone}) "
          f"with {options}; Ctrl-C stops")
    serve_deployment(options, settings)
    return EXIT_OK


def prefect_server_problem() -> str | None:
    """Why no Prefect server can take a deployment (None when one answers at PREFECT_API_URL)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        return "PREFECT_API_URL is not set, so there is no Prefect server to serve the deployment on"
    with get_client(sync_client=True) as client:
        error = client.api_healthcheck()
    return f"no Prefect server answers at PREFECT_API_URL={url} ({type(error).__name__})" if error else None


def refresh_options(args: argparse.Namespace) -> dict:
    """``pmf refresh`` options as a deployment's parameter (paths made absolute, so a run does not
    depend on the folder the runner works in)."""
    return {key: str(value.resolve()) if isinstance(value, Path) else value
            for key, value in vars(args).items() if key != "command"}


def refresh_with_options(options: dict, refresh_flow: object = None) -> int:
    """Run ``pmf refresh`` with options as ``refresh_options`` gives them (a run of the deployment)."""
    argv = ["refresh"]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            argv.append(flag)
        else:
            for item in value if isinstance(value, list) else [value]:
                argv += [flag, str(item)]
    return _refresh(build_parser().parse_args(argv), refresh_flow=refresh_flow)


def _record_preflight_failure(marts_dir: Path, failure: Exception) -> None:
    """A refresh stopped by its checks is a run too: one line in the run log."""
    from pipelines.preflight import PreflightFailed
    from pipelines.publish import new_run_id
    from pipelines.runlog import RefreshSummary, append_run_record, run_record

    outcome = "rejected" if isinstance(failure, PreflightFailed) and failure.is_input else "failed"
    append_run_record(marts_dir, run_record(RefreshSummary(run_id=new_run_id(), period=""), outcome, str(failure)))


def _demo(args: argparse.Namespace) -> int:
    from pipelines.demo.generate import generate_demo

    print(f"pmf demo: writing synthetic extracts for {args.las} LAs into {args.raw_dir} (no real person's data)")
    summary = generate_demo(args.raw_dir, args.reference_dir, n_las=args.las, seed=args.seed)
    print(f"  files written: {summary.files_written}")
    for extract, rows in summary.rows_per_extract.items():
        print(f"  {extract:<28} {rows:>9,} rows")
    print(f"  planted invalid rows: {summary.planted_count:,} (listed in {args.raw_dir / '_demo' / 'planted_errors.csv'})")
    print(f"  population estimates: {args.reference_dir / 'population.csv'}")
    return EXIT_OK


def _server(args: argparse.Namespace) -> int:
    prefect_environment(args.marts_dir.resolve().parent / ".prefect")
    from pipelines import prefect_api, workers

    if args.action == "status":
        url = prefect_api.background_server_url()
        print(f"Prefect server running at {url.removesuffix('/api')}" if url else "no pmf Prefect server running")
        address = workers.running_address()
        print(f"{workers.worker_count()} warm Dask workers at {address}" if address else "no pmf Dask workers running")
        return EXIT_OK if url else EXIT_FAILED
    if args.action == "stop":
        print(f"pmf server stop: {workers.stop_workers()}")
        print(f"pmf server stop: {prefect_api.stop_background_server()}")
        return EXIT_OK
    try:
        url = prefect_api.start_background_server()
        address = workers.start_workers(args.workers, url) if args.workers else None
    except (prefect_api.ServerError, workers.WorkersError) as error:
        print(f"pmf server start: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Prefect server running in the background at {url.removesuffix('/api')} (its UI shows the refreshes).")
    if address:
        print(f"{args.workers} warm Dask workers at {address}: refreshes validate on them (imports kept between runs).")
    print("Stop them with: pmf server stop  (from the project: .venv/bin/pmf server stop)")
    return EXIT_OK


def _suites(args: argparse.Namespace) -> int:
    from pipelines.suites import SUITES_DIR, stale_suites, write_suites

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


def _lead_forms(args: argparse.Namespace) -> int:
    from pipelines import leadforms
    from pipelines.config import load_settings
    from pipelines.periods import Quarter

    try:
        settings = load_settings(args.config)
        period = Quarter.parse(args.period) if args.period else leadforms.default_period(args.raw_dir)
        out_dir = args.marts_dir / leadforms.FORMS_FOLDER
        paths = leadforms.write_forms(settings.reference_dir, out_dir, period)
    except (ValueError, OSError) as error:
        print(f"pmf lead-forms: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"pmf lead-forms: {len(paths)} forms for {period.label} in {out_dir}")
    for path in paths:
        print(f"  {path.name}")
    print(f"Returned forms go in {leadforms.inbox(settings.reference_dir)} (imported by the next refresh or `pmf lead-updates import`)")
    return EXIT_OK


def _lead_updates(args: argparse.Namespace) -> int:
    from pipelines import leadforms
    from pipelines.config import load_settings

    try:
        settings = load_settings(args.config)
        reference = settings.reference_dir
        if args.files:
            missing = [str(path) for path in args.files if not path.is_file()]
            if missing:
                print(f"pmf lead-updates: no such file: {', '.join(missing)}", file=sys.stderr)
                return EXIT_FAILED
            outcome = leadforms.import_forms(args.files, reference)
        else:
            outcome = leadforms.import_inbox(reference)
    except (ValueError, OSError) as error:
        print(f"pmf lead-updates: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"pmf lead-updates: {len(outcome.applied)} forms applied, {outcome.lines_updated} lines updated "
          f"in {reference / 'plan_line_updates.csv'}")
    if outcome.problems:
        print("Forms not applied (fix and import them again):", file=sys.stderr)
        for problem in outcome.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_REJECTED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
