import _common  # noqa: F401
from analysis.bundle import write_bundle

p = snakemake.params  # noqa: F821
write_bundle(p.results_dir, p.cut, p.documents, p.tables, p.figures, snakemake.output[0])  # noqa: F821
