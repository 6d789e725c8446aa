"""Snakemake profiles: the workstation default and the SLURM cluster profile."""
import yaml

from pipeline_runs import ROOT, copy_repo, run_pipeline


def test_slurm_profile_dry_run(tmp_path):
    work = copy_repo(tmp_path / "slurm")
    proc = run_pipeline(work, "--profile", "workflow/profiles/slurm", "-n", "--forceall")
    out = proc.stdout + proc.stderr
    assert "This was a dry-run" in out
    for rule in ("ingest", "adsl", "render_report", "manifest", "bundle"):
        assert rule in out
    cfg = yaml.safe_load((ROOT / "workflow/profiles/slurm/config.yaml").read_text())
    assert cfg["executor"] == "slurm" and cfg["default-resources"]["mem_mb"] > 0


def test_default_profile_reruns_incomplete_jobs():
    cfg = yaml.safe_load((ROOT / "workflow/profiles/default/config.yaml").read_text())
    assert cfg["rerun-incomplete"] is True
    assert (ROOT / "profiles").resolve() == (ROOT / "workflow/profiles").resolve()
