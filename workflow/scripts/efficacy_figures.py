import _common  # noqa: F401
from analysis.steps_efficacy import build_figures_efficacy

i, p = snakemake.input, snakemake.params  # noqa: F821
build_figures_efficacy(i.ard, i.adsl, i.adrs, i.adtr, i.ex, p.out_dir, p.cfg)
