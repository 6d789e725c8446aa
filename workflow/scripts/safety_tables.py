import _common  # noqa: F401
from analysis.steps_safety import build_tables_safety

p = snakemake.params  # noqa: F821
build_tables_safety(snakemake.input.ard, p.table_dir, p.fig_dir, snakemake.output.text, p.cfg)  # noqa: F821
