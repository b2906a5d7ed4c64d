#!/usr/bin/env bash
# The main job on the built-in demo data: install, write the synthetic extracts (once), start a
# local Prefect server and warm Dask workers in the background (once; `.venv/bin/pmf server stop`
# stops them), refresh.
# Extra arguments go to `pmf refresh` (e.g. --period "2018-19 Q4").
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh" ""
if ! ls -d data/raw/20??-??-Q? >/dev/null 2>&1; then
    "$VENV/bin/pmf" demo
fi
# A refresh without a server pays ~15 s for Prefect's temporary one, and without warm workers ~5 s
# of imports in new worker processes; without this line it still works.
"$VENV/bin/pmf" server start || echo "(no background Prefect server or workers: this refresh starts its own)"
exec "$VENV/bin/pmf" refresh "$@"
