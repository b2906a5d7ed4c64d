#!/usr/bin/env bash
# The main job on the built-in demo data: install, write the synthetic extracts (once), refresh.
# Extra arguments go to `pmf refresh` (e.g. --period "2018-19 Q4").
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh" ""
if ! ls -d data/raw/20??-??-Q? >/dev/null 2>&1; then
    "$VENV/bin/pmf" demo
fi
exec "$VENV/bin/pmf" refresh "$@"
