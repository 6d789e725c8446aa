import _common  # noqa: F401
from analysis.pipeline import build_adsl

build_adsl(snakemake.input.meta, snakemake.output[0], snakemake.params.cfg)  # noqa: F821
