import _common  # noqa: F401
from analysis.steps_safety import build_ard_escalation

build_ard_escalation(snakemake.input.adsl, snakemake.input.adae, dict(snakemake.output.items()),  # noqa: F821
                     snakemake.params.cfg)  # noqa: F821
