import _common  # noqa: F401
from analysis.steps_eligibility import build_tables_eligibility

build_tables_eligibility(snakemake.input.ard, snakemake.input.adelig, snakemake.input.criteria,  # noqa: F821
                         snakemake.params.out_dir)  # noqa: F821
