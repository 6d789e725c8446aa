import _common  # noqa: F401
from analysis.steps_subgroups import build_ard_subgroups

i = snakemake.input  # noqa: F821
build_ard_subgroups(i.adsl, i.adrs, i.adtte, i.meta, snakemake.output[0], snakemake.params.cfg)  # noqa: F821
