# Shared by scripts/*.sh: a project virtual environment, created and kept in step with the
# pinned dependencies (pyproject.toml + constraints.txt), reinstalled only when those change.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "pmf needs Python 3.11 or newer")'
VENV=${PMF_VENV:-.venv}
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
extras=${1:-}
stamp="$VENV/.pmf-installed${extras:+-$extras}"
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "Installing pmf and its pinned dependencies into $VENV (first run: a few minutes)"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -c constraints.txt -e ".${extras:+[$extras]}"
    echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
PY="$VENV/bin/python"
