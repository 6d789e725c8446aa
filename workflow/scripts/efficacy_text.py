import _common  # noqa: F401
from analysis.steps_efficacy import build_text_efficacy

build_text_efficacy(snakemake.input.ard, snakemake.output[0], snakemake.params.cfg)  # noqa: F821
