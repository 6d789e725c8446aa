import _common  # noqa: F401
from analysis.steps_eligibility import build_adelig

build_adelig(snakemake.input.meta, snakemake.input.adsl, snakemake.input.criteria,  # noqa: F821
             snakemake.output[0])  # noqa: F821
