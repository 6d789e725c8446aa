import _common  # noqa: F401
from analysis.steps_safety import build_listings_safety

build_listings_safety(snakemake.input.adsl, snakemake.input.adae, snakemake.input.adlb,  # noqa: F821
                      snakemake.params.out_dir, snakemake.params.cfg)  # noqa: F821
