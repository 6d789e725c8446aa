import _common  # noqa: F401
from analysis.steps_eligibility import build_ard_eligibility

build_ard_eligibility(snakemake.input.adelig, snakemake.input.criteria, snakemake.output[0])  # noqa: F821
