import _common  # noqa: F401
from analysis.steps_efficacy import build_ard_efficacy

i = snakemake.input  # noqa: F821
build_ard_efficacy(i.adsl, i.adrs, i.adtte, snakemake.output[0], snakemake.params.cfg)  # noqa: F821
