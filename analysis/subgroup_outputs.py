"""Subgroup outputs (SAP §8, §10): T-SUBGRP, T-DEMO and the subgroup paragraph, built
from the ARD only (rows `subgroup`, `orr`, `dcr`, `subgroup_km`, `fisher`, `cox`,
`demog`; analysis.subgroups writes them). The forest plots are in subgroup_figures.py.

Every output carries the exploratory caveat: the analyses are unadjusted, the p-values
descriptive and not adjusted for multiplicity."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from analysis.ard import ARD, NO_CART, OVERALL
from analysis.efficacy import MONTH, parse_reasons
from analysis.narrative import plural
from analysis.subgroups import ALL, FACTOR, LEVEL, MISSING, pretty_level
from analysis.tables import Table, dose_columns, n_pct

SMALL = "\u2020"
EN = "\u2013"
CAVEAT = ("Exploratory subgroup analyses (SAP §8): unadjusted, with p-values that are descriptive and not "
          "adjusted for multiplicity; most groups are small. They generate hypotheses; they do not confirm "
          "differences between subgroups.")


# --------------------------------------------------------------------------- reading

def num(v: str) -> float:
    return float(v) if v not in ("", None) else math.nan


@dataclass
class LevelView:
    code: str
    label: str
    n: int
    small: bool
    missing: bool
    orr: dict = field(default_factory=dict)
    dcr: dict = field(default_factory=dict)
    km: dict = field(default_factory=dict)
    km_reasons: dict = field(default_factory=dict)
    cox: dict = field(default_factory=dict)
    cox_reason: str = ""
    is_reference: bool = False
    details: list = field(default_factory=list)


@dataclass
class FactorView:
    variable: str
    id: str
    label: str
    analysable: bool
    reason: str
    cutoff_text: str
    reference: str
    detail: str
    n_missing: int
    fisher_p: float
    fisher_method: str
    fisher_reason: str
    levels: list[LevelView]

    @property
    def reference_label(self) -> str:
        return next((lv.label for lv in self.levels if lv.code == self.reference), self.reference)


def _stats(ard: ARD, **eq) -> dict[str, str]:
    sel = ard.select(**eq)
    return dict(zip(sel["stat"], sel["value"]))


def read_factors(ard: ARD) -> list[FactorView]:
    """The subgroup factors of the ARD, in the order of the settings."""
    sub = ard.select(analysis="subgroup")
    heads = sub[(sub["group_level"] == ALL) & (sub["variable"] == FACTOR)]
    out = []
    for var in dict.fromkeys(heads["group"]):
        h = _stats(ard, analysis="subgroup", group=var, group_level=ALL, variable=FACTOR)
        levels = []
        lv_rows = sub[(sub["group"] == var) & (sub["variable"] == LEVEL)]
        for code in dict.fromkeys(lv_rows["group_level"]):
            s = _stats(ard, analysis="subgroup", group=var, group_level=code, variable=LEVEL)
            lv = LevelView(code, s.get("label", code), int(num(s.get("n", "0"))), s.get("small") == "Y",
                           s.get("missing") == "Y")
            lv.orr = _stats(ard, analysis="orr", group=var, group_level=code, variable="CBOR")
            lv.dcr = _stats(ard, analysis="dcr", group=var, group_level=code, variable="CBOR")
            lv.km = _stats(ard, analysis="subgroup_km", group=var, group_level=code, variable="PFS")
            lv.km_reasons = parse_reasons(lv.km.get("reason", ""))
            lv.cox = _stats(ard, analysis="cox", group=var, group_level=code, variable="PFS")
            lv.cox_reason = parse_reasons(lv.cox.get("reason", "")).get("hr", "")
            lv.is_reference = code == h.get("reference")
            if h.get("detail"):
                d = sub[(sub["group"] == var) & (sub["group_level"] == code) & (sub["variable"] == h["detail"])]
                lv.details = [(r.variable_level, int(num(r.value))) for r in d.itertuples()]
            levels.append((int(num(s.get("order", "0"))), lv))
        f = _stats(ard, analysis="fisher", group=var, group_level=ALL, variable="CBOR")
        out.append(FactorView(
            variable=var, id=h.get("id", var), label=h.get("label", var), analysable=h.get("analysable") == "Y",
            reason=h.get("reason", ""), cutoff_text=h.get("cutoff_text", ""), reference=h.get("reference", ""),
            detail=h.get("detail", ""), n_missing=int(num(h.get("n_missing", "0") or "0")),
            fisher_p=num(f.get("p", "")), fisher_method=f.get("method", ""),
            fisher_reason=parse_reasons(f.get("reason", "")).get("p", ""),
            levels=[lv for _, lv in sorted(levels, key=lambda x: x[0])]))
    return out


def overall_view(ard: ARD) -> LevelView:
    """The efficacy-evaluable set as a whole (efficacy stage's orr/dcr, subgroup_km overall)."""
    orr = _stats(ard, analysis="orr", group=OVERALL, group_level=OVERALL, variable="CBOR")
    lv = LevelView(OVERALL, "All efficacy-evaluable subjects", int(num(orr.get("n", "0"))), False, False)
    lv.orr = orr
    lv.dcr = _stats(ard, analysis="dcr", group=OVERALL, group_level=OVERALL, variable="CBOR")
    lv.km = _stats(ard, analysis="subgroup_km", group=OVERALL, group_level=OVERALL, variable="PFS")
    lv.km_reasons = parse_reasons(lv.km.get("reason", ""))
    return lv


# --------------------------------------------------------------------------- cells

def pct(x: float) -> str:
    return "" if math.isnan(x) else f"{100 * x:.1f}"


def p_text(p: float) -> str:
    if math.isnan(p):
        return ""
    return "<0.001" if p < 0.0005 else f"{min(p, 1.0):.3f}"


def prop_cell(s: dict, with_n: bool = True) -> str:
    """'k/n (%) [lcl–ucl]' (or 'k (%) [lcl–ucl]') from orr/dcr stats; an em dash without
    subjects."""
    n = int(num(s.get("n", "0") or "0"))
    if n == 0:
        return "\u2014"
    k = int(num(s["n_resp"]))
    return (f"{k}/{n}" if with_n else f"{k}") + f" ({pct(num(s['estimate']))}) [{pct(num(s['lcl']))}{EN}{pct(num(s['ucl']))}]"


def nobreak(text: str) -> str:
    """A word joiner after every en dash of a range, so that a line never breaks inside
    '5.0–53.8' (typst and Word break after an en dash). Report markdown only."""
    return re.sub("\u2013(?=[0-9A-Z])", "\u2013\u2060", text)


def write_table_nobreak(t: Table, out_dir, left: int = 1) -> None:
    """write_table (md, csv, html, rtf); the report's markdown again with ranges that do
    not break (the csv keeps plain text)."""
    from dataclasses import replace

    from analysis.atomic import write_text
    from analysis.safety_tables import to_markdown_aligned
    from analysis.tables import write_table
    paths = write_table(t, out_dir)
    t2 = replace(t, rows=[[nobreak(c) for c in r] for r in t.rows])
    write_text(paths[0], to_markdown_aligned(t2, left))


def _km_part(lv: LevelView, stat: str) -> str:
    v = num(lv.km.get(stat, ""))
    if not math.isnan(v):
        return f"{v / MONTH:.1f}"
    return "NR" if "not reached" in lv.km_reasons.get(stat, "") else "NE"


def km_cell(lv: LevelView) -> str:
    """'events/n; median (lcl–ucl)' in months; NR not reached, NE not estimable."""
    n = int(num(lv.km.get("n", "0") or "0"))
    if n == 0:
        return "\u2014"
    ev = int(num(lv.km.get("events", "0")))
    return f"{ev}/{n}; {_km_part(lv, 'median')} ({_km_part(lv, 'median_lcl')}{EN}{_km_part(lv, 'median_ucl')})"


def hr_text(lv: LevelView, digits: int = 2) -> str:
    hr = num(lv.cox.get("hr", ""))
    if math.isnan(hr):
        return ""
    return (f"{hr:.{digits}f} ({num(lv.cox['hr_lcl']):.{digits}f}{EN}{num(lv.cox['hr_ucl']):.{digits}f})")


def short_reason(reason: str) -> str:
    """A reason without its 'not estimable: ' / 'not computed: ' prefix."""
    for pre in ("not estimable: ", "not computed: ", "not analysable: "):
        if reason.startswith(pre):
            return reason[len(pre):]
    return reason


class Notes:
    """Letters for the reasons of missing estimates, in order of first use."""

    def __init__(self):
        self.items: dict[str, str] = {}

    def mark(self, reason: str) -> str:
        if reason not in self.items:
            self.items[reason] = chr(ord("a") + len(self.items)) if len(self.items) < 26 else str(len(self.items) + 1)
        return f"({self.items[reason]})"

    def lines(self) -> list[str]:
        return [f"({k}) {v}" for v, k in self.items.items()]


# --------------------------------------------------------------------------- T-SUBGRP

SUBGRP_COLUMNS = ["Subgroup", "n", "ORR, n (%) [95% CI]", "DCR, n (%) [95% CI]", "PFS events",
                  "Median PFS, months (95% CI)", "PFS HR vs reference (95% CI)", "p (HR)"]


def km_events(lv: LevelView) -> str:
    return "" if int(num(lv.km.get("n", "0") or "0")) == 0 else str(int(num(lv.km.get("events", "0"))))


def km_median_cell(lv: LevelView) -> str:
    if int(num(lv.km.get("n", "0") or "0")) == 0:
        return "\u2014"
    return f"{_km_part(lv, 'median')} ({_km_part(lv, 'median_lcl')}{EN}{_km_part(lv, 'median_ucl')})"


def subgroup_rows(factors: list[FactorView], notes: Notes, overall: LevelView | None = None) -> list[list[str]]:
    """Rows of T-SUBGRP (and of the Phase IB readiness table): per factor a heading row
    (Fisher p, reference level), then one row per level."""
    rows = []
    blank = [""] * (len(SUBGRP_COLUMNS) - 1)
    if overall is not None:
        rows.append([f"**{overall.label}**", str(overall.n), prop_cell(overall.orr, False),
                     prop_cell(overall.dcr, False), km_events(overall), km_median_cell(overall), "", ""])
    for f in factors:
        if not f.analysable:
            rows.append([f"**{f.label}** ({f.variable})"] + blank)
            rows.append([f"\u2003not analysable {notes.mark(short_reason(f.reason))}"] + blank)
            continue
        if math.isnan(f.fisher_p):
            ftext = f"test not computed {notes.mark(short_reason(f.fisher_reason))}" if f.fisher_reason else ""
        else:
            name = "Fisher" if f.fisher_method.startswith("Fisher") else "Freeman\u2013Halton"
            ftext = f"{name} p = {p_text(f.fisher_p)}"
        ref = f"reference: {f.reference_label}" if f.reference else ""
        rows.append([f"**{f.label}** ({f.variable})", "", ftext, "", "", "", ref, ""])
        for lv in f.levels:
            p = ""
            if lv.is_reference:
                hr = "1 (reference)"
            elif lv.cox:
                t = hr_text(lv)
                hr = t if t else f"NE {notes.mark(short_reason(lv.cox_reason))}"
                p = p_text(num(lv.cox.get("p", ""))) if t else ""
            else:
                hr = "not compared" if lv.missing else ""
            rows.append([f"\u2003{lv.label}", f"{lv.n}{SMALL if lv.small else ''}", prop_cell(lv.orr, False),
                         prop_cell(lv.dcr, False), km_events(lv), km_median_cell(lv), hr, p])
    return rows


def subgroup_method_notes(cfg: dict) -> list[str]:
    small = int(cfg.get("small_group_n", 3))
    return [
        "n: efficacy-evaluable subjects in the level. ORR: confirmed CR+PR; DCR: CR+PR+SD (investigator, "
        "RECIST 1.1, confirmed best overall response); 95% CI exact Clopper\u2013Pearson, in %. Missing: "
        "subjects without a value of the factor, shown as a level but left out of the tests.",
        f"PFS: Kaplan\u2013Meier median with the Brookmeyer\u2013Crowley 95% CI (log-log transform), as in the "
        f"efficacy stage; months = days / {MONTH}; NR not reached, NE not estimable.",
        "Between levels, ORR: Fisher's exact test (two-sided) for two levels, its Freeman\u2013Halton extension "
        "(exact test of the r \u00d7 2 table) for more; levels without subjects are left out. PFS: hazard ratio "
        "of each level against the reference level, Cox model fitted to the subjects of the two levels "
        "(lifelines, Efron ties), Wald 95% CI and p; not estimable when either level has no subject or no "
        "event, when the partial likelihood is monotone (separation) or when the fit does not converge.",
        f"{SMALL} Fewer than {small} subjects in the level (SAP §3: shown, but flagged).",
    ]


def _cutoff_notes(factors: list[FactorView]) -> list[str]:
    parts = [f"{f.label}: {f.cutoff_text}" for f in factors if f.cutoff_text]
    return ["Cut-offs. " + "; ".join(parts) + "."] if parts else []


def _detail_notes(factors: list[FactorView]) -> list[str]:
    out = []
    for f in factors:
        if not f.detail or not f.analysable:
            continue
        per = [f"{lv.label}: " + ", ".join(f"{d} ({k})" for d, k in lv.details) for lv in f.levels if lv.details]
        if per:
            out.append(f"{f.label} \u2014 {f.detail} listed within each level: " + "; ".join(per) + ".")
    return out


def table_subgroups(ard: ARD, cfg: dict) -> Table:
    factors = read_factors(ard)
    overall = overall_view(ard)
    notes = Notes()
    rows = subgroup_rows(factors, notes, overall)
    return Table(
        id="T-SUBGRP", title="Response and progression-free survival by subgroup (exploratory)",
        population=f"efficacy-evaluable set, N = {overall.n}",
        columns=SUBGRP_COLUMNS, rows=rows,
        footnotes=[CAVEAT, *subgroup_method_notes(cfg), *_cutoff_notes(factors), *_detail_notes(factors),
                   *notes.lines()])


# --------------------------------------------------------------------------- T-DEMO

VAR_LABELS = {
    "AGE": "Age, years", "SEX": "Sex", "RACE": "Race", "COHORT": "Cohort", "HISTOL": "Histology",
    "NKGLHS": "NKG2D ligand H-score", "NKGLGR": "NKG2D ligand expression", "PRIORREG": "Prior regimens, number",
    "PRIORGR": "Prior regimens", "BSLD": "Target sum, mm", "BSLDGR": "Tumour burden", "CEABL": "CEA, ng/mL",
    "CEAGR": "CEA", "CA199BL": "CA19-9, U/mL", "CA199GR": "CA19-9", "GLRBL": "GLR", "GLRGR": "GLR",
    "METSITES": "Organ sites, number", "SITESGR": "Organ sites", "LIVONLY": "Metastatic sites",
}
DIGITS = {"AGE": 0, "NKGLHS": 0, "PRIORREG": 0, "METSITES": 0, "BSLD": 1, "CEABL": 1, "CA199BL": 1, "GLRBL": 2}
CAT_LABELS = {"SEX": {"F": "Female", "M": "Male", "U": "Unknown"}}


def _level_labels(ard: ARD) -> dict[tuple[str, str], str]:
    sel = ard.select(analysis="subgroup", variable=LEVEL, stat="label")
    return {(r.group, r.group_level): r.value for r in sel.itertuples()}


def _demo_columns(ard: ARD, cfg: dict, small: int):
    out = []
    for g, gl, head in dose_columns(cfg["dose_levels"]):
        n = ard.int("demog", "N", "n", g, gl)
        name = head.split(" ")[0] if g == "DOSELVL" and gl != NO_CART else head
        out.append((g, gl, f"{name} (N = {n}){SMALL if 0 < n < small else ''}", n))
    return out


def _range_cell(s: dict, digits: int) -> str:
    n = int(num(s.get("n", "0") or "0"))
    miss = int(num(s.get("n_missing", "0") or "0"))
    if n == 0:
        return "\u2014" + (f" (missing {miss})" if miss else "")
    f = (lambda v, d=digits: f"{num(v):.{d}f}")
    # The median of integer-valued data can end in .5: one decimal more than the range.
    cell = f"{f(s['median'], max(digits, 1))} ({f(s['min'])}{EN}{f(s['max'])})"
    return cell + (f"; missing {miss}" if miss else "")


def table_demo(ard: ARD, cfg: dict) -> Table:
    small = int(cfg.get("small_group_n", 3))
    cols = _demo_columns(ard, cfg, small)
    labels = _level_labels(ard)
    demog = ard.select(analysis="demog")
    variables = [v for v in dict.fromkeys(demog["variable"]) if v != "N"]
    rows, absent = [], []
    for var in variables:
        reason = demog[(demog["variable"] == var) & (demog["stat"] == "reason")]
        if len(reason):
            absent.append(f"{VAR_LABELS.get(var, var)} ({var}): {reason['value'].iloc[0]}")
            continue
        levels = [x for x in dict.fromkeys(demog[(demog["variable"] == var)]["variable_level"]) if x != ""]
        label = VAR_LABELS.get(var, var)
        if not levels:                                       # continuous
            cells = [_range_cell(_stats(ard, analysis="demog", group=g, group_level=gl, variable=var),
                                 DIGITS.get(var, 1)) for g, gl, _, _ in cols]
            rows.append([f"**{label}** ({var})"] + cells)
            continue
        rows.append([f"**{label}** ({var}), n (%)"] + [""] * len(cols))
        for lvl in levels:
            cat = (CAT_LABELS.get(var, {}).get(lvl) or labels.get((var, lvl))
                   or (MISSING if lvl == MISSING else pretty_level(lvl)))
            cells = [n_pct(ard.int("demog", var, "n", g, gl, lvl), n) for g, gl, _, n in cols]
            rows.append([f"\u2003{cat}"] + cells)
    factors = read_factors(ard)
    notes = ["Categories: n (%) of the subjects in the column; continuous variables: median (min\u2013max), with "
             "the number missing when any. Baseline: the last value on or before the first infusion. Target sum: "
             "sum of the diameters of the target lesions at baseline (short axis for lymph nodes). GLR: "
             "granulocyte-to-lymphocyte ratio (neutrophils \u00f7 lymphocytes). Organ sites: organs with "
             "baseline lesions. Columns: CAR-T dose level actually given at the first CAR-T infusion; No CAR-T = "
             "treated with CAR-NK only.",
             "Every subgroup factor of SAP §8 is shown (the dose level as the columns). The tumour-burden groups "
             "use the cut-off of the subgroup analyses (derived in the efficacy-evaluable set)."]
    notes += _cutoff_notes(factors)
    if absent:
        notes.append("Not available: " + "; ".join(absent) + ".")
    notes.append(f"{SMALL} Fewer than {small} subjects in the column (SAP §3: shown, but flagged).")
    return Table(id="T-DEMO", title="Demographics and baseline characteristics, including the subgroup factors",
                 population=f"safety set, N = {cols[-1][3]}",
                 columns=["Characteristic"] + [h for _, _, h, _ in cols], rows=rows, footnotes=notes)


# --------------------------------------------------------------------------- text

def lc(label: str) -> str:
    """'Colorectal' -> 'colorectal'; 'DL1', 'CEA' unchanged."""
    return label[0].lower() + label[1:] if label[:1].isupper() and label[1:2].islower() else label


def rate_phrase(lv: LevelView) -> str:
    n = int(num(lv.orr.get("n", "0") or "0"))
    if n == 0:
        return f"no subject in {lc(lv.label)}"
    k = int(num(lv.orr["n_resp"]))
    where = "subjects without a value" if lv.missing else lc(lv.label)
    return f"{pct(num(lv.orr['estimate']))}% ({k}/{n}) in {where}"


def factor_sentence(f: FactorView) -> str:
    lv = [x for x in f.levels if x.n > 0]
    text = f"By {lc(f.label)}, the confirmed ORR was " + ", ".join(rate_phrase(x) for x in lv)
    if not math.isnan(f.fisher_p):
        name = "Fisher's exact test" if f.fisher_method.startswith("Fisher") else "Freeman\u2013Halton test"
        text += f" ({name} p = {p_text(f.fisher_p)})"
    elif f.fisher_reason:
        text += f" (no test: {short_reason(f.fisher_reason)})"
    hrs = []
    for x in f.levels:
        if x.is_reference or not x.cox:
            continue
        t = hr_text(x)
        hrs.append(f"{lc(x.label)} {t.replace(' (', ' (95% CI ', 1)}" if t
                   else f"{lc(x.label)} not estimable ({short_reason(x.cox_reason)})")
    if hrs:
        text += (f"; PFS hazard ratio against {lc(f.reference_label)}: "
                 + "; ".join(hrs))
    return text + "."


def subgroup_paragraph(ard: ARD, cfg: dict, highlight: tuple[str, ...] = ("COHORT", "NKGLGR")) -> str:
    factors = read_factors(ard)
    overall = overall_view(ard)
    ok = [f for f in factors if f.analysable]
    bad = [f for f in factors if not f.analysable]
    small = int(cfg.get("small_group_n", 3))
    n_small = sum(1 for f in ok for lv in f.levels if lv.small)
    n_levels = sum(1 for f in ok for lv in f.levels if lv.n > 0)
    n_cox = sum(1 for f in ok for lv in f.levels if lv.cox and not lv.is_reference)
    n_cox_ne = sum(1 for f in ok for lv in f.levels if lv.cox and not lv.is_reference and not hr_text(lv))
    text = (f"**These subgroup analyses are exploratory and unadjusted.** They follow SAP §8 in the "
            f"efficacy-evaluable set (N = {overall.n}); nothing is adjusted for multiplicity or for other "
            f"factors, the p-values are descriptive, and {n_small} of the {n_levels} levels with subjects "
            f"have fewer than {small} subjects. Differences between subgroups can arise by chance and are not "
            f"evidence of an effect. {plural(len(ok), 'factor')} of {len(factors)} could be analysed")
    text += (": " + "; ".join(f"{f.label} is not analysable ({short_reason(f.reason)})" for f in bad) + "."
             if bad else ".")
    bsld = next((f for f in ok if f.variable == "BSLDGR"), None)
    if bsld and bsld.cutoff_text:
        text += f" Tumour burden: {bsld.cutoff_text}."
    if n_cox_ne:
        text += (f" Of the {n_cox} hazard ratios against a reference level, {n_cox_ne} "
                 f"{'is' if n_cox_ne == 1 else 'are'} not estimable (a level without subjects or without events, "
                 "a monotone likelihood, or a fit that does not converge); the table gives each reason.")
    elif n_cox:
        text += f" All {n_cox} hazard ratios against a reference level are estimable."
    text += "\n\n"
    for var in highlight:
        f = next((x for x in ok if x.variable == var), None)
        if f:
            text += factor_sentence(f) + " "
    return text.rstrip() + "\n"
