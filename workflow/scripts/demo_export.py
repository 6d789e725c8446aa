import _common  # noqa: F401
from analysis.demo import generate_export

p = snakemake.params  # noqa: F821
generate_export(snakemake.output[0], seed=p.seed, size=p.size, data_cut=p.cut)  # noqa: F821
