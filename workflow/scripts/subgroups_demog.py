import _common  # noqa: F401
from analysis.steps_subgroups import build_ard_demog

build_ard_demog(snakemake.input.adsl, snakemake.output[0], snakemake.params.cfg)  # noqa: F821
