import _common  # noqa: F401
from analysis.steps_safety import build_ard_safety

build_ard_safety(snakemake.input.adsl, snakemake.input.adae, snakemake.input.adlb,  # noqa: F821
                 dict(snakemake.output.items()), snakemake.params.cfg)  # noqa: F821
