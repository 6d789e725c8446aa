import _common  # noqa: F401
from analysis.steps_efficacy import build_tables_efficacy

p = snakemake.params  # noqa: F821
build_tables_efficacy(snakemake.input.ard, snakemake.input.adrs, p.out_dir, p.cfg)  # noqa: F821
