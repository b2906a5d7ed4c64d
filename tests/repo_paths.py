"""Where the tests find the repository, its committed reference files and the shared folder: the
one place the tests derive them (from ``pipelines.config.PROJECT_ROOT``, where pmf finds its own
sql/, docs/ and data/)."""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.config import PROJECT_ROOT

REPO = PROJECT_ROOT
TESTS_DIR = REPO / "tests"
REFERENCE_DIR = REPO / "data" / "reference"  # the committed reference files: copied before a test changes them
# The seed documents, spec and golden tables: beside the repository, or at $PMF_SHARED_DIR.
SHARED_DIR = Path(os.environ.get("PMF_SHARED_DIR") or REPO.parent / "shared")
