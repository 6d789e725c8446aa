import _common  # noqa: F401
from analysis.pipeline import build_ard_sets

build_ard_sets(snakemake.input.adsl, snakemake.input.ds, snakemake.output.sets,  # noqa: F821
               snakemake.output.disp, snakemake.params.levels)  # noqa: F821
