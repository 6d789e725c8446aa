import _common  # noqa: F401
from analysis.steps_kinetics import build_kinetics_adam

i, o = snakemake.input, snakemake.output  # noqa: F821
build_kinetics_adam(i.meta, i.adsl, o.adpc, o.adpp, o.adcyt, snakemake.params.cfg)  # noqa: F821
