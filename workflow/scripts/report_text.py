import _common  # noqa: F401
from analysis.pipeline import build_report_text

build_report_text(snakemake.input.ard, snakemake.output.summary, snakemake.output.metadata,  # noqa: F821
                  snakemake.params.cfg)  # noqa: F821
