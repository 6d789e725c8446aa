"""Outputs of the eligibility audit (SAP §2, §10): T-ELIG (counts per criterion, read
from the ARD), L-ELIG (every criterion not met, listed from ADELIG) and the generated
text (numbers from the ARD; criterion names and thresholds from the metadata)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.ard import ARD
from analysis.eligibility import (ANALYSIS, ANY, NOT_ASSESSABLE, NOT_MET, alternative_text,
                                  criterion_ids, requirement_text)
from analysis.narrative import plural
from analysis.atomic import write_text
from analysis.tables import Table, to_markdown, write_table

KIND_HEAD = {"INCLUSION": "Inclusion criteria", "EXCLUSION": "Exclusion criteria"}
CRITERIA_FILE = "analysis/metadata/eligibility_criteria.csv"


def _first(criteria: pd.DataFrame, cid: str) -> pd.Series:
    return criteria[criteria["criterion_id"] == cid].iloc[0]


NBSP = "\u00a0"  # keeps short labels on one line in the PDF/DOCX tables


def _source(line: pd.Series) -> str:
    return f"{line['domain']}{NBSP}{line['test_code'] or line['value_variable']}"


def _versions(ard: ARD, criteria: pd.DataFrame) -> str:
    vs = sorted({ard.get(ANALYSIS, cid, "version") for cid in criterion_ids(criteria)})
    return ("version " if len(vs) == 1 else "versions ") + ", ".join(vs)


def _lower(name: str) -> str:
    """'Platelets' -> 'platelets'; 'ALT', 'QTc', 'LVEF' stay."""
    return name[0].lower() + name[1:] if len(name) > 1 and name[1].islower() else name


def _has(ard: ARD, cid: str, stat: str) -> bool:
    return len(ard.select(analysis=ANALYSIS, variable=cid, stat=stat)) > 0


# --------------------------------------------------------------------------- T-ELIG

def table_elig(ard: ARD, criteria: pd.DataFrame) -> Table:
    """T-ELIG: per criterion, treated subjects assessed, not met and not assessable."""
    n = ard.int(ANALYSIS, ANY, "n_subjects")
    rows, kind = [], None
    alt_notes = []
    for cid in criterion_ids(criteria):
        line = _first(criteria, cid)
        if line["kind"] != kind:
            kind = line["kind"]
            rows.append([f"**{KIND_HEAD[kind].replace(' ', NBSP)}**"] + [""] * 6)
        rows.append([f"\u2003{cid}", line["parameter"], requirement_text(criteria, cid), _source(line),
                     str(ard.int(ANALYSIS, cid, "n_assessed")), str(ard.int(ANALYSIS, cid, "n_not_met")),
                     str(ard.int(ANALYSIS, cid, "n_not_assessable"))])
        if _has(ard, cid, "n_met_by_alternative"):
            k = ard.int(ANALYSIS, cid, "n_met_by_alternative")
            alt_notes.append(
                f"{cid}: creatinine above {line['threshold']} × ULN is met when {alternative_text(line)}; "
                f"{'1 subject was' if k == 1 else f'{k} subjects were'} assessed as met this way (L-ELIG notes). "
                "CrCl = (140 − age) × weight (kg) / (72 × creatinine mg/dL), × 0.85 for women; creatinine "
                "µmol/L ÷ 88.4 = mg/dL; age from DM, weight = last VS weight on or before the first infusion.")
    rows.append([f"**Subjects, any{NBSP}criterion**"] + [""] * 4
                + [str(ard.int(ANALYSIS, ANY, "n_not_met")), str(ard.int(ANALYSIS, ANY, "n_not_assessable"))])
    return Table(
        id="T-ELIG", title="Eligibility audit: numeric criteria checked against the screening data",
        population=f"safety set, N = {n}",
        columns=["Criterion", "Parameter", "Met if", "Source", "Assessed", "Not met", "Not assessable"],
        rows=rows,
        footnotes=[
            "Counts are subjects. Each criterion is checked against the subject's last value on or before "
            "the first infusion (date, and time when both are recorded). Assessed = a value was available "
            "(met or not met); Not assessable = no value on or before the first infusion, or its domain is "
            "not in the export. A criterion not met by a treated subject is a protocol deviation (L-ELIG). "
            "Exclusion criteria are stated as the condition for not being excluded.",
            *alt_notes,
            *sap_notes(criteria),
            f"Criteria: {CRITERIA_FILE}, {_versions(ard, criteria)}.",
        ])


def sap_notes(criteria: pd.DataFrame) -> list[str]:
    """Where SAP §2 differs from the registry text: one note per distinct text."""
    by_note: dict[str, list[str]] = {}
    for cid in criterion_ids(criteria):
        note = _first(criteria, cid)["sap_note"]
        if note:
            by_note.setdefault(note, []).append(cid)
    return [f"{', '.join(ids)} (SAP §2): {note}" for note, ids in by_note.items()]


#: alignment of the markdown columns: text left, counts right
ALIGN = {"T-ELIG": "llllrrr", "L-ELIG": "lllllll"}


def write_aligned(t: Table, out_dir) -> list[Path]:
    """tables.write_table (every format), then the markdown again with the text
    columns left-aligned."""
    paths = write_table(t, out_dir)
    md = to_markdown(t).split("\n")
    spec = ALIGN.get(t.id, "l" + "r" * (len(t.columns) - 1))
    md[1] = "|" + "|".join(":---" if a == "l" else "---:" for a in spec[:len(t.columns)]) + "|"
    write_text(Path(out_dir) / f"{t.id}.md", "\n".join(md))
    return paths


# --------------------------------------------------------------------------- L-ELIG

def _when(dtc) -> str:
    return "" if dtc is None or pd.isna(dtc) else str(dtc).replace("T", " ")


def _dtm(ts) -> str:
    if ts is None or pd.isna(ts):
        return ""
    ts = pd.Timestamp(ts)
    return ts.strftime("%Y-%m-%d %H:%M") if ts != ts.normalize() else ts.strftime("%Y-%m-%d")


def _subj(r) -> str:
    return str(r.SUBJID) if pd.notna(r.SUBJID) else str(r.USUBJID)


def listing_elig(adelig: pd.DataFrame, criteria: pd.DataFrame) -> Table:
    """L-ELIG: every criterion not met by a treated subject (protocol deviations)."""
    order = {cid: i for i, cid in enumerate(criterion_ids(criteria))}
    n = adelig["USUBJID"].nunique()
    d = adelig.assign(_o=adelig["CRITID"].map(order)).sort_values(["USUBJID", "_o"], kind="stable")
    dev = d[d["ELIGRES"] == NOT_MET]
    rows = []
    for r in dev.itertuples():
        value = r.AVALC if pd.notna(r.AVALC) else ""
        if pd.notna(r.REASON):
            value += f"; {r.REASON}"
        rows.append([_subj(r), r.DOSELVL if pd.notna(r.DOSELVL) else "No CAR-T",
                     f"{r.CRITID} {r.PARAM}", r.CRIT, value, _when(r.ADTC), _dtm(r.TRTSDTM)])
    if not rows:
        rows = [["No treated subject failed a criterion.", "", "", "", "", "", ""]]
    notes = ["Protocol deviations: treated subjects (safety set) whose last value on or before the first "
             "infusion did not meet the criterion. Dates with time when recorded."]
    alt = d[d["METALTFL"] == "Y"]
    if len(alt):
        items = [f"{_subj(r)} {r.CRITID}: {r.AVALC} on {_when(r.ADTC)}; {r.REASON}" for r in alt.itertuples()]
        notes.append("Met by the alternative only (not deviations): " + "; ".join(items) + ".")
    na = d[d["ELIGRES"] == NOT_ASSESSABLE]
    if len(na):
        items = []
        for (cid, reason), g in na.groupby(["CRITID", "REASON"], sort=False):
            who = f"all {n} subjects" if g["USUBJID"].nunique() == n and n > 1 else \
                ", ".join(_subj(r) for r in g.itertuples())
            items.append(f"{cid}: {who} ({reason})")
        notes.append("Not assessable (not listed above): " + "; ".join(items) + ".")
    return Table(
        id="L-ELIG", title="Eligibility criteria not met by treated subjects",
        population=f"safety set, N = {n}; {plural(dev['USUBJID'].nunique(), 'subject')}, "
                   f"{plural(len(dev), 'deviation')}",
        columns=["Subject", "Dose level", "Criterion", "Met if", "Value", "Date of value", "First infusion"],
        rows=rows, footnotes=notes)


# --------------------------------------------------------------------------- text

def _not_met_items(ard: ARD, criteria: pd.DataFrame, stat: str) -> list[str]:
    out = []
    for cid in criterion_ids(criteria):
        k = ard.int(ANALYSIS, cid, stat)
        if k:
            out.append(f"{_lower(_first(criteria, cid)['parameter'])} ({cid}, {plural(k, 'subject')})")
    return out


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _alt_sentence(ard: ARD, criteria: pd.DataFrame) -> str:
    parts = []
    for cid in criterion_ids(criteria):
        if _has(ard, cid, "n_met_by_alternative"):
            k = ard.int(ANALYSIS, cid, "n_met_by_alternative")
            if k:
                line = _first(criteria, cid)
                parts.append(f"{plural(k, 'subject')} met the {_lower(line['parameter'])} criterion ({cid}) "
                             f"only by its alternative: creatinine above {line['threshold']} × ULN but "
                             f"{alternative_text(line)}")
    return (_join(parts) + ".") if parts else ""


def eligibility_paragraph(ard: ARD, criteria: pd.DataFrame) -> str:
    """The report's paragraph (reports/_sections/eligibility.qmd)."""
    n = ard.int(ANALYSIS, ANY, "n_subjects")
    k = ard.int(ANALYSIS, ANY, "n_not_met")
    j = ard.int(ANALYSIS, ANY, "n_not_assessable")
    nc = ard.int(ANALYSIS, ANY, "n_criteria")
    text = (f"The protocol's {nc} numeric eligibility criteria (criteria metadata {_versions(ard, criteria)}) "
            f"were checked for the {plural(n, 'treated subject')} against each subject's last value on or "
            f"before the first infusion (@tbl-elig). ")
    if k:
        text += (f"{plural(k, 'subject')} did not meet at least one criterion (protocol "
                 f"{'deviation' if k == 1 else 'deviations'}, listed in @tbl-l-elig): "
                 f"{_join(_not_met_items(ard, criteria, 'n_not_met'))}. ")
    else:
        text += "Every treated subject met every criterion that could be assessed. "
    alt = _alt_sentence(ard, criteria)
    if alt:
        text += alt[0].upper() + alt[1:] + " "
    if j:
        text += (f"For {plural(j, 'subject')} at least one criterion could not be assessed (no value on or "
                 f"before the first infusion, or the domain is not in the export): "
                 f"{_join(_not_met_items(ard, criteria, 'n_not_assessable'))}.")
    else:
        text += "Every criterion could be assessed for every treated subject."
    return text.strip() + "\n"


def eligibility_summary(ard: ARD, criteria: pd.DataFrame) -> str:
    """A short, self-contained summary (no cross-references) for the Phase IB
    readiness document."""
    n = ard.int(ANALYSIS, ANY, "n_subjects")
    k = ard.int(ANALYSIS, ANY, "n_not_met")
    j = ard.int(ANALYSIS, ANY, "n_not_assessable")
    nc = ard.int(ANALYSIS, ANY, "n_criteria")
    pct = f" ({100 * k / n:.1f}%)" if n else ""
    lines = [f"**Eligibility audit (SAP §2).** {plural(n, 'treated subject')} checked against {nc} numeric "
             f"eligibility criteria (criteria metadata {_versions(ard, criteria)}), using the last value on or "
             f"before the first infusion."]
    if k:
        lines.append(f"- Protocol deviations: {k} of {n} subjects{pct} did not meet at least one criterion: "
                     f"{_join(_not_met_items(ard, criteria, 'n_not_met'))}.")
    else:
        lines.append("- Protocol deviations: none; every treated subject met every criterion that could be assessed.")
    alt = _alt_sentence(ard, criteria)
    if alt:
        lines.append(f"- {alt[0].upper() + alt[1:]}")
    if j:
        lines.append(f"- Not assessable: {plural(j, 'subject')} with at least one criterion without data: "
                     f"{_join(_not_met_items(ard, criteria, 'n_not_assessable'))}.")
    else:
        lines.append("- Not assessable: none.")
    return lines[0] + "\n\n" + "\n".join(lines[1:]) + "\n"
