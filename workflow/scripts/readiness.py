import _common  # noqa: F401
from analysis.steps_subgroups import build_readiness

p = snakemake.params  # noqa: F821
build_readiness(snakemake.input.ard, p.table_dir, p.text_dir, p.cfg)  # noqa: F821
