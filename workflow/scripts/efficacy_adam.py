import _common  # noqa: F401
from analysis.steps_efficacy import build_efficacy_adam

i, o = snakemake.input, snakemake.output  # noqa: F821
build_efficacy_adam(i.adsl, i.meta, o.adrs, o.adtr, o.adtte, snakemake.params.cfg)  # noqa: F821
