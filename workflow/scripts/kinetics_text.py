import _common  # noqa: F401
from analysis.steps_kinetics import build_text_kinetics

o = snakemake.output  # noqa: F821
build_text_kinetics(snakemake.input.ard, o.text, o.fig_pk, o.fig_cyto, snakemake.params.cfg)  # noqa: F821
