"""Generated report text. Every number is read from the ARD."""
from __future__ import annotations

import datetime as dt

from analysis.ard import ARD


def long_date(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    return f"{d.day} {d.strftime('%B')} {d.year}"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def summary_paragraph(ard: ARD, cfg: dict) -> str:
    """Data cut and N per analysis set (SAP §10: generated narrative)."""
    n = {s: ard.int("sets", s, "n") for s in ("ENROLLED", "SAFETY", "CART", "DLTEVAL", "EFFEVAL", "KINETICS")}
    screened = ard.int("sets", "SCREENED", "n")
    sf = ard.int("disp", "SCREENING", "n", variable_level="SCREEN FAILURE")
    levels = [lvl for lvl in cfg["dose_levels"]]
    per_level = []
    for lvl in levels:
        k = ard.int("sets", "CART", "n", "DOSELVL", lvl)
        if k:
            per_level.append(f"{k} at {lvl}")
    no_cart = n["SAFETY"] - n["CART"]
    text = (
        f"This interim analysis of {cfg['study']['id']} includes all data up to the data cut of "
        f"{long_date(cfg['data_cut'])}. Of {plural(screened, 'subject')} screened, "
        f"{sf} {'was a screen failure' if sf == 1 else 'were screen failures'} and "
        f"{n['ENROLLED']} {'was' if n['ENROLLED'] == 1 else 'were'} enrolled; "
        f"{n['SAFETY']} received at least one infusion (safety set) and {n['CART']} received "
        f"CAR-T cells (CAR-T set"
        + (f": {', '.join(per_level)}" if per_level else "") + ")"
        + (f"; {plural(no_cart, 'subject')} received CAR-NK cells only" if no_cart else "")
        + f". {n['DLTEVAL']} {'subject was' if n['DLTEVAL'] == 1 else 'subjects were'} evaluable for DLT, "
        f"{n['EFFEVAL']} for efficacy and {n['KINETICS']} for cellular kinetics."
    )
    return text + " " + datacut_sentence(ard) + "\n"


def datacut_sentence(ard: ARD) -> str:
    """Records excluded by the data cut (SAP §3), per domain."""
    sel = ard.select(analysis="datacut", stat="n_excluded")
    excl = [(r.variable, int(float(r.value))) for r in sel.itertuples() if r.value not in ("", "0")]
    blanked = ard.select(analysis="datacut", stat="n_deaths_after_cut_blanked")
    n_bl = int(float(blanked["value"].iloc[0])) if len(blanked) else 0
    if not excl and not n_bl:
        return "No record was dated after the data cut."
    total = sum(n for _, n in excl)
    parts = ", ".join(f"{d} {n}" for d, n in excl)
    text = (f"{plural(total, 'record')} dated after the data cut {'was' if total == 1 else 'were'} "
            f"excluded before any derivation ({parts})." if excl else "")
    if n_bl:
        text += f" {plural(n_bl, 'death')} after the data cut {'is' if n_bl == 1 else 'are'} not counted."
    return text.strip()


def report_metadata(cfg: dict, version: str | None = None) -> dict:
    """Title-page values of the reports (metadata.yml)."""
    return {
        "study_id": cfg["study"]["id"],
        "study_title": cfg["study"]["title"],
        "data_cut": cfg["data_cut"],
        "data_cut_long": long_date(cfg["data_cut"]),
        "report_version": version or cfg.get("reports", {}).get("version", ""),
        "confidentiality": "Confidential",
    }
