import _common  # noqa: F401
from analysis.pipeline import render_report

p = snakemake.params  # noqa: F821
render_report(snakemake.input.source, p.generated_dir, snakemake.wildcards.fmt,  # noqa: F821
              snakemake.output.doc, snakemake.output.info, p.work_dir, p.engine)  # noqa: F821
