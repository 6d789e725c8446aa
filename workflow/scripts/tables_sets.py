import _common  # noqa: F401
from analysis.pipeline import build_tables_sets

build_tables_sets(snakemake.input.ard, snakemake.params.out_dir, snakemake.params.cfg)  # noqa: F821
