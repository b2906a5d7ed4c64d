"""Deterministic demo data: all ten extracts for every quarter, realistically messy but within
the contract (``shared/spec/extracts.md``), plus the population reference file and a manifest
of the row errors planted on purpose.

    generate_demo(raw_dir, reference_dir)          # 4 Tees LAs, 2017-18 Q1 .. 2019-20 Q4
    write_extract_rows("police_da_incidents", 1_000_000, path, quarter=q)   # benchmarks

Same arguments => byte-identical files: every random draw comes from a numpy ``default_rng``
keyed by the seed and stable labels (``zlib.crc32``, never ``hash()``), no clock is read, and
XLSX packages are written directly with fixed zip timestamps and no document properties.

One module a job, in the order :func:`~pipelines.demo.generate.generate_demo` runs them:

- ``world``: the LAs (the Tees LAs of ``pipelines.config.TEES_LAS``, then synthetic ones), their
  people and the seeded random draws;
- ``draws`` and ``simulate``: every extract's records, simulated per LA and quarter, and the
  calibration they are tuned to;
- ``schedule``: which quarters' files send each record, and what each file knows of it;
- ``plant``: the errors planted on purpose, one defect a row, as listed in the manifest;
- ``render`` and ``xlsx``: the files as agencies write them (encodings, layouts, headers);
  ``xlsx.write_xlsx`` is the one XLSX writer, which the intake benchmark uses too;
- ``generate``: the sequence, the manifest and the summary; ``bench_files``: big valid files
  for the intake benchmark.
"""

from pipelines.demo.bench_files import write_extract_rows
from pipelines.demo.generate import DemoSummary, generate_demo

__all__ = ["DemoSummary", "generate_demo", "write_extract_rows"]
