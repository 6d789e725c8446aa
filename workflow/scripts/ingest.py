import sys

import _common  # noqa: F401
from analysis.ingest import ValidationFailed, ingest

p = snakemake.params  # noqa: F821
try:
    ingest(p.export_dir, p.cut, p.out_dir, dose_levels=dict(p.dose_levels), dose_tolerance=float(p.dose_tolerance))
except ValidationFailed as err:
    sys.stderr.write(f"\n{err}\n")
    sys.exit(1)
