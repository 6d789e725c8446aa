import _common  # noqa: F401
from analysis.steps_kinetics import build_figures_kinetics

i = snakemake.input  # noqa: F821
build_figures_kinetics(i.ard, i.adpc, i.adcyt, snakemake.params.out_dir, snakemake.params.cfg)  # noqa: F821
