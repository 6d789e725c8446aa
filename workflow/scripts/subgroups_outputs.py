import _common  # noqa: F401
from analysis.steps_subgroups import build_outputs_subgroups

p = snakemake.params  # noqa: F821
build_outputs_subgroups(snakemake.input.ard, p.table_dir, p.fig_dir, snakemake.output.text, p.cfg)  # noqa: F821
