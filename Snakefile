# Interim analysis of NCT07021534 (Phase IA): export -> validated domains -> ADaM
# -> ARD -> tables and figures -> reports. Thin by design: settings, their check,
# the stage rule files and the final targets. All logic lives in the package analysis/.
import sys
from pathlib import Path

sys.path.insert(0, workflow.basedir)
from analysis.config import ConfigError, validate_config  # noqa: E402
from analysis.codeversion import code_version  # noqa: E402,F401
from analysis.early_cutoff import enable as enable_early_cutoff  # noqa: E402
from analysis.inprocess import run_script, set_stats_dir  # noqa: E402,F401

configfile: "config/config.yaml"

try:
    validate_config(config)
except ConfigError as err:
    sys.stderr.write(f"\n{err}\n\n")
    raise SystemExit(1)

CUT = config["data_cut"]


def settings(*keys):
    """The part of the settings a rule depends on: a rule reruns when its params change,
    so each rule gets only the keys it reads (precise invalidation)."""
    return {k: config[k] for k in keys if k in config}


def ard_parts(*names):
    """Input function: the ARD part files a step reads, in the ARD's order. A table reads
    the parts it shows, not the combined ARD, so it reruns only when they change."""
    def parts(wildcards):
        unknown = sorted(set(names) - set(ARD_PARTS))
        if unknown:
            raise WorkflowError(f"no ARD part named {unknown}; parts are {ARD_PARTS}")
        return [f"{R}/ard/parts/{p}.parquet" for p in ARD_PARTS if p in names]
    return parts


# Every analysis setting, without the data source, report and bundle settings: a rule
# that reads many keys gets this, so a report setting does not rerun the analyses.
ANALYSIS_SETTINGS = settings(*[k for k in config if k not in ("data", "reports", "bundle")])


R = f"results/{CUT}"
set_stats_dir(f"{R}/logs/jobs")  # each job's wall time, CPU time and peak memory
EXPORT = config["data"]["export_dir"]
FORMATS = config["reports"]["formats"]
DOMAINS = ["dm", "ex", "ae", "lb", "tu", "tr", "rs", "ds",
           "mi", "pc", "cm", "ss", "vs", "qs", "eg", "cv"]
REPORTS = ["interim-report", "phase-ib-readiness"]

# Each stage file appends what it produces; the ARD, report and manifest rules,
# included last, collect them.
ARD_PARTS = []      # names of results/<cut>/ard/parts/<name>.parquet
TABLES = []         # output IDs written as results/<cut>/tables/<ID>.{md,csv,html,rtf}
TABLE_EXTS = ["md", "csv", "html", "rtf"]
FIGURES = []        # output IDs written as results/<cut>/figures/<ID>.{png,svg}
ADAM = ["adsl"]     # results/<cut>/adam/<name>.parquet
TEXTS = []          # results/<cut>/text/<name>.md


# Every rule from ingest to the renders is a `checkpoint`: when one has run, Snakemake
# re-evaluates what is left to do, and a job whose inputs came out byte-identical (same
# checksum as when it last ran) is skipped. So a changed AE record reruns ingest, ADSL
# and the safety branch, and nothing whose inputs it did not change; each rule's
# `code=code_version(...)` reruns it when the package code it runs changes
# (docs/architecture.md, "Jobs and precise invalidation"; analysis/early_cutoff.py).
enable_early_cutoff()
include: "workflow/rules/demo.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/adam.smk"
include: "workflow/rules/sets.smk"
include: "workflow/rules/eligibility.smk"
include: "workflow/rules/safety.smk"
include: "workflow/rules/efficacy.smk"
include: "workflow/rules/subgroups.smk"
include: "workflow/rules/kinetics.smk"
include: "workflow/rules/ard.smk"
include: "workflow/rules/reports.smk"
include: "workflow/rules/manifest.smk"
include: "workflow/rules/bundle.smk"


rule all:
    input:
        f"{R}/manifest.json",
        f"{R}/bundle/ethics-amendment-{CUT}.zip",
