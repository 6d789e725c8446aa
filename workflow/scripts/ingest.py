import sys

import _common  # noqa: F401
from analysis.bundle import BundleRefused
from analysis.ingest import ValidationFailed, ingest

p = snakemake.params  # noqa: F821
try:
    ingest(p.export_dir, p.cut, p.out_dir, dose_levels=dict(p.dose_levels), dose_tolerance=float(p.dose_tolerance),
           existing_bundle=p.bundle, allow_overwrite=bool(p.allow_overwrite))
except (ValidationFailed, BundleRefused) as err:
    sys.stderr.write(f"\n{err}\n")
    sys.exit(1)
