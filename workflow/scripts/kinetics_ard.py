import _common  # noqa: F401
from analysis.steps_kinetics import build_ard_kinetics

i = snakemake.input  # noqa: F821
build_ard_kinetics(i.meta, i.adsl, i.adpc, i.adpp, i.adcyt, snakemake.output[0], snakemake.params.cfg)  # noqa: F821
