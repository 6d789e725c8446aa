"""File-level steps of the kinetics stage (SAP §9): each reads its inputs, calls the
pure derivations of analysis.kinetics / analysis.kinetics_report and writes its
outputs atomically. The Snakemake scripts workflow/scripts/kinetics_*.py call these."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis import kinetics as kin
from analysis import kinetics_report as rep
from analysis.ard import ARD
from analysis.atomic import write_text
from analysis.pipeline import load_sdtm, write_parquet
from analysis.tables import Table, write_table


def _pc_status(meta_path, domains) -> tuple[bool, str]:
    """(done, reason): PC absent from the export (ingest.json domains_absent) or empty."""
    meta = json.loads(Path(meta_path).read_text(encoding="utf-8"))
    absent = {d.upper() for d in meta.get("domains_absent", [])}
    return kin.pc_status(set() if "PC" in absent else {"PC"}, domains.get("PC"))


def build_kinetics_adam(meta_path, adsl_path, adpc_out, adpp_out, adcyt_out, cfg: dict) -> None:
    """ADPC, ADPP (0 rows when PC is absent) and ADCYT."""
    domains, _present = load_sdtm(meta_path)
    adsl = pd.read_parquet(adsl_path)
    done, _ = _pc_status(meta_path, domains)
    pc = domains.get("PC") if done else None
    adpc = kin.derive_adpc(pc, domains["EX"], adsl, cfg)
    write_parquet(adpc, adpc_out)
    write_parquet(kin.derive_adpp(adpc, cfg), adpp_out)
    write_parquet(kin.derive_adcyt(domains["LB"], domains["EX"], domains["AE"], adsl), adcyt_out)


def build_ard_kinetics(meta_path, adsl_path, adpc_path, adpp_path, adcyt_path, part_out, cfg: dict) -> None:
    domains, present = load_sdtm(meta_path)
    adsl = pd.read_parquet(adsl_path)
    done, reason = _pc_status(meta_path, domains)
    best = kin.derive_best_pchg(domains["TU"], domains["TR"], adsl, domains.get("CM") if "CM" in present else None)
    part = kin.ard_kinetics(pd.read_parquet(adpc_path), pd.read_parquet(adpp_path), pd.read_parquet(adcyt_path),
                            adsl, domains["EX"], best, done, reason, cfg)
    write_parquet(part, part_out)


def _write_not_done(tid: str, title: str, reason: str, out_dir) -> None:
    """The file set of a table whose analysis was not done: a one-cell table, and in the
    report (.md) one sentence saying why."""
    t = Table(id=tid, title=title, population="not done", columns=["Status"], rows=[[f"not done: {reason}"]])
    write_table(t, out_dir)
    write_text(Path(out_dir) / f"{tid}.md", rep.not_done_table(tid, title, reason))


def build_tables_kinetics(ard_path, out_dir, cfg: dict) -> None:
    a = ARD.read(ard_path)
    done, reason = rep.status(a)
    if done:
        write_table(rep.table_nca(a, cfg), out_dir)
        write_table(rep.table_biodist(a, cfg), out_dir)
    else:
        _write_not_done("T-NCA", "Cellular kinetics: non-compartmental parameters", reason, out_dir)
        _write_not_done("T-BIODIST", "Biodistribution: tissue-to-blood ratio", reason, out_dir)
    write_table(rep.table_cytokines(a, cfg), out_dir)


def build_figures_kinetics(ard_path, adpc_path, adcyt_path, out_dir, cfg: dict) -> None:
    a = ARD.read(ard_path)
    out_dir = Path(out_dir)
    done, reason = rep.status(a)
    if done:
        rep.figure_pk(a, pd.read_parquet(adpc_path), cfg, out_dir / "F-PK.png", out_dir / "F-PK.svg")
    else:
        rep.placeholder_figure(f"F-PK not done: {reason}", out_dir / "F-PK.png", out_dir / "F-PK.svg")
    adcyt = pd.read_parquet(adcyt_path)
    if len(adcyt) and adcyt["R2BASE"].notna().any():
        rep.figure_cytokines(a, adcyt, cfg, out_dir / "F-CYTO.png", out_dir / "F-CYTO.svg")
    else:
        rep.placeholder_figure("F-CYTO not done: no cytokine results", out_dir / "F-CYTO.png", out_dir / "F-CYTO.svg")


def build_text_kinetics(ard_path, text_out, fig_pk_out, fig_cyto_out, cfg: dict) -> None:
    a = ARD.read(ard_path)
    write_text(text_out, rep.kinetics_paragraph(a, cfg))
    write_text(fig_pk_out, rep.figure_block_pk(a, cfg))
    write_text(fig_cyto_out, rep.figure_block_cyto(a, cfg))
