"""pmf: the Hartlepool Safeguarding Children Board performance-management data pipeline."""

import os

# One BLAS thread a process. pmf's linear algebra is many small problems (the workbook's
# secondary suppression: a few hundred SVDs of ~200 x 300 matrices), and its parallelism is
# processes (intake workers) beside DuckDB's own threads: a multi-threaded BLAS on top of those
# thrashes (measured on 2 cores under load: 22 s for the data-quality sheet, 3 s single-threaded).
# Set before numpy is first imported; a value the user set wins.
for _variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # not OMP_NUM_THREADS: Arrow sizes its pool by it
    os.environ.setdefault(_variable, "1")

__version__ = "0.1.0"
