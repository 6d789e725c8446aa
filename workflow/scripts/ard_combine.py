import _common  # noqa: F401
from analysis.pipeline import combine_ard

combine_ard(list(snakemake.input), snakemake.output.parquet, snakemake.output.csv)  # noqa: F821
