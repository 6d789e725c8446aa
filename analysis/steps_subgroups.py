"""File-level steps of the subgroup stage (SAP §8, T-DEMO) and of the Phase IB readiness
summary (SAP §10): read the inputs, call analysis.subgroups / subgroup_outputs /
subgroup_figures / readiness, write the outputs atomically. The Snakemake scripts in
workflow/scripts/subgroups_*.py and readiness.py call these."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis import ard as ardmod
from analysis import readiness as RD
from analysis import subgroup_figures as F
from analysis import subgroup_outputs as O
from analysis import subgroups as SG
from analysis.atomic import write_text
from analysis.pipeline import write_parquet


def build_ard_subgroups(adsl_path, adrs_path, adtte_path, ingest_path, out_path, cfg: dict) -> None:
    adsl = pd.read_parquet(adsl_path)
    adrs = pd.read_parquet(adrs_path)
    adtte = pd.read_parquet(adtte_path)
    meta = json.loads(Path(ingest_path).read_text(encoding="utf-8"))
    write_parquet(SG.ard_subgroups(adsl, adrs, adtte, cfg, set(meta.get("domains_absent", []))), out_path)


def build_ard_demog(adsl_path, out_path, cfg: dict) -> None:
    write_parquet(SG.ard_demog(pd.read_parquet(adsl_path), cfg), out_path)


def build_outputs_subgroups(ard_path, table_dir, fig_dir, text_out, cfg: dict) -> None:
    a = ardmod.ARD.read(ard_path)
    O.write_table_nobreak(O.table_subgroups(a, cfg), table_dir)
    O.write_table_nobreak(O.table_demo(a, cfg), table_dir)
    F.write_forest_plots(a, cfg, fig_dir)
    write_text(text_out, O.subgroup_paragraph(a, cfg))


def build_readiness(ard_path, table_dir, text_dir, cfg: dict) -> None:
    a = ardmod.ARD.read(ard_path)
    tables, texts = RD.build_all(a, cfg)
    for t in tables:
        O.write_table_nobreak(t, table_dir, 2 if t.id in ("T-P1B-FACTS", "T-P1B-COHORTS") else 1)
    for name, text in texts.items():
        write_text(Path(text_dir) / f"{name}.md", text)
