"""File-level steps of the workflow: each reads its inputs, calls the pure
derivations and writes its outputs atomically. The Snakemake scripts call these."""
from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import yaml

from analysis import ard as ardmod
from analysis import narrative, tables
from analysis.adsl import derive_adsl
from analysis.atomic import atomic_path, write_text


class Domains(Mapping):
    """The validated, data-cut domains of one run, read from ``sdtm/<dom>.parquet`` when
    first used. Under Snakemake a step may read only the domains its rule declares as
    input (``analysis.inprocess.declared_inputs``): reading another one is a hidden
    dependency (the step would not rerun when that domain changes) and stops the job."""

    def __init__(self, folder: Path, declared: set[str] | None = None):
        self._folder = folder
        self._declared = declared
        self._frames: dict[str, pd.DataFrame] = {}
        self._codes = sorted(p.stem.upper() for p in folder.glob("*.parquet"))

    def __getitem__(self, code: str) -> pd.DataFrame:
        if code not in self._frames:
            path = self._folder / f"{code.lower()}.parquet"
            if not path.exists():
                raise KeyError(code)
            if self._declared is not None and str(path.resolve()) not in self._declared:
                raise UndeclaredInput(
                    f"this step reads {path} but its rule does not list it as input: add the "
                    "domain to the rule's `sdtm` input in workflow/rules/ (a hidden dependency "
                    "would not rerun the step when the domain changes)")
            self._frames[code] = pd.read_parquet(path)
        return self._frames[code]

    def __iter__(self):
        return iter(self._codes)

    def __len__(self) -> int:
        return len(self._codes)


class UndeclaredInput(RuntimeError):
    pass


def load_sdtm(meta_path: Path | str) -> tuple[Domains, set[str]]:
    """The validated, data-cut domains written by ingest (read on first use), and the set
    present in the export. ``meta_path`` is ``sdtm/domains.json`` (or ``ingest.json``)."""
    from analysis.inprocess import declared_inputs

    meta_path = Path(meta_path)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    domains = Domains(meta_path.parent, declared_inputs())
    present = {d.upper() for d in meta.get("domains_present", list(domains))}
    return domains, present


def write_parquet(df: pd.DataFrame, path: Path | str) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def build_adsl(meta_path, out_path, cfg: dict) -> pd.DataFrame:
    domains, present = load_sdtm(meta_path)
    adsl = derive_adsl(domains, cfg, present)
    write_parquet(adsl, out_path)
    return adsl


def build_ard_sets(adsl_path, ds_path, ingest_json, sets_out, disp_out, datacut_out,
                   levels: list[str]) -> None:
    adsl = pd.read_parquet(adsl_path)
    ds = pd.read_parquet(ds_path)
    write_parquet(ardmod.ard_sets(adsl, levels), sets_out)
    write_parquet(ardmod.ard_disposition(adsl, ds, levels), disp_out)
    meta = json.loads(Path(ingest_json).read_text(encoding="utf-8"))
    write_parquet(ardmod.ard_datacut(meta), datacut_out)


def combine_ard(parts: list, parquet_out, csv_out) -> None:
    ard = ardmod.combine([pd.read_parquet(p) for p in parts])
    ardmod.write_ard(ard, Path(parquet_out), Path(csv_out))


def build_tables_sets(ard_path, out_dir, cfg: dict) -> None:
    a = ardmod.ARD.read(ard_path)
    for t in (tables.table_sets(a, cfg["dose_levels"]), tables.table_disposition(a, cfg["dose_levels"])):
        tables.write_table(t, out_dir)


def build_report_text(ard_path, summary_out, metadata_out, cfg: dict, executive_out=None) -> None:
    a = ardmod.ARD.read(ard_path)
    write_text(summary_out, narrative.summary_paragraph(a, cfg))
    if executive_out is not None:
        write_text(executive_out, narrative.executive_summary(a, cfg))
    write_text(metadata_out, yaml.safe_dump(narrative.report_metadata(cfg), sort_keys=True, allow_unicode=True))


def stage_generated(results_dir: Path, stage: Path) -> Path:
    """Copy the generated content a report includes (tables, figures, text) into a
    folder private to one render."""
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    for sub in ("tables", "figures", "text"):
        src = results_dir / sub
        if src.is_dir():
            shutil.copytree(src, stage / sub, ignore=shutil.ignore_patterns(".*"))
    meta = results_dir / "text" / "metadata.yml"
    if meta.exists():
        shutil.copy2(meta, stage / "metadata.yml")
    return stage


def render_report(source, results_dir, fmt: str, out_file, info_out, work_dir, engine: str = "auto") -> dict:
    from analysis.render import render_document

    work_dir = Path(work_dir)
    stage = stage_generated(Path(results_dir), work_dir.with_name(work_dir.name + "-generated"))
    info = render_document(Path(source), stage, fmt, Path(out_file), work_dir, engine=engine)
    write_text(info_out, json.dumps(info, indent=2, sort_keys=True) + "\n")
    return info
