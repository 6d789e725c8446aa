import _common  # noqa: F401
from analysis.pipeline import build_report_text

o = snakemake.output  # noqa: F821
build_report_text(snakemake.input.ard, o.summary, o.metadata, snakemake.params.cfg,  # noqa: F821
                  executive_out=o.executive)
