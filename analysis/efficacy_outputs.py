"""Efficacy tables (T-BOR, T-ORR, T-CONC, T-TTE), the concordance listing (L-CONC) and
the efficacy paragraph. Tables and text read the ARD only; the listing lists ADaM
records (ADRS)."""
from __future__ import annotations

import math

import pandas as pd

from analysis.ard import ARD, OVERALL
from analysis.efficacy import CONC_VAR, MONTH, pair_timepoints, parse_reasons, settings
from analysis.narrative import plural
from analysis.stats import CP_LABEL
from analysis.survival import METHOD
from analysis.tables import Table, dose_columns, n_pct

CAT_LABELS = {"CR": "Complete response (CR)", "PR": "Partial response (PR)", "SD": "Stable disease (SD)",
              "NON-CR/NON-PD": "Non-CR/non-PD", "PD": "Progressive disease (PD)", "NE": "Not evaluable (NE)",
              "MISSING": "No post-baseline assessment"}
ALWAYS = ("CR", "PR", "SD", "PD", "NE")
PARAM_LABELS = {"CBOR": "Confirmed best overall response", "BOR": "Unconfirmed best overall response",
                "HBOR": "Intrahepatic confirmed best overall response (liver lesions)"}
TTE_LABELS = {"PFS": "Progression-free survival", "OS": "Overall survival",
              "DOR": "Duration of response (confirmed responders)"}
SMALL = "†"


def _cols(ard: ARD, cfg: dict, analysis: str = "bor", variable: str = "CBOR", stat: str = "n_total"):
    """Dose columns with their N in the header; small groups flagged."""
    small = int(cfg.get("small_group_n", 3))
    out = []
    for g, gl, head in dose_columns(cfg["dose_levels"]):
        n = ard.int(analysis, variable, stat, g, gl)
        out.append((g, gl, f"{head} (N = {n}){SMALL if 0 < n < small else ''}", n))
    return out


def nact_note(ard: ARD) -> list[str]:
    """A note when assessments were not cut at new anticancer therapy."""
    try:
        if ard.get("rules", "NEW_THERAPY_CUT", "applied") == "Y":
            return []
        why = parse_reasons(ard.get("rules", "NEW_THERAPY_CUT", "reason")).get("applied", "")
    except KeyError:
        return []
    return [f"New anticancer therapy: NOT taken into account ({why}); assessments after it are used."]


def _small_note(cfg: dict) -> str:
    return (f"{SMALL} Fewer than {int(cfg.get('small_group_n', 3))} subjects in the column: shown, "
            "but interpret with care. No adjustment for multiplicity; results by dose level are descriptive.")


def pct1(x: float) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def ci_text(lo: float, hi: float, scale: float = 100.0, missing: str = "NE") -> str:
    f = (lambda v: missing if v is None or math.isnan(v) else f"{scale * v:.1f}")
    return f"{f(lo)}–{f(hi)}"


# --------------------------------------------------------------------------- T-BOR

def table_bor(ard: ARD, cfg: dict) -> Table:
    cols = _cols(ard, cfg)
    rows = []
    for param in ("CBOR", "BOR"):
        rows.append([f"**{PARAM_LABELS[param]}**"] + [""] * len(cols))
        for cat in ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE", "MISSING"):
            ns = [ard.int("bor", param, "n", g, gl, cat) for g, gl, _, _ in cols]
            if cat not in ALWAYS and not any(ns):
                continue
            rows.append([f"\u2003{CAT_LABELS[cat]}"] + [n_pct(k, N) for k, (_, _, _, N) in zip(ns, cols)])
    rc = settings(cfg)
    return Table(
        id="T-BOR", title="Best overall response (RECIST 1.1, investigator), confirmed and unconfirmed",
        population=f"efficacy-evaluable set, N = {cols[-1][3]}",
        columns=["Best overall response"] + [h for _, _, h, _ in cols], rows=rows,
        footnotes=[
            "n (%) of the efficacy-evaluable subjects in the column. Columns: CAR-T dose level actually given; "
            "No CAR-T = CAR-NK only.",
            f"Assessments after study day 1, one per date (the worst), up to and including the first PD and on or "
            f"before the start of a new anticancer therapy. Confirmed CR/PR: a later CR/PR at least "
            f"{rc.get('confirm_min_days', 28)} days later, with at most {rc.get('max_ne_between', 1)} NE and no SD "
            f"or PD in between. SD: an assessment at least {rc.get('sd_min_days', 42)} days after study day 1; an "
            "unconfirmed CR/PR that late counts as SD in the confirmed BOR.",
            "No post-baseline assessment: efficacy-evaluable through death or clinical progression before the "
            "first assessment.", *nact_note(ard),
            _small_note(cfg)])


# --------------------------------------------------------------------------- T-ORR

def _prop_cells(ard: ARD, analysis: str, variable: str, cols) -> tuple[list[str], list[str]]:
    a, b = [], []
    for g, gl, _, _ in cols:
        k, n = ard.int(analysis, variable, "n_resp", g, gl), ard.int(analysis, variable, "n", g, gl)
        est = ard.num(analysis, variable, "estimate", g, gl)
        a.append(f"{k}/{n} ({pct1(est)})" if n else "0/0")
        b.append(ci_text(ard.num(analysis, variable, "lcl", g, gl), ard.num(analysis, variable, "ucl", g, gl))
                 if n else "")
    return a, b


def table_orr(ard: ARD, cfg: dict) -> Table:
    cols = _cols(ard, cfg)
    rows = []
    spec = [("orr", "CBOR", "Objective response rate, confirmed (CR+PR)"),
            ("dcr", "CBOR", "Disease control rate (CR+PR+SD)"),
            ("orr", "BOR", "Objective response rate, unconfirmed (CR+PR)"),
            ("orr", "HBOR", "Intrahepatic objective response rate, confirmed (liver lesions)"),
            ("dcr", "HBOR", "Intrahepatic disease control rate (liver lesions)")]
    for analysis, variable, label in spec:
        a, b = _prop_cells(ard, analysis, variable, cols)
        rows.append([f"**{label}**, n/N (%)"] + a)
        rows.append([f"\u2003{CP_LABEL}, %"] + b)
    return Table(
        id="T-ORR", title="Objective response and disease control rates, with the intrahepatic response",
        population=f"efficacy-evaluable set, N = {cols[-1][3]}",
        columns=["Rate"] + [h for _, _, h, _ in cols], rows=rows,
        footnotes=[
            "Denominator: efficacy-evaluable subjects in the column. ORR and DCR from the confirmed best overall "
            "response (investigator, RECIST 1.1); the unconfirmed ORR is the Phase I convention. Non-CR/non-PD "
            "is not counted as disease control.",
            "Intrahepatic response (exploratory): the same rules applied to timepoint responses recomputed from "
            "the liver lesions only (target, non-target and new lesions located in the liver).",
            "95% CI: exact Clopper–Pearson.", _small_note(cfg)])


# --------------------------------------------------------------------------- T-CONC / L-CONC

def table_concordance(ard: ARD) -> Table:
    c = ard.select(analysis="conc", variable=CONC_VAR, stat="n")
    c = c[c["variable_level"] != ""]
    pairs = [tuple(v.split("->")) for v in c["variable_level"]]
    counts = dict(zip(pairs, c["value"].astype(float).astype(int)))
    order = ["CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE"]
    inv = [x for x in order if any(p[0] == x for p in pairs)] + sorted({p[0] for p in pairs} - set(order))
    calc = [x for x in order if any(p[1] == x for p in pairs)] + sorted({p[1] for p in pairs} - set(order))
    rows = []
    for i in inv:
        cells = [str(counts.get((i, k), 0)) for k in calc]
        rows.append([i] + cells + [str(sum(counts.get((i, k), 0) for k in calc))])
    rows.append(["Total"] + [str(sum(counts.get((i, k), 0) for i in inv)) for k in calc]
                + [str(sum(counts.values()))])
    n = ard.int("conc", CONC_VAR, "n_pairs")
    notes = ["Rows: investigator's timepoint response (RS); columns: response recomputed from the lesion "
             "measurements (TU/TR) by RECIST 1.1 — target sum with lymph nodes by short axis, PR at ≥30% below "
             "the baseline sum, PD at ≥20% and ≥5 mm above the nadir, a new lesion, or unequivocal non-target "
             "progression. Assessments paired by visit. The investigator's response is primary."]
    if n:
        kappa = ard.get("conc", CONC_VAR, "kappa")
        notes.append(
            f"Agreement {ard.int('conc', CONC_VAR, 'n_agree')}/{n} "
            f"({pct1(ard.num('conc', CONC_VAR, 'agreement'))}%; {CP_LABEL} "
            f"{ci_text(ard.num('conc', CONC_VAR, 'agreement_lcl'), ard.num('conc', CONC_VAR, 'agreement_ucl'))}%); "
            f"Cohen's kappa {float(kappa):.2f}." if kappa else "Cohen's kappa not estimable.")
    return Table(id="T-CONC", title="Timepoint response: investigator versus recomputed from measurements",
                 population=f"post-baseline assessments of treated subjects, N = {n} pairs",
                 columns=["Investigator"] + calc + ["Total"], rows=rows, footnotes=notes,
                 spanners=[("Recomputed from the measurements", 1, len(calc))] if calc else [])


def listing_concordance(adrs: pd.DataFrame) -> Table:
    p = pair_timepoints(adrs)
    d = p[~p["AGREE"]]

    def f(x, spec="{:.1f}"):
        return "" if x is None or pd.isna(x) else spec.format(x)
    rows = [[str(r.USUBJID).split("-")[-1], r.DOSELVL if not pd.isna(r.DOSELVL) else "No CAR-T", str(r.VISIT),
             r.ADT.strftime("%Y-%m-%d"), r.INV, r.CALC, f(getattr(r, "TRGRESP", None), "{}"),
             f(getattr(r, "NTRGRESP", None), "{}"), f(getattr(r, "NEWLES", None), "{}"),
             f(getattr(r, "SUMDIAM", None))] for r in d.itertuples()]
    if not rows:
        rows = [["No disagreement"] + [""] * 9]
    return Table(id="L-CONC", title="Listing of every disagreement between the investigator's and the recomputed "
                 "timepoint response", population=f"{len(d)} of {len(p)} paired assessments",
                 columns=["Subject", "Dose level", "Visit", "Date (investigator)", "Investigator", "Recomputed",
                          "Target", "Non-target", "New lesion", "Target sum (mm)"],
                 rows=rows, label="tbl-l-conc",
                 footnotes=["Subject: the last part of USUBJID. Target / Non-target / New lesion: the recomputed "
                            "components. Target sum empty when a target lesion was not measured."])


# --------------------------------------------------------------------------- T-TTE

def _months(x: float) -> str:
    return f"{x / MONTH:.1f}"


def _est(ard: ARD, variable: str, stat: str, g: str, gl: str, reasons: dict, scale) -> str:
    v = ard.num("km", variable, stat, g, gl)
    if not math.isnan(v):
        return scale(v)
    why = reasons.get(stat, "")
    return "NR" if "not reached" in why else "NE"


def km_cell(ard: ARD, variable: str, prefix: str, g: str, gl: str, scale) -> str:
    """'est (lcl–ucl)' of a km estimate; NR = not reached, NE = not estimable."""
    if ard.int("km", variable, "n", g, gl) == 0:
        return ""
    sel = ard.select(analysis="km", variable=variable, group=g, group_level=gl, stat="reason")
    reasons = parse_reasons(sel["value"].iloc[0]) if len(sel) else {}
    e = _est(ard, variable, prefix, g, gl, reasons, scale)
    lo = _est(ard, variable, f"{prefix}_lcl", g, gl, reasons, scale)
    hi = _est(ard, variable, f"{prefix}_ucl", g, gl, reasons, scale)
    return f"{e} ({lo}–{hi})"


def table_tte(ard: ARD, cfg: dict, days=(91, 183)) -> Table:
    set_flag = settings(cfg)["tte_set"]
    cols = _cols(ard, cfg, "km", "PFS", "n")
    rows = []
    pct = (lambda v: f"{100 * v:.1f}")
    for param in ("PFS", "OS", "DOR"):
        rows.append([f"**{TTE_LABELS[param]}**"] + [""] * len(cols))
        ns = [ard.int("km", param, "n", g, gl) for g, gl, _, _ in cols]
        ev = [ard.int("km", param, "events", g, gl) for g, gl, _, _ in cols]
        rows.append(["\u2003Subjects, n"] + [str(n) for n in ns])
        rows.append(["\u2003Events, n (%)"] + [n_pct(e, n) if n else "" for e, n in zip(ev, ns)])
        rows.append(["\u2003Median, months (95% CI)"] + [km_cell(ard, param, "median", g, gl, _months)
                                                           for g, gl, _, _ in cols])
        for d in days:
            rows.append([f"\u2003Rate at {round(d / MONTH)} months (day {d}), % (95% CI)"]
                        + [km_cell(ard, param, f"surv_{d}", g, gl, pct) for g, gl, _, _ in cols])
        rows.append(["\u2003Median follow-up (reverse KM), months (95% CI)"]
                    + [km_cell(ard, param, "median_fu", g, gl, _months) for g, gl, _, _ in cols])
    setname = "efficacy-evaluable" if set_flag == "EFFFL" else "safety"
    rc = settings(cfg)
    miss = rc.get("missed_assessments_window_days")
    return Table(
        id="T-TTE", title="Progression-free survival, overall survival and duration of response (Kaplan–Meier)",
        population=f"{setname} set, N = {cols[-1][3]}",
        columns=["Endpoint"] + [h for _, _, h, _ in cols], rows=rows,
        footnotes=[
            f"{METHOD}. Months = days / {MONTH}. NR: not reached; NE: not estimable (follow-up shorter than the "
            "time point, or no event).",
            "Time from study day 1 (first CAR-NK infusion); AVAL = end date − study day 1 + 1. PFS event: first PD "
            "(RECIST 1.1, investigator) or death; censored at the last adequate tumour assessment before the data "
            "cut, or before a new anticancer therapy"
            + (f", or before an event that follows two or more missed assessments (more than {miss} days)"
               if miss else "")
            + "; at day 1 without an adequate post-baseline assessment. OS: censored at the last date known alive. "
            f"DOR: {'confirmed' if rc.get('dor_responders', 'confirmed') == 'confirmed' else 'unconfirmed'} "
            "responders, from the first CR/PR to PD or death, censored like PFS.", *nact_note(ard),
            *logrank_note(ard),
            _small_note(cfg)])


def logrank_note(ard: ARD) -> list[str]:
    parts = []
    for v in ("PFS", "OS", "DOR"):
        try:
            p = ard.num("logrank", v, "p", "DOSELVL", "all")
        except KeyError:
            continue
        if math.isnan(p):
            why = parse_reasons(ard.get("logrank", v, "reason", "DOSELVL", "all")).get("p", "not estimable")
            parts.append(f"{v} not tested ({why})")
        else:
            parts.append(f"{v} p = {p:.3f} (chi-square {ard.num('logrank', v, 'chisq', 'DOSELVL', 'all'):.2f}, "
                         f"{ard.int('logrank', v, 'df', 'DOSELVL', 'all')} df)")
    return ["Log-rank test between CAR-T dose levels (descriptive, not adjusted for multiplicity): "
            + "; ".join(parts) + "."] if parts else []


# --------------------------------------------------------------------------- text

def _rate_sentence(ard: ARD, analysis: str, variable: str) -> str:
    k, n = ard.int(analysis, variable, "n_resp"), ard.int(analysis, variable, "n")
    if n == 0:
        return "not estimable (no efficacy-evaluable subject)"
    return (f"{pct1(ard.num(analysis, variable, 'estimate'))}% ({k}/{n}; 95% CI "
            f"{ci_text(ard.num(analysis, variable, 'lcl'), ard.num(analysis, variable, 'ucl'))}%, Clopper–Pearson)")


def _median_sentence(ard: ARD, variable: str, what: str) -> str:
    n, e = ard.int("km", variable, "n"), ard.int("km", variable, "events")
    if n == 0:
        return f"{what} could not be estimated (no subject)"
    cell = km_cell(ard, variable, "median", OVERALL, OVERALL, _months)
    est, _, ci = cell.partition(" (")
    ci = ci.rstrip(")")
    events = f"{plural(e, 'event')} among {plural(n, 'subject')}"
    if est == "NR":
        return f"median {what} was not reached ({events})"
    return f"median {what} was {est} months (95% CI {ci} months; {events})"


def efficacy_paragraph(ard: ARD, cfg: dict) -> str:
    n = ard.int("bor", "CBOR", "n_total")
    fu = km_cell(ard, "OS", "median_fu", OVERALL, OVERALL, _months).partition(" (")[0]
    text = (
        f"In the efficacy-evaluable set (N = {n}), the confirmed objective response rate (investigator, RECIST 1.1) "
        f"was {_rate_sentence(ard, 'orr', 'CBOR')} and the disease control rate "
        f"{_rate_sentence(ard, 'dcr', 'CBOR')}. Without confirmation, the objective response rate was "
        f"{_rate_sentence(ard, 'orr', 'BOR')}. Restricted to the liver lesions (exploratory), the confirmed "
        f"intrahepatic objective response rate was {_rate_sentence(ard, 'orr', 'HBOR')}. "
        f"The {_median_sentence(ard, 'PFS', 'progression-free survival')}; the "
        f"{_median_sentence(ard, 'OS', 'overall survival')}"
        + (f", with a median follow-up of {fu} months (reverse Kaplan–Meier)" if fu not in ("", "NR", "NE") else "")
        + ". Medians: Kaplan–Meier with Brookmeyer–Crowley 95% CIs (log-log transform); months = days / 30.4375."
    )
    return text + "\n"
