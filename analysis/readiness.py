"""Phase IB readiness summary (SAP §10, report 2; issue #7 item 2): the facts the ethics
amendment before Phase IB needs, from the ARD only.

* escalation outcome and RP2D rationale: ARD `escalation` (MTD, RP2D, HIGHEST_TESTED,
  STOP) and `dlt` (per dose level), written by the safety stage;
* safety at the RP2D, or at the highest level tested when no RP2D is declared (said
  so): ARD `teae_ovr` of that level and of the whole safety set;
* response and PFS by histology and NKG2D-ligand level: the subgroup rows (`subgroup`,
  `orr`, `dcr`, `subgroup_km`, `fisher`, `cox`) of the factors in
  ``phase_ib.readiness_factors`` -- the Phase IB readiness table;
* the proposed expansion cohorts (config ``phase_ib.expansion_cohorts``: cohort, planned
  size) beside what Phase IA observed in each;
* the facts of the amendment: data cut, N per analysis set, dose levels.

Outputs: tables T-P1B-ESC, T-P1B-SAFETY, T-P1B-RESP, T-P1B-COHORTS, T-P1B-FACTS and
the paragraphs text/phase-ib-escalation.md, phase-ib-safety.md, phase-ib-response.md.
"""
from __future__ import annotations

import math

from analysis.adsl import SETS
from analysis.ard import ARD, OVERALL
from analysis.narrative import long_date, plural
from analysis.safety_tables import OVR_ROWS
from analysis.subgroup_outputs import (CAVEAT, EN, SUBGRP_COLUMNS, Notes, factor_sentence, num, km_events, km_median_cell, lc,
                                       pct, read_factors, subgroup_method_notes, subgroup_rows)
from analysis.tables import Table, n_pct, sci

TABLES = ["T-P1B-ESC", "T-P1B-SAFETY", "T-P1B-RESP", "T-P1B-COHORTS", "T-P1B-FACTS"]
TEXTS = ["phase-ib-escalation", "phase-ib-safety", "phase-ib-response"]
DEFAULT_COHORTS = [{"cohort": "CRC", "label": "Colorectal cancer", "min_n": 9, "max_n": 18},
                   {"cohort": "GC", "label": "Gastric cancer", "min_n": 9, "max_n": 18},
                   {"cohort": "EC", "label": "Oesophageal cancer", "min_n": 9, "max_n": 18},
                   {"cohort": "OTHER", "label": "Other solid tumours with liver metastases", "min_n": 9, "max_n": 18}]
DEFAULT_FACTORS = ["COHORT", "NKGLGR"]


def _get(ard: ARD, analysis, variable, stat, group=OVERALL, group_level=OVERALL, variable_level="") -> str:
    try:
        return ard.get(analysis, variable, stat, group, group_level, variable_level)
    except KeyError:
        return ""


def _int(v: str) -> int:
    return int(float(v)) if v not in ("", None) else 0


def _settings(cfg: dict) -> dict:
    p = cfg.get("phase_ib") or {}
    return {"expansion_cohorts": p.get("expansion_cohorts") or DEFAULT_COHORTS,
            "readiness_factors": p.get("readiness_factors") or DEFAULT_FACTORS}


def chosen_level(ard: ARD) -> tuple[str | None, str]:
    """The level whose safety is summarised: the declared RP2D, else the highest level
    tested; with the basis ('RP2D', 'HIGHEST_TESTED' or '' when neither exists)."""
    rp2d = _get(ard, "escalation", "RP2D", "level")
    if rp2d:
        return rp2d, "RP2D"
    hi = _get(ard, "escalation", "HIGHEST_TESTED", "level")
    return (hi, "HIGHEST_TESTED") if hi else (None, "")


def _level_or_reason(ard: ARD, var: str) -> str:
    v = _get(ard, "escalation", var, "level")
    if v == "NOT REACHED":
        return "not reached"
    return v if v else (_get(ard, "escalation", var, "reason") or "not available")


def _dlt_text(ard: ARD, lvl: str, name_level: bool = True) -> str:
    at = f" at {lvl}" if name_level else ""
    k, n = _int(_get(ard, "dlt", "DLT", "n_dlt", "DOSELVL", lvl)), _int(_get(ard, "dlt", "DLT", "n_evaluable", "DOSELVL", lvl))
    rate = num(_get(ard, "dlt", "DLT", "rate", "DOSELVL", lvl))
    if n == 0:
        return f"no DLT-evaluable subject{at}"
    return (f"{k}/{n} DLT-evaluable subjects{at} had a DLT ({pct(rate)}%, 95% CI "
            f"{pct(num(_get(ard, 'dlt', 'DLT', 'lcl', 'DOSELVL', lvl)))}{EN}"
            f"{pct(num(_get(ard, 'dlt', 'DLT', 'ucl', 'DOSELVL', lvl)))}%, Clopper\u2013Pearson)")


# --------------------------------------------------------------------------- escalation

def table_escalation(ard: ARD, cfg: dict) -> Table:
    levels = cfg["dose_levels"]
    rows = []
    for lvl, dose in levels.items():
        g = ("DOSELVL", lvl)
        n_tr = _int(_get(ard, "dlt", "DLT", "n_treated", *g))
        n_ev = _int(_get(ard, "dlt", "DLT", "n_evaluable", *g))
        k = _int(_get(ard, "dlt", "DLT", "n_dlt", *g))
        rate = num(_get(ard, "dlt", "DLT", "rate", *g))
        ci = (f"{pct(rate)} ({pct(num(_get(ard, 'dlt', 'DLT', 'lcl', *g)))}{EN}"
              f"{pct(num(_get(ard, 'dlt', 'DLT', 'ucl', *g)))})" if not math.isnan(rate) else "\u2014")
        rows.append([lvl, sci(dose), str(n_tr), str(n_ev), str(k), ci])
    rows.append(["All levels", "", str(_int(_get(ard, "dlt", "DLT", "n_treated"))),
                 str(_int(_get(ard, "dlt", "DLT", "n_evaluable"))), str(_int(_get(ard, "dlt", "DLT", "n_dlt"))), ""])
    stop = _get(ard, "escalation", "STOP", "holds")
    status = [f"MTD: {_level_or_reason(ard, 'MTD')}", f"RP2D: {_level_or_reason(ard, 'RP2D')}",
              f"highest level tested: {_level_or_reason(ard, 'HIGHEST_TESTED')}",
              f"Phase IA stopping condition {'holds' if stop == 'Y' else 'does not hold'} "
              f"({_get(ard, 'escalation', 'STOP', 'condition')})"]
    return Table(id="T-P1B-ESC", title="Escalation outcome: DLTs by CAR-T dose level, MTD and RP2D",
                 population=f"CAR-T set, N = {_int(_get(ard, 'dlt', 'DLT', 'n_treated'))}",
                 columns=["Dose level", "Cells/kg per infusion", "Treated", "DLT-evaluable", "With DLT",
                          "DLT rate, % (95% CI)"], rows=rows,
                 footnotes=["Status at the data cut: " + "; ".join(status) + ".",
                            "DLT rate: exact Clopper\u2013Pearson 95% CI. Rules: accelerated titration then 3+3 "
                            "(SAP §1, §4); the rule replay is in the interim report (T-ESC)."])


def escalation_paragraph(ard: ARD, cfg: dict) -> str:
    levels = list(cfg["dose_levels"])
    per = [f"{_int(_get(ard, 'dlt', 'DLT', 'n_treated', 'DOSELVL', lvl))} at {lvl}" for lvl in levels
           if _int(_get(ard, "dlt", "DLT", "n_treated", "DOSELVL", lvl))]
    n_cart = _int(_get(ard, "dlt", "DLT", "n_treated"))
    n_ev, n_dlt = _int(_get(ard, "dlt", "DLT", "n_evaluable")), _int(_get(ard, "dlt", "DLT", "n_dlt"))
    mtd = _get(ard, "escalation", "MTD", "level")
    mtd_reason = _get(ard, "escalation", "MTD", "reason")
    rp2d = _get(ard, "escalation", "RP2D", "level")
    hi = _get(ard, "escalation", "HIGHEST_TESTED", "level")
    stop = _get(ard, "escalation", "STOP", "holds") == "Y"
    cond = _get(ard, "escalation", "STOP", "condition")
    text = (f"**Escalation outcome.** {plural(n_cart, 'subject')} received CAR-T cells in Phase IA"
            + (f" ({', '.join(per)})" if per else "") + f"; {n_dlt} of {n_ev} DLT-evaluable subjects had a "
            "dose-limiting toxicity. "
            + (f"The MTD is {mtd}" if mtd and mtd != "NOT REACHED" else "The MTD was not reached")
            + (f" ({mtd_reason})" if mtd_reason and not (mtd and mtd != "NOT REACHED") else "")
            + (f"; the highest level tested is {hi}" if hi else "; no subject received CAR-T")
            + f". A Phase IA stopping condition {'holds' if stop else 'does not hold'}"
            + (f" ({cond})" if cond else "") + ".\n\n")
    if rp2d:
        rel = ("the MTD" if rp2d == mtd else
               "below the MTD" if mtd and mtd in levels and levels.index(rp2d) < levels.index(mtd) else
               "the highest level tested, the MTD not being reached" if rp2d == hi else "a level tested")
        text += (f"**RP2D rationale.** The investigators declared {rp2d} as the RP2D; it is {rel}. "
                 f"{_dlt_text(ard, rp2d)[0].upper() + _dlt_text(ard, rp2d)[1:]}. The safety summary below is at "
                 f"{rp2d}.\n")
    elif hi:
        text += (f"**RP2D rationale.** No RP2D has been declared yet (setting `escalation.rp2d`). At the highest "
                 f"level tested, {hi}, {_dlt_text(ard, hi, name_level=False)}"
                 + ("; the MTD was not reached at any level tested" if not (mtd and mtd != 'NOT REACHED')
                    else f"; the MTD is {mtd}")
                 + ". The RP2D is the investigators' decision; **the safety summary below is shown at the highest "
                 f"level tested, {hi}, because no RP2D is declared.**\n")
    else:
        text += "**RP2D rationale.** No subject has received CAR-T cells; no RP2D can be proposed.\n"
    return text


# --------------------------------------------------------------------------- safety

def table_safety(ard: ARD, cfg: dict) -> Table:
    lvl, basis = chosen_level(ard)
    cols = []
    if lvl:
        cols.append(("DOSELVL", lvl, f"{lvl} ({'RP2D' if basis == 'RP2D' else 'highest level tested'})"))
    cols.append((OVERALL, OVERALL, "Safety set"))
    ns = [_int(_get(ard, "teae_ovr", "N", "n", g, gl)) for g, gl, _ in cols]
    rows = [[label] + [n_pct(_int(_get(ard, "teae_ovr", var, "n", g, gl)), n) for (g, gl, _), n in zip(cols, ns)]
            for var, label in OVR_ROWS]
    heads = [f"{h} (N = {n})" for (_, _, h), n in zip(cols, ns)]
    note = ("Level: the declared RP2D." if basis == "RP2D" else
            "Level: no RP2D is declared, so the highest level tested is shown." if lvl else
            "No subject received CAR-T: the whole safety set only.")
    return Table(id="T-P1B-SAFETY", title="Safety at the recommended (or highest tested) dose level",
                 population=f"safety set, N = {ns[-1]}", columns=["Subjects with"] + heads, rows=rows,
                 footnotes=[note, "n (%) of subjects; TEAE, grades and relatedness as in the interim report "
                                  "(T-TEAE-OVR). Column of the level: subjects whose first CAR-T infusion was at "
                                  "that level."])


def safety_paragraph(ard: ARD, cfg: dict) -> str:
    lvl, basis = chosen_level(ard)
    n_all = _int(_get(ard, "teae_ovr", "N", "n"))
    if not lvl:
        return (f"**Safety.** No subject received CAR-T cells; of the {n_all} subjects of the safety set, "
                f"{_int(_get(ard, 'teae_ovr', 'ANY', 'n'))} had a treatment-emergent adverse event.\n")
    n = _int(_get(ard, "teae_ovr", "N", "n", "DOSELVL", lvl))

    def c(var, g="DOSELVL", gl=lvl):
        return _int(_get(ard, "teae_ovr", var, "n", g, gl))
    why = ("the declared RP2D" if basis == "RP2D" else
           "the highest level tested; no RP2D is declared, so this level stands in for it")
    return (f"**Safety at {lvl}** ({why}). Of the {plural(n, 'subject')} treated at {lvl}, {c('ANY')} had a "
            f"treatment-emergent adverse event (TEAE), {c('G3')} a TEAE of grade \u22653 and {c('SER')} a serious TEAE; "
            f"{c('REL_G3')} had a treatment-related TEAE of grade \u22653, {c('DLT')} a dose-limiting toxicity, "
            f"{c('CRS')} cytokine release syndrome and {c('ICANS')} ICANS; {c('DEATH')} had a TEAE leading to death. "
            f"In the whole safety set (N = {n_all}): {c('G3', OVERALL, OVERALL)} with a TEAE of grade \u22653, "
            f"{c('DLT', OVERALL, OVERALL)} with a DLT, {c('CRS', OVERALL, OVERALL)} with CRS, "
            f"{c('DEATH', OVERALL, OVERALL)} with a TEAE leading to death.\n")


# --------------------------------------------------------------------------- response

def _readiness_factors(ard: ARD, cfg: dict):
    want = _settings(cfg)["readiness_factors"]
    have = {f.variable: f for f in read_factors(ard)}
    return [have[v] for v in want if v in have], [v for v in want if v not in have]


def table_response(ard: ARD, cfg: dict) -> Table:
    factors, missing = _readiness_factors(ard, cfg)
    notes = Notes()
    rows = subgroup_rows(factors, notes)
    n = _int(_get(ard, "orr", "CBOR", "n"))
    extra = [f"Factor {v} is not among the subgroup factors (setting subgroups.factors)." for v in missing]
    return Table(id="T-P1B-RESP", title="Phase IB readiness table: response and PFS by histology and NKG2D "
                 "ligand expression", population=f"efficacy-evaluable set, N = {n}", columns=SUBGRP_COLUMNS,
                 rows=rows, footnotes=[CAVEAT, *subgroup_method_notes(cfg),
                                       *[f"{f.label}: {f.cutoff_text}." for f in factors if f.cutoff_text],
                                       *extra, *notes.lines(),
                                       "All factors: T-SUBGRP, F-FOREST-ORR and F-FOREST-PFS of the interim report."])


def response_paragraph(ard: ARD, cfg: dict) -> str:
    factors, _ = _readiness_factors(ard, cfg)
    n = _int(_get(ard, "orr", "CBOR", "n"))
    text = (f"**Response and PFS by histology and NKG2D ligand expression** (efficacy-evaluable set, N = {n}; "
            "exploratory and unadjusted, p-values descriptive). "
            + " ".join(factor_sentence(f) for f in factors if f.analysable))
    bad = [f for f in factors if not f.analysable]
    if bad:
        text += " " + " ".join(f"{f.label} is not analysable ({f.reason.split(': ', 1)[-1]})." for f in bad)
    return text + "\n"


# --------------------------------------------------------------------------- cohorts

def table_cohorts(ard: ARD, cfg: dict) -> Table:
    cohorts = _settings(cfg)["expansion_cohorts"]
    hist = next((f for f in read_factors(ard) if f.variable == "COHORT"), None)
    levels = {lv.code: lv for lv in (hist.levels if hist else [])}
    rows = []
    for c in cohorts:
        code = str(c["cohort"])
        treated = _int(_get(ard, "demog", "COHORT", "n", variable_level=code))
        lv = levels.get(code)
        if lv and lv.n:
            k, n = _int(lv.orr.get("n_resp", "")), _int(lv.orr.get("n", ""))
            orr = f"{k}/{n} ({pct(num(lv.orr.get('estimate', '')))})"
            pfs = f"{km_events(lv)}; {km_median_cell(lv)}"
        else:
            orr, pfs = "\u2014", "\u2014"
        size = f"{c['min_n']}{EN}{c['max_n']}" if c.get("min_n") != c.get("max_n") else str(c["max_n"])
        rows.append([c.get("label", code), code, size, str(treated), str(lv.n if lv else 0), orr, pfs])
    tot_min = sum(int(c["min_n"]) for c in cohorts)
    tot_max = sum(int(c["max_n"]) for c in cohorts)
    rows.append(["Total", "", f"{tot_min}{EN}{tot_max}", "", "", "", ""])
    return Table(id="T-P1B-COHORTS", title="Proposed Phase IB expansion cohorts and the data to date in each",
                 population="planned sizes from the protocol; to date: safety and efficacy-evaluable sets",
                 columns=["Expansion cohort", "COHORT", "Planned patients", "Treated to date",
                          "Efficacy-evaluable to date", "Confirmed ORR, n/N (%)",
                          "PFS events; median, months (95% CI)"], rows=rows,
                 footnotes=["Planned sizes: the protocol's expansion cohorts of 9\u201318 patients each "
                            "(setting phase_ib.expansion_cohorts). To date: subjects of the data up to the data "
                            "cut by cohort (SUPPDM COHORT), all dose levels pooled.",
                            "ORR and PFS as in T-SUBGRP; exploratory, small numbers."])


# --------------------------------------------------------------------------- facts

def table_facts(ard: ARD, cfg: dict) -> Table:
    rows = [["Trial", cfg["study"]["id"]], ["Data cut", f"{cfg['data_cut']} ({long_date(cfg['data_cut'])})"]]
    rows.append(["Subjects screened", str(_int(_get(ard, "sets", "SCREENED", "n")))])
    for _flag, name, label, _r in SETS:
        rows.append([f"{label} set, N", str(_int(_get(ard, "sets", name, "n")))])
    nk = cfg.get("car_nk_dose") or {}
    if nk:
        rows.append(["CAR-NK (hepatic artery), fixed dose",
                     f"{sci(nk['day0_cells'])} cells day 0 + {sci(nk['day1_cells'])} cells day 1"])
    for lvl, dose in cfg["dose_levels"].items():
        k = _int(_get(ard, "sets", "CART", "n", "DOSELVL", lvl))
        rows.append([f"CAR-T {lvl}, cells/kg per infusion (subjects treated)", f"{sci(dose)} ({k})"])
    for var, label in (("MTD", "MTD"), ("RP2D", "RP2D"), ("HIGHEST_TESTED", "Highest level tested")):
        rows.append([label, _level_or_reason(ard, var)])
    stop = _get(ard, "escalation", "STOP", "holds")
    rows.append(["Phase IA stopping condition", ("holds" if stop == "Y" else "does not hold")
                 + (f": {_get(ard, 'escalation', 'STOP', 'condition')}" if _get(ard, "escalation", "STOP", "condition") else "")])
    coh = _settings(cfg)["expansion_cohorts"]
    rows.append(["Proposed expansion cohorts", "; ".join(f"{c.get('label', c['cohort'])} "
                                                          f"{c['min_n']}{EN}{c['max_n']}" for c in coh)])
    return Table(id="T-P1B-FACTS", title="Facts for the amendment", population="all subjects in DM",
                 columns=["Item", "Value"], rows=rows,
                 footnotes=["Analysis sets as defined in SAP §2; N from the ARD (`sets`). Dose level = the CAR-T "
                            "level actually given at the first CAR-T infusion."])


def build_all(ard: ARD, cfg: dict) -> tuple[list[Table], dict[str, str]]:
    tables = [table_escalation(ard, cfg), table_safety(ard, cfg), table_response(ard, cfg),
              table_cohorts(ard, cfg), table_facts(ard, cfg)]
    texts = {"phase-ib-escalation": escalation_paragraph(ard, cfg), "phase-ib-safety": safety_paragraph(ard, cfg),
             "phase-ib-response": response_paragraph(ard, cfg)}
    return tables, texts
