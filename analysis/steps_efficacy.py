"""File-level steps of the efficacy stage (SAP §6-7): read the inputs, call the
derivations of analysis.efficacy / efficacy_outputs / efficacy_figures, write the
outputs atomically. The Snakemake scripts in workflow/scripts/efficacy_*.py call these."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import ard as ardmod
from analysis import efficacy as E
from analysis import efficacy_figures as F
from analysis import efficacy_outputs as O
from analysis.atomic import write_text
from analysis.pipeline import load_sdtm, write_parquet
from analysis.tables import write_table


def build_efficacy_adam(adsl_path, meta_path, adrs_out, adtr_out, adtte_out, cfg: dict) -> None:
    adsl = pd.read_parquet(adsl_path)
    domains, present = load_sdtm(meta_path)
    out = E.derive_efficacy_adam(adsl, domains, present, cfg)
    write_parquet(out["adrs"], adrs_out)
    write_parquet(out["adtr"], adtr_out)
    write_parquet(out["adtte"], adtte_out)


def build_ard_efficacy(adsl_path, adrs_path, adtte_path, out_path, cfg: dict) -> None:
    adsl = pd.read_parquet(adsl_path)
    adrs = pd.read_parquet(adrs_path)
    adtte = pd.read_parquet(adtte_path)
    levels = list(cfg["dose_levels"])
    rc = E.settings(cfg)
    days = tuple(int(d) for d in rc.get("survival_days", [91, 183]))
    ard = ardmod.combine([E.ard_response(adsl, adrs, levels), E.ard_concordance(adrs),
                          E.ard_km(adsl, adtte, levels, rc.get("tte_set", "EFFFL"), days),
                          E.ard_logrank(adsl, adtte, levels, rc.get("tte_set", "EFFFL"))])
    write_parquet(ard, out_path)


def build_tables_efficacy(ard_path, adrs_path, out_dir, cfg: dict) -> None:
    a = ardmod.ARD.read(ard_path)
    adrs = pd.read_parquet(adrs_path)
    days = tuple(int(d) for d in E.settings(cfg)["survival_days"])
    for t in (O.table_bor(a, cfg), O.table_orr(a, cfg), O.table_concordance(a), O.listing_concordance(adrs),
              O.table_tte(a, cfg, days)):
        write_table(t, out_dir)


def build_figures_efficacy(ard_path, adsl_path, adrs_path, adtr_path, ex_path, out_dir, cfg: dict) -> None:
    out_dir = Path(out_dir)
    levels = list(cfg["dose_levels"])
    a = ardmod.ARD.read(ard_path)
    adsl = pd.read_parquet(adsl_path)
    adrs = pd.read_parquet(adrs_path)
    adtr = pd.read_parquet(adtr_path)
    ex = pd.read_parquet(ex_path)

    def save(fid, p, w, h):
        F.save_figure(p, out_dir / f"{fid}.png", out_dir / f"{fid}.svg", w, h)

    n_eff = int((adsl["EFFFL"] == "Y").sum())
    save("F-WATERFALL", F.waterfall_plot(F.waterfall_data(adtr, adrs, adsl), n_eff), 7.5, 4.6)
    save("F-SPIDER", F.spider_plot(adtr, adsl, levels), 7, 4.4)
    bars, ev = F.swimmer_data(adsl, adrs, ex, cfg["data_cut"])
    save("F-SWIMMER", F.swimmer_plot(bars, ev, levels), 7.5, 1.9 + 0.28 * max(len(bars), 4))
    for fid, var, title in (("F-KM-PFS", "PFS", "Progression-free survival"),
                            ("F-KM-OS", "OS", "Overall survival")):
        p = F.km_plot(a, var, f"{title} (Kaplan–Meier), overall and by CAR-T dose level", levels)
        n_groups = sum(1 for _ in a.select(analysis="km", variable=var, stat="n").itertuples()
                       if float(_.value) > 0)
        save(fid, p, 7, 4.4 + 0.18 * n_groups)


def build_text_efficacy(ard_path, out_path, cfg: dict) -> None:
    write_text(out_path, O.efficacy_paragraph(ardmod.ARD.read(ard_path), cfg))
