"""File-level steps of the eligibility audit (SAP §2): read inputs, call the
derivations of analysis.eligibility / analysis.eligibility_outputs, write atomically.
The Snakemake scripts workflow/scripts/eligibility_*.py call these."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis import eligibility as elig
from analysis import eligibility_outputs as out
from analysis.ard import ARD
from analysis.atomic import atomic_path, write_text

#: SDTM domains the audit reads (besides ADSL); DM values (AGE, SEX) come from ADSL.
DOMAINS = ("EX", "LB", "VS", "QS", "EG", "CV")


def _write_parquet(df: pd.DataFrame, path) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def load_domains(meta_path) -> tuple[dict[str, pd.DataFrame], set[str]]:
    """The domains the audit needs, from the ingest folder, and those present in the export."""
    meta_path = Path(meta_path)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    present = {d.upper() for d in meta.get("domains_present", [])}
    domains = {}
    for dom in DOMAINS:
        p = meta_path.parent / f"{dom.lower()}.parquet"
        if p.exists():
            domains[dom] = pd.read_parquet(p)
    return domains, present


def build_adelig(meta_path, adsl_path, criteria_path, out_path) -> pd.DataFrame:
    domains, present = load_domains(meta_path)
    adsl = pd.read_parquet(adsl_path)
    adelig = elig.derive_adelig(adsl, domains, present, elig.read_criteria(criteria_path))
    _write_parquet(adelig, out_path)
    return adelig


def build_ard_eligibility(adelig_path, criteria_path, out_path) -> None:
    adelig = pd.read_parquet(adelig_path)
    _write_parquet(elig.ard_eligibility(adelig, elig.read_criteria(criteria_path)), out_path)


def build_tables_eligibility(ard_path, adelig_path, criteria_path, out_dir) -> None:
    criteria = elig.read_criteria(criteria_path)
    out.write_aligned(out.table_elig(ARD.read(ard_path), criteria), out_dir)
    out.write_aligned(out.listing_elig(pd.read_parquet(adelig_path), criteria), out_dir)


def build_eligibility_text(ard_path, criteria_path, text_out, summary_out) -> None:
    a = ARD.read(ard_path)
    criteria = elig.read_criteria(criteria_path)
    write_text(text_out, out.eligibility_paragraph(a, criteria))
    write_text(summary_out, out.eligibility_summary(a, criteria))
