import _common  # noqa: F401
from analysis.steps_kinetics import build_tables_kinetics

build_tables_kinetics(snakemake.input.ard, snakemake.params.out_dir, snakemake.params.cfg)  # noqa: F821
