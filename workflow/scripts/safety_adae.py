import _common  # noqa: F401
from analysis.steps_safety import build_adae

build_adae(snakemake.input.meta, snakemake.input.adsl, snakemake.output[0], snakemake.params.cfg)  # noqa: F821
