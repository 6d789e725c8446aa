"""Helpers for tests that run the whole workflow in a temporary copy of the repository."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
CUT = "2026-10-31"
REPO_PARTS = ("Snakefile", "analysis", "workflow", "reports", "config")


def copy_repo(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in REPO_PARTS:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", ".render*"))
        else:
            shutil.copy2(src, dest / name)
    (dest / "profiles").symlink_to("workflow/profiles")
    return dest


def run_pipeline(work: Path, *args: str, check: bool = True, **popen) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("SOURCE_DATE_EPOCH", None)
    proc = subprocess.run([str(SNAKEMAKE), "--cores", "2", *args], cwd=work, capture_output=True,
                          text=True, env=env, **popen)
    if check:
        assert proc.returncode == 0, (proc.stdout[-3000:] + "\n" + proc.stderr[-6000:])
    return proc


def result_hashes(results: Path) -> dict[str, str]:
    """SHA-256 of every result file, logs and private render folders excepted."""
    out = {}
    for p in sorted(results.rglob("*")):
        rel = p.relative_to(results)
        if p.is_file() and rel.parts[0] != "logs" and not any(s.startswith(".") for s in rel.parts):
            out[str(rel)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out
