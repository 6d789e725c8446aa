"""Precise invalidation: a changed input reruns only what it changes.

Two levels: a four-rule toy workflow that pins the Snakemake behaviour
`analysis/early_cutoff.py` relies on (fails if an upgrade changes it), and the real
workflow, where one AE record changed must rerun the safety branch and the reports
only — and give the same bytes as a clean run on the changed export.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import yaml

from pipeline_runs import CUT, ROOT, SNAKEMAKE, copy_repo, result_hashes, run_pipeline

JOB_RE = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):", re.M)

TOY = """
import sys
sys.path.insert(0, {root!r})
from analysis.early_cutoff import enable
enable()

rule all:
    input: "d.txt", "e.txt"

checkpoint a:
    input: "src.txt"
    output: "a.txt", "a2.txt"
    shell: "cut -c1-3 src.txt > a.txt; echo fixed > a2.txt"

checkpoint b:
    input: "a.txt"
    output: "b.txt"
    shell: "cat a.txt > b.txt"

rule d:
    input: "b.txt"
    output: "d.txt"
    shell: "cat b.txt > d.txt"

rule c:
    input: "a2.txt", "src.txt"
    output: "e.txt"
    shell: "cat a2.txt src.txt > e.txt"
"""


def _jobs(out: str) -> set[str]:
    return set(JOB_RE.findall(out)) - {"all"}


def _log(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout + proc.stderr


def _toy_run(folder: Path) -> set[str]:
    proc = subprocess.run([str(SNAKEMAKE), "-c1"], cwd=folder, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return _jobs(proc.stdout + proc.stderr)


def _write_later(path: Path, text: str) -> None:
    """Write so that the new modification time is surely later than the outputs'."""
    time.sleep(1.05)
    path.write_text(text)


def test_job_two_steps_below_an_unchanged_checkpoint_output_is_skipped(tmp_path):
    (tmp_path / "Snakefile").write_text(TOY.format(root=str(ROOT)))
    (tmp_path / "src.txt").write_text("abcdef\n")
    assert _toy_run(tmp_path) == {"a", "b", "c", "d"}
    # a reruns and writes the same a.txt: b and d (two steps below a) are skipped
    _write_later(tmp_path / "src.txt", "abcxyz\n")
    assert _toy_run(tmp_path) == {"a", "c"}
    # a writes a different a.txt: b and d rerun and see it
    _write_later(tmp_path / "src.txt", "zzzxyz\n")
    assert _toy_run(tmp_path) == {"a", "b", "c", "d"}
    assert (tmp_path / "d.txt").read_text() == "zzz\n"


# Rules an AE change may rerun: ingest and what reads AE (ADSL for the DLT flags and
# the last-alive date, ADAE, the cytokine-by-CRS ADaM), the safety ARD and outputs,
# the combined ARD, report text and readiness, renders, manifest, bundle.
MAY_RERUN = {"ingest", "adsl", "adae", "kinetics_adam", "ard_sets", "ard_escalation", "ard_safety",
             "tables_safety", "listings_safety", "ard", "report_text", "readiness", "render_report",
             "manifest", "bundle"}
MUST_RERUN = {"ingest", "adae", "ard_safety", "tables_safety", "render_report", "manifest", "bundle"}


def _raise_one_grade(export: Path) -> None:
    """One AE record of grade 1 or 2 becomes grade 4: the TEAE tables change."""
    ae = pd.read_csv(export / "ae.csv", dtype=str, keep_default_na=False)
    row = ae.index[ae["AETOXGR"].isin(["1", "2"])][0]
    ae.loc[row, "AETOXGR"] = "4"
    time.sleep(1.05)
    ae.to_csv(export / "ae.csv", index=False)


def _use_export(work: Path, export: Path) -> None:
    (work / "export.yaml").write_text(yaml.safe_dump(
        {"data": {"source": "export", "export_dir": str(export)}, "bundle": {"allow_overwrite": True}}))


def test_one_ae_record_reruns_only_the_safety_branch_and_matches_a_clean_run(demo_run, tmp_path):
    work0, res0 = demo_run
    # A copy of the finished demo run (metadata and modification times kept), switched
    # to reading a copy of its export as a real export.
    work = tmp_path / "work"
    shutil.copytree(work0, work, symlinks=True)
    export = tmp_path / "a" / "export"
    shutil.copytree(work0 / "data" / "demo", export)
    _use_export(work, export)
    first = _jobs(_log(run_pipeline(work, "--configfile", "export.yaml")))
    assert "ingest" in first and not first & {"adam_efficacy", "tables_efficacy", "kinetics_adam"}, first

    _raise_one_grade(export)
    ran = _jobs(_log(run_pipeline(work, "--configfile", "export.yaml")))
    assert MUST_RERUN <= ran, f"missing from the rerun: {sorted(MUST_RERUN - ran)}"
    assert ran <= MAY_RERUN, f"an AE change reran unrelated jobs: {sorted(ran - MAY_RERUN)}"

    # The incremental result is the clean result on the changed export, byte for byte.
    clean = copy_repo(tmp_path / "clean")
    export2 = tmp_path / "b" / "export"
    shutil.copytree(export, export2)
    _use_export(clean, export2)
    run_pipeline(clean, "--configfile", "export.yaml")
    a, b = result_hashes(work / "results" / CUT), result_hashes(clean / "results" / CUT)
    assert a.keys() == b.keys()
    differ = sorted(k for k in a if a[k] != b[k])
    # The manifest (and the bundle that carries it) names the export folder, which is
    # another folder for the clean run; apart from that they must agree.
    assert differ == [f"bundle/ethics-amendment-{CUT}.zip", "manifest.json"], differ
    m1, m2 = (json.loads((w / "results" / CUT / "manifest.json").read_text()) for w in (work, clean))
    assert m1["settings"]["data"].pop("export_dir") != m2["settings"]["data"].pop("export_dir")
    assert m1 == m2
    assert a["tables/T-TEAE-SOCPT.md"] != result_hashes(res0)["tables/T-TEAE-SOCPT.md"]
