"""A small demo world for end-to-end tests: the demo generator's extracts for some quarters, the
population it writes, the repository's plan files, and a settings file pointing at them.

``copy_marts`` gives a test its own copy of a published marts folder (releases, the ``current``
and user-path symlinks, which are relative, and the kept state), to refresh into or otherwise
change without touching the one it was copied from. ``tree_fingerprint`` is what the shared
session world (tests/conftest.py, ``e2e_refresh``) is checked against at the end."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from pipelines.demo.generate import generate_demo
from pipelines.periods import Quarter
from repo_paths import REFERENCE_DIR


def demo_world(root: Path, first: str, last: str) -> dict[str, Path]:
    raw, reference = root / "raw", root / "reference"
    reference.mkdir(parents=True)
    for name in ("work_plan.csv", "plan_line_updates.csv"):
        shutil.copy(REFERENCE_DIR / name, reference / name)
    generate_demo(raw, reference, first=Quarter.parse(first), last=Quarter.parse(last))
    config = root / "pmf.toml"
    config.write_text(f'reference_dir = "{reference}"\n')
    return {"raw": raw, "reference": reference, "config": config}


def copy_marts(marts: Path, target: Path) -> Path:
    """A copy of the marts folder ``marts`` at ``target`` (symlinks copied as symlinks)."""
    shutil.copytree(marts, target, symlinks=True)
    return target


def tree_fingerprint(root: Path) -> dict[str, str]:
    """Every file under ``root`` by its sha256 and every symlink by its target."""
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            key = str(path.relative_to(root))
            found[key] = ("-> " + os.readlink(path)) if path.is_symlink() else hashlib.sha256(path.read_bytes()).hexdigest()
    for folder, folders, _ in os.walk(root):
        for name in folders:
            path = Path(folder) / name
            if path.is_symlink():
                found[str(path.relative_to(root))] = "-> " + os.readlink(path)
    return found
