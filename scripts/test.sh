#!/usr/bin/env bash
# The test suite: install (with test extras), make sure LibreOffice and pdftotext are there for
# the workbook test (Debian packages; needs root or sudo the first time), run pytest.
# Extra arguments go to pytest (e.g. -k workbook, -m "not e2e").
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh" test
if ! command -v soffice >/dev/null 2>&1 || ! command -v pdftotext >/dev/null 2>&1; then
    echo "Installing LibreOffice (headless) and poppler-utils for the workbook test"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        libreoffice-calc-nogui poppler-utils >/dev/null
fi
exec "$PY" -m pytest "$@"
