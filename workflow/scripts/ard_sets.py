import _common  # noqa: F401
from analysis.pipeline import build_ard_sets

i, o = snakemake.input, snakemake.output  # noqa: F821
build_ard_sets(i.adsl, i.ds, i.ingest, o.sets, o.disp, o.datacut, snakemake.params.levels)  # noqa: F821
