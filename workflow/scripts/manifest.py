import _common  # noqa: F401
from analysis.manifest import write_manifest

p = snakemake.params  # noqa: F821
write_manifest(p.results_dir, snakemake.output[0], p.cfg, snakemake.input.ingest,  # noqa: F821
               list(snakemake.input.render_info))  # noqa: F821
