#!/usr/bin/env bash
# The test suite: install (with test extras), make sure LibreOffice, pdftotext and the Carlito font
# (metric-compatible with Calibri, so LibreOffice lays the workbook out as Excel does) are there for
# the workbook tests (Debian packages; needs root or sudo the first time), run pytest.
# Extra arguments go to pytest (e.g. -k workbook, -m "not e2e").
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh" test
if ! command -v soffice >/dev/null 2>&1 || ! command -v pdftotext >/dev/null 2>&1 \
    || ! fc-list 2>/dev/null | grep -qi carlito; then
    echo "Installing LibreOffice (headless) and poppler-utils for the workbook test"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        libreoffice-calc-nogui poppler-utils fonts-crosextra-carlito >/dev/null
fi
exec "$PY" -m pytest "$@"
