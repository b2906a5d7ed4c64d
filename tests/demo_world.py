"""A small demo world for end-to-end tests: the demo generator's extracts for some quarters, the
population it writes, the repository's plan files, and a settings file pointing at them."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipelines.demo.generate import generate_demo
from pipelines.periods import Quarter

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"


def demo_world(root: Path, first: str, last: str) -> dict[str, Path]:
    raw, reference = root / "raw", root / "reference"
    reference.mkdir(parents=True)
    for name in ("work_plan.csv", "plan_line_updates.csv"):
        shutil.copy(REFERENCE / name, reference / name)
    generate_demo(raw, reference, first=Quarter.parse(first), last=Quarter.parse(last))
    config = root / "pmf.toml"
    config.write_text(f'reference_dir = "{reference}"\n')
    return {"raw": raw, "reference": reference, "config": config}
