import _common  # noqa: F401
from analysis.steps_eligibility import build_eligibility_text

build_eligibility_text(snakemake.input.ard, snakemake.input.criteria,  # noqa: F821
                       snakemake.output.text, snakemake.output.summary)  # noqa: F821
