"""File-level steps of the escalation and safety stage (SAP §4, §5): each reads its inputs,
calls the derivations and writes its outputs atomically. workflow/scripts/safety_*.py
call these."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import escalation as esc
from analysis import safety_ard as sard
from analysis import safety_listings as sl
from analysis import safety_tables as st
from analysis.adae import derive_adae, safety_settings
from analysis.adlb import derive_adlb, hepatic_peaks, load_criteria, worst_post_baseline
from analysis.ard import ARD
from analysis.atomic import write_text
from analysis.pipeline import load_sdtm, write_parquet

ESC_PARTS = ["dlt", "escalation", "esc_replay", "esc_subject", "isotonic"]
SAFETY_PARTS = ["teae_ovr", "teae", "teae_rel", "crs", "lab_shift", "edish"]
TABLE_IDS = ["T-DLT", "T-ESC", "T-TEAE-OVR", "T-TEAE-SOCPT", "T-TEAE-REL", "T-CRS", "T-LAB-SHIFT"]
LISTING_IDS = ["L-DEATH", "L-SAE", "L-DLT", "L-TEAE-G3", "L-CRS", "L-HYSLAW"]
FIGURE_IDS = ["F-ESC", "F-EDISH"]
# Left-aligned (text) columns of the report's markdown: the first n, or a set of indexes.
_AE_LEFT = {0, 1, 2, 4, 6, 7, 8, 9, 10, 11}
LEFT = {"T-ESC": {0, 1, 2, 5, 6, 7, 8}, "T-LAB-SHIFT": 3, "L-DEATH": {0, 1, 2, 5}, "L-SAE": _AE_LEFT,
        "L-DLT": _AE_LEFT, "L-TEAE-G3": _AE_LEFT, "L-CRS": {0, 1, 2, 4, 5, 8, 9, 10}, "L-HYSLAW": {0, 1, 2, 3, 7}}


def _domain(domains: dict, present: set, code: str):
    return domains.get(code) if code in present else None


def build_adae(meta_path, adsl_path, out_path, cfg: dict) -> pd.DataFrame:
    domains, present = load_sdtm(meta_path)
    adsl = pd.read_parquet(adsl_path)
    adae = derive_adae(domains["AE"], adsl, domains["EX"], _domain(domains, present, "CM"), cfg)
    write_parquet(adae, out_path)
    return adae


def build_adlb(meta_path, adsl_path, out_path, cfg: dict) -> pd.DataFrame:
    adlb = _derive_adlb_from(meta_path, adsl_path, cfg)
    write_parquet(adlb, out_path)
    return adlb


def _derive_adlb_from(meta_path, adsl_path, cfg: dict) -> pd.DataFrame:
    """ADLB of the run's SDTM and ADSL; the domains are released on return, before the
    file is written (peak memory at load size)."""
    domains, present = load_sdtm(meta_path)
    adsl = pd.read_parquet(adsl_path)
    return derive_adlb(domains["LB"], adsl, domains["EX"], _domain(domains, present, "CM"), cfg)


def build_ard_escalation(adsl_path, adae_path, outputs: dict, cfg: dict) -> None:
    adsl, adae = pd.read_parquet(adsl_path), pd.read_parquet(adae_path)
    rules = esc.Rules.from_config(cfg)
    levels = list(cfg["dose_levels"])
    subjects = esc.escalation_subjects(adsl, adae, pd.Timestamp(cfg["data_cut"]))
    table, status = esc.replay(subjects, rules)
    parts = {
        "dlt": sard.ard_dlt(subjects, levels),
        "escalation": sard.ard_escalation(status, cfg["escalation"].get("rp2d")),
        "esc_replay": sard.ard_esc_replay(table),
        "esc_subject": sard.ard_esc_subject(subjects, table),
        "isotonic": sard.ard_isotonic(subjects, levels),
    }
    for name, df in parts.items():
        write_parquet(df, outputs[name])


def build_ard_safety(adsl_path, adae_path, adlb_path, outputs: dict, cfg: dict) -> None:
    adsl, adae, adlb = (pd.read_parquet(p) for p in (adsl_path, adae_path, adlb_path))
    levels = list(cfg["dose_levels"])
    settings = safety_settings(cfg)
    params = list(dict.fromkeys(load_criteria(settings["lab_criteria"])["paramcd"]))
    peaks, pairs = hepatic_peaks(adlb, settings["hyslaw_window_days"])
    saf = set(adsl.loc[adsl["SAFFL"].eq("Y"), "USUBJID"])
    peaks = peaks[peaks["USUBJID"].isin(saf)]
    parts = {
        "teae_ovr": sard.ard_teae_ovr(adsl, adae, levels),
        "teae": sard.ard_teae_terms(adsl, adae, levels, "teae"),
        "teae_rel": sard.ard_teae_terms(adsl, adae, levels, "teae_rel", related_only=True),
        "crs": sard.ard_crs(adsl, adae, levels),
        "lab_shift": sard.ard_lab_shift(adsl, worst_post_baseline(adlb), levels, params),
        "edish": sard.ard_edish(peaks, pairs[pairs["USUBJID"].isin(saf)], adsl),
    }
    for name, df in parts.items():
        write_parquet(df, outputs[name])


def build_tables_safety(ard_path, out_dir, fig_dir, text_out, cfg: dict) -> None:
    a = ARD.read(ard_path)
    crit = load_criteria(safety_settings(cfg)["lab_criteria"])
    params = list(crit.drop_duplicates("paramcd")[["paramcd", "term"]].itertuples(index=False, name=None))
    for t in (st.table_dlt(a, cfg), st.table_esc(a, cfg), st.table_teae_ovr(a, cfg), st.table_teae_socpt(a, cfg),
              st.table_teae_rel(a, cfg), st.table_crs(a, cfg), st.table_lab_shift(a, cfg, params)):
        st.write_table_aligned(t, out_dir, LEFT.get(t.id, 1))
    fig_dir = Path(fig_dir)
    st.figure_esc(a, cfg, fig_dir / "F-ESC.png", fig_dir / "F-ESC.svg")
    st.figure_edish(a, cfg, fig_dir / "F-EDISH.png", fig_dir / "F-EDISH.svg")
    write_text(text_out, st.safety_paragraph(a, cfg))


def build_listings_safety(adsl_path, adae_path, adlb_path, out_dir, cfg: dict) -> None:
    adsl, adae, adlb = (pd.read_parquet(p) for p in (adsl_path, adae_path, adlb_path))
    window = safety_settings(cfg)["hyslaw_window_days"]
    _peaks, pairs = hepatic_peaks(adlb, window)
    pairs = pairs[pairs["USUBJID"].isin(set(adsl.loc[adsl["SAFFL"].eq("Y"), "USUBJID"]))]
    for t in (sl.listing_death(adsl, adae), sl.listing_sae(adae), sl.listing_dlt(adae), sl.listing_teae_g3(adae),
              sl.listing_crs(adae), sl.listing_hyslaw(pairs, window)):
        st.write_table_aligned(t, out_dir, LEFT.get(t.id, set(range(len(t.columns)))))
