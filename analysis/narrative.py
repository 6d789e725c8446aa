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


# --------------------------------------------------------------------------- executive summary

MONTH = 30.4375


def _months(days: str) -> str:
    return "NE" if days in ("", None) else f"{float(days) / MONTH:.1f}"


def _pct(x: str) -> str:
    return f"{100 * float(x):.1f}"


def _prop(ard: ARD, analysis: str, variable: str, group="overall", level="overall") -> str:
    g = lambda s: ard.get(analysis, variable, s, group, level)  # noqa: E731
    if g("n") in ("", "0"):
        return "not estimable (no subject in the denominator)"
    return (f"{g('n_resp')}/{g('n')} ({_pct(g('estimate'))}%; 95% CI {_pct(g('lcl'))}–{_pct(g('ucl'))}%, "
            f"Clopper–Pearson)")


def _median(ard: ARD, param: str) -> str:
    g = lambda s: ard.get("km", param, s)  # noqa: E731
    med = g("median")
    if med == "":
        return "not reached"
    return (f"{_months(med)} months (95% CI {_months(g('median_lcl'))}–{_months(g('median_ucl'))}; "
            f"Brookmeyer–Crowley, log-log)")


def executive_summary(ard: ARD, cfg: dict) -> str:
    """Key results of the interim analysis, each read from the ARD (SAP §10). A result
    whose analysis is absent from the ARD is said to be not available, never invented."""
    bullets = []
    n = {s: ard.int("sets", s, "n") for s in ("ENROLLED", "SAFETY", "CART", "DLTEVAL", "EFFEVAL", "KINETICS")}
    bullets.append(f"**Analysis sets** (data cut {long_date(cfg['data_cut'])}): enrolled {n['ENROLLED']}, "
                   f"safety {n['SAFETY']}, CAR-T {n['CART']}, DLT-evaluable {n['DLTEVAL']}, "
                   f"efficacy-evaluable {n['EFFEVAL']}, kinetics {n['KINETICS']}.")
    try:
        per = []
        for lvl in cfg["dose_levels"]:
            try:
                ev = ard.get("dlt", "DLT", "n_evaluable", "DOSELVL", lvl)
            except KeyError:
                continue
            if ev not in ("", "0"):
                per.append(f"{lvl} {ard.get('dlt', 'DLT', 'n_dlt', 'DOSELVL', lvl)}/{ev}")
        mtd = ard.get("escalation", "MTD", "level") or "not determined"
        rp2d = ard.get("escalation", "RP2D", "level") or "not declared"
        high = ard.get("escalation", "HIGHEST_TESTED", "level")
        bullets.append(
            f"**Dose escalation:** {ard.get('dlt', 'DLT', 'n_dlt')} DLT(s) among "
            f"{ard.get('dlt', 'DLT', 'n_evaluable')} DLT-evaluable subjects ({', '.join(per)}); "
            f"MTD {mtd.lower() if mtd == 'NOT REACHED' else mtd}; highest level tested {high}; RP2D {rp2d}.")
    except KeyError:
        bullets.append("**Dose escalation:** not available in this run.")
    try:
        N = ard.int("teae_ovr", "N", "n")
        g = lambda v: ard.int("teae_ovr", v, "n")  # noqa: E731
        pc = lambda k: f"{k} ({100 * k / N:.1f}%)" if N else str(k)  # noqa: E731
        worst = [ard.int("crs", "CRS", f"n_g{k}") for k in (3, 4, 5)]
        bullets.append(
            f"**Safety** (safety set, N = {N}): grade ≥3 TEAE in {pc(g('G3'))} subjects, serious TEAE in "
            f"{pc(g('SER'))}; cytokine release syndrome in {pc(g('CRS'))} (grade ≥3 in {sum(worst)}), "
            f"ICANS in {pc(g('ICANS'))}; TEAE leading to death in {pc(g('DEATH'))}.")
    except KeyError:
        bullets.append("**Safety:** not available in this run.")
    try:
        bullets.append(f"**Response** (efficacy-evaluable set): confirmed ORR {_prop(ard, 'orr', 'CBOR')}; "
                       f"DCR {_prop(ard, 'dcr', 'CBOR')}.")
    except KeyError:
        bullets.append("**Response:** not available in this run.")
    try:
        bullets.append(f"**Survival:** median PFS {_median(ard, 'PFS')}; median OS {_median(ard, 'OS')}.")
    except KeyError:
        bullets.append("**Survival:** not available in this run.")
    bullets.append("All p-values and subgroup results are descriptive and exploratory; nothing is adjusted "
                   "for multiplicity.")
    return "\n".join(f"- {b}" for b in bullets) + "\n"
