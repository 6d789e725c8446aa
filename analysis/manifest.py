"""manifest.json: what a run read, with which settings and software, and what it wrote.

No absolute paths and no timestamps, so that two runs of the same inputs and settings
give the same bytes.
"""
from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from analysis.atomic import write_text
from analysis.config import ROOT

KEY_PACKAGES = ["snakemake", "pandas", "numpy", "scipy", "pyarrow", "statsmodels", "lifelines",
                "plotnine", "matplotlib", "pandera", "pyreadstat", "great_tables", "jsonschema",
                "PyYAML", "pypandoc_binary", "typst", "python-docx"]
SKIP_DIRS = {"logs", "bundle"}  # the bundle is built after the manifest, from it


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def software_versions() -> dict:
    out = {"python": platform.python_version()}
    for name in KEY_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_state(root: Path = ROOT) -> dict:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip() != ""
        return {"commit": commit, "uncommitted_changes": dirty}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "uncommitted_changes": None}


def output_files(results_dir: Path, exclude: set[str]) -> list[Path]:
    files = []
    for p in sorted(results_dir.rglob("*")):
        rel = p.relative_to(results_dir)
        if not p.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        if rel.parts[0] in SKIP_DIRS or str(rel) in exclude:
            continue
        files.append(p)
    return files


def _relative(path: str, results_dir: Path) -> str:
    """A path relative to the results folder (absolute paths would differ between clones)."""
    p, r = Path(path).resolve(), results_dir.resolve()
    return str(p.relative_to(r)) if p.is_relative_to(r) else p.name


def build_manifest(results_dir: Path | str, cfg: dict, ingest_meta: dict, render_infos: list[dict],
                   exclude: set[str]) -> dict:
    results_dir = Path(results_dir)
    return {
        "study": cfg["study"]["id"],
        "data_cut": cfg["data_cut"],
        "inputs": ingest_meta.get("files", []),
        "settings": cfg,
        "software": software_versions(),
        "git": git_state(),
        "renderers": sorted(({"file": _relative(i["file"], results_dir), "format": i.get("format"),
                              "renderer": i.get("renderer")} for i in render_infos),
                            key=lambda d: d["file"]),
        "outputs": [{"file": str(p.relative_to(results_dir)), "sha256": sha256_file(p)}
                    for p in output_files(results_dir, exclude)],
    }


def write_manifest(results_dir, out_path, cfg: dict, ingest_json, render_info_paths: list) -> dict:
    results_dir = Path(results_dir)
    ingest_meta = json.loads(Path(ingest_json).read_text(encoding="utf-8"))
    infos = [json.loads(Path(p).read_text(encoding="utf-8")) for p in render_info_paths]
    m = build_manifest(results_dir, cfg, ingest_meta, infos,
                       exclude={str(Path(out_path).relative_to(results_dir))})
    write_text(out_path, json.dumps(m, indent=2, sort_keys=False, default=str) + "\n")
    return m
