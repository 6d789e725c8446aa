"""Eligibility audit (SAP §2): the protocol's numeric inclusion and exclusion criteria
checked against the screening data of every treated subject.

The criteria are data, not code: ``analysis/metadata/eligibility_criteria.csv`` (one
line per threshold; columns described in ``analysis/metadata/README.md``). A criterion
may have several lines: every line that applies to the subject (``sex`` empty, or the
subject's sex) must hold, so IN1-AGE is two lines (>= 18, <= 75) and EX6c-QTC one line
per sex. ``comparison``/``threshold`` always state the condition under which the
subject is *eligible* (for an exclusion criterion: the condition of not being excluded).

Per treated subject (ADSL SAFFL = Y) and criterion, the value is the last non-missing
value on or before the first infusion (date, and time when both are given; SAP §3),
and the result is one of

- ``MET``
- ``NOT MET`` (a protocol deviation: listed with value, date and threshold)
- ``NOT ASSESSABLE`` (no value on or before the first infusion, its domain absent from
  the export, no ULN on the record for a ×ULN threshold, or an alternative that cannot
  be computed) -- never silently met.

IN7b-CREAT carries an alternative (``COCKCROFT_GAULT``): creatinine above 1.5 × ULN is
still met when the creatinine clearance by Cockcroft-Gault exceeds the alternative
threshold (age from DM, weight = the last VS WEIGHT on or before the first infusion).
"""
from __future__ import annotations

import math
import operator
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import adsl as adslmod
from analysis.ard import OVERALL, frame, rows

CRITERIA_PATH = Path(__file__).resolve().parent / "metadata" / "eligibility_criteria.csv"

MET, NOT_MET, NOT_ASSESSABLE = "MET", "NOT MET", "NOT ASSESSABLE"
ANALYSIS = "eligibility"
ANY = "ANY"  # ARD variable of the per-subject summary over all criteria

COLUMNS = ["criterion_id", "kind", "protocol_item", "parameter", "domain", "test_variable",
           "test_code", "value_variable", "comparison", "threshold", "threshold_basis", "unit",
           "sex", "ordinal_scale", "alternative", "alt_comparison", "alt_threshold", "alt_unit",
           "version", "protocol_text", "sap_note"]
OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
OP_TEXT = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}
BASES = ("ABSOLUTE", "ULN", "ORDINAL")
DOMAINS = ("DM", "LB", "VS", "QS", "EG", "CV")
ALTERNATIVES = ("COCKCROFT_GAULT",)
KINDS = ("INCLUSION", "EXCLUSION")

# Cockcroft-Gault (SAP §2): creatinine µmol/L ÷ 88.4 = mg/dL; weight from VS.
CREAT_UMOL_PER_MGDL = 88.4
WEIGHT_SOURCE = ("VS", "VSTESTCD", "WEIGHT", "VSSTRESN")
DECIMALS = 9  # comparisons on values rounded to 9 decimals: 1.5 × 1.2 is 1.8, not 1.7999999999999998


class CriteriaError(ValueError):
    """The criteria metadata is malformed; the message names the line and column."""


# --------------------------------------------------------------------------- metadata

def read_criteria(path: Path | str = CRITERIA_PATH) -> pd.DataFrame:
    """The criteria metadata as text columns (empty = ''), checked line by line."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    return check_criteria(df)


def check_criteria(df: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise CriteriaError(f"eligibility criteria: missing column(s) {missing}")
    df = df[COLUMNS].astype(str).apply(lambda s: s.str.strip())
    problems = []
    for i, r in df.iterrows():
        where = f"line {i + 2} ({r.criterion_id or 'no id'})"

        def bad(col, allowed):
            problems.append(f"{where}: {col} {r[col]!r} not one of {list(allowed)}")

        if not r.criterion_id:
            problems.append(f"{where}: criterion_id is empty")
        if r.kind not in KINDS:
            bad("kind", KINDS)
        if r.domain not in DOMAINS:
            bad("domain", DOMAINS)
        if r.comparison not in OPS:
            bad("comparison", OPS)
        if r.threshold_basis not in BASES:
            bad("threshold_basis", BASES)
        if r.sex not in ("", "M", "F"):
            bad("sex", ["", "M", "F"])
        if not r.version:
            problems.append(f"{where}: version is empty")
        if r.domain != "DM" and not (r.test_variable and r.test_code):
            problems.append(f"{where}: test_variable and test_code are needed for domain {r.domain}")
        if not r.value_variable:
            problems.append(f"{where}: value_variable is empty")
        if r.threshold_basis == "ORDINAL":
            scale = r.ordinal_scale.split("|")
            if r.threshold not in scale:
                problems.append(f"{where}: threshold {r.threshold!r} not on ordinal_scale {r.ordinal_scale!r}")
        else:
            try:
                float(r.threshold)
            except ValueError:
                problems.append(f"{where}: threshold {r.threshold!r} is not a number")
        if r.alternative:
            if r.alternative not in ALTERNATIVES:
                bad("alternative", ALTERNATIVES)
            if r.alt_comparison not in OPS:
                bad("alt_comparison", OPS)
            try:
                float(r.alt_threshold)
            except ValueError:
                problems.append(f"{where}: alt_threshold {r.alt_threshold!r} is not a number")
    for cid, g in df.groupby("criterion_id", sort=False):
        for col in ("kind", "domain", "test_variable", "test_code", "value_variable", "version"):
            if g[col].nunique() > 1:
                problems.append(f"{cid}: {col} differs between its lines")
    if problems:
        raise CriteriaError("eligibility criteria:\n  " + "\n  ".join(problems))
    return df.reset_index(drop=True)


def criterion_ids(criteria: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(criteria["criterion_id"]))


def pretty_unit(unit: str) -> str:
    """'10^9/L' -> '×10⁹/L' (display only)."""
    if unit.startswith("10^"):
        exp, rest = unit[3:].split("/", 1) if "/" in unit else (unit[3:], "")
        sup = exp.translate(str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"))
        return f"×10{sup}" + (f"/{rest}" if rest else "")
    return unit


def _with_unit(x: str, unit: str) -> str:
    u = pretty_unit(unit)
    if not u:
        return x
    return f"{x}{u}" if u in ("%",) or u.startswith("×") else f"{x} {u}"


def line_text(line: pd.Series) -> str:
    """One threshold line as text: '≥ 60 ×10⁹/L', '≤ 1.5 × ULN', '< 2+'."""
    op = OP_TEXT[line["comparison"]]
    if line["threshold_basis"] == "ULN":
        return f"{op} {line['threshold']} × ULN"
    if line["threshold_basis"] == "ORDINAL":
        return f"{op} {line['threshold']}"
    return f"{op} {_with_unit(line['threshold'], line['unit'])}"


def alternative_text(line: pd.Series) -> str:
    """'CrCl (Cockcroft–Gault) > 50 mL/min'."""
    if line["alternative"] == "COCKCROFT_GAULT":
        return f"CrCl (Cockcroft–Gault) {OP_TEXT[line['alt_comparison']]} {line['alt_threshold']} {line['alt_unit']}"
    return ""


SEX_WORD = {"M": "men", "F": "women"}


def requirement_text(criteria: pd.DataFrame, cid: str, sex: str | None = None) -> str:
    """The requirement of one criterion as text; with `sex` (M/F), only the lines that
    apply to that sex: '≥ 18 years and ≤ 75 years', '≤ 450 ms (men), ≤ 470 ms (women)'."""
    g = criteria[criteria["criterion_id"] == cid]
    if sex in ("M", "F"):
        g = g[g["sex"].isin(["", sex])]
    generic = " and ".join(line_text(r) for _, r in g[g["sex"] == ""].iterrows())
    specific = ", ".join(f"{line_text(r)} ({SEX_WORD[r['sex']]})" for _, r in g[g["sex"] != ""].iterrows())
    text = "; ".join(t for t in (generic, specific) if t)
    alt = g[g["alternative"] != ""]
    if len(alt):
        text += ", or else " + alternative_text(alt.iloc[0])
    return text


# --------------------------------------------------------------------------- checks

def compare(value: float, op: str, limit: float) -> bool:
    """`value op limit` on values rounded to DECIMALS, so that a value exactly at a
    threshold computed as k × ULN compares as equal."""
    return OPS[op](round(float(value), DECIMALS), round(float(limit), DECIMALS))


def cockcroft_gault(age: float, weight_kg: float, creat_umol_l: float, sex: str) -> float:
    """Creatinine clearance in mL/min: (140 − age) × weight / (72 × creatinine mg/dL),
    × 0.85 for women; creatinine µmol/L ÷ 88.4 = mg/dL."""
    scr = creat_umol_l / CREAT_UMOL_PER_MGDL
    crcl = (140.0 - age) * weight_kg / (72.0 * scr)
    return crcl * 0.85 if str(sex).upper() == "F" else crcl


def fmt_num(x: float) -> str:
    """Shortest readable text of a measured value: 57.0 -> '57', 1.53 -> '1.53'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return f"{float(x):.6g}"


def reference_datetimes(adsl: pd.DataFrame, ex: pd.DataFrame | None) -> pd.Series:
    """First infusion per treated subject: ADSL TRTSDT, with the time of the first EX
    record when EX gives one on that date (baseline by date and time, SAP §3)."""
    treated = adsl[adsl["SAFFL"].eq("Y")].set_index("USUBJID")
    ref = pd.to_datetime(treated["TRTSDT"])
    if ex is not None and len(ex):
        dtm = adslmod.derive_treatment_dates(ex)["TRTSDTM"].reindex(ref.index)
        same_day = dtm.notna() & (pd.to_datetime(dtm).dt.normalize() == ref)
        ref = ref.where(~same_day, dtm)
    return ref.astype("datetime64[ns]")


def last_values(df: pd.DataFrame | None, dom: str, test_var: str, test_code: str, value_var: str,
                ref: pd.Series) -> pd.DataFrame:
    """Last non-missing value of one test on or before each subject's reference
    date-time: index USUBJID; columns value, dtc, dt, uln (ULN only for LB)."""
    dtc = f"{dom}DTC"
    out_cols = ["value", "dtc", "dt", "uln"]
    if df is None or not len(df) or test_var not in df.columns or value_var not in df.columns:
        return pd.DataFrame(columns=out_cols)
    t = df[df[test_var].astype("string").str.strip().str.upper() == test_code.upper()]
    t = t[t["USUBJID"].isin(ref.index)]
    if not len(t):
        return pd.DataFrame(columns=out_cols)
    b = adslmod.last_on_or_before(t, dtc, ref, value_var)
    b = b.assign(_ord=np.arange(len(b))).sort_values(["USUBJID", "_dt", "_dtm", "_ord"], kind="stable")
    b = b.groupby("USUBJID").tail(1).set_index("USUBJID")
    uln = b["LBSTNRHI"].astype(float) if "LBSTNRHI" in b.columns else pd.Series(np.nan, index=b.index)
    return pd.DataFrame({"value": b[value_var], "dtc": b[dtc].astype("string"), "dt": b["_dt"], "uln": uln})


def _text(v) -> str:
    return "" if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else str(v).strip()


def _domain_frame(domains: dict, present: set[str], dom: str) -> pd.DataFrame | None:
    if dom not in present:
        return None
    return domains.get(dom)


def derive_adelig(adsl: pd.DataFrame, domains: dict[str, pd.DataFrame], present: set[str],
                  criteria: pd.DataFrame) -> pd.DataFrame:
    """ADELIG: one record per treated subject and criterion (in metadata order)."""
    present = {p.upper() for p in present} | {"DM"}
    treated = adsl[adsl["SAFFL"].eq("Y")].set_index("USUBJID")
    ref = reference_datetimes(adsl, domains.get("EX"))
    weight = None
    recs = []
    for cid in criterion_ids(criteria):
        lines = criteria[criteria["criterion_id"] == cid]
        first = lines.iloc[0]
        dom = first["domain"]
        if dom == "DM":
            vals = pd.DataFrame({"value": treated[first["value_variable"]], "dtc": pd.NA, "dt": pd.NaT,
                                 "uln": np.nan})
        else:
            vals = last_values(_domain_frame(domains, present, dom), dom, first["test_variable"],
                               first["test_code"], first["value_variable"], ref)
        alt = lines[lines["alternative"] != ""]
        if len(alt) and weight is None:
            wd, wv, wc, wn = WEIGHT_SOURCE
            weight = last_values(_domain_frame(domains, present, wd), wd, wv, wc, wn, ref)
        for u, subj in treated.iterrows():
            sex = _text(subj.get("SEX")).upper()
            rec = dict(USUBJID=u, SUBJID=subj.get("SUBJID"), SEX=sex or pd.NA, AGE=subj.get("AGE"),
                       DOSELVL=subj.get("DOSELVL"), TRTSDT=subj.get("TRTSDT"), TRTSDTM=ref.get(u),
                       CRITID=cid, CRITKIND=first["kind"], PARAM=first["parameter"], DOMAIN=dom,
                       TESTCD=first["test_code"] or first["value_variable"], CRITVER=first["version"],
                       CRIT=requirement_text(criteria, cid, sex if sex in ("M", "F") else None))
            rec.update(_check_subject(lines, first, dom, present, vals, u, sex, subj, weight, alt))
            recs.append(rec)
    out = pd.DataFrame(recs)
    if not len(out):
        out = pd.DataFrame(columns=ADELIG_COLUMNS)
    order = {cid: i for i, cid in enumerate(criterion_ids(criteria))}
    out = out.assign(_o=out["CRITID"].map(order)).sort_values(["USUBJID", "_o"], kind="stable")
    out = out.reindex(columns=ADELIG_COLUMNS).reset_index(drop=True)
    for c in ("AVAL", "ULN", "XULN", "AGE", "ALTVAL", "WEIGHT"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    for c in ("TRTSDT", "ADT"):
        out[c] = pd.to_datetime(out[c]).dt.normalize().astype("datetime64[ns]")
    out["TRTSDTM"] = pd.to_datetime(out["TRTSDTM"]).astype("datetime64[ns]")
    for c in [c for c in ADELIG_COLUMNS if c not in ("AVAL", "ULN", "XULN", "AGE", "ALTVAL", "WEIGHT",
                                                     "TRTSDT", "ADT", "TRTSDTM")]:
        out[c] = out[c].astype("string")
    return out


ADELIG_COLUMNS = ["USUBJID", "SUBJID", "SEX", "AGE", "DOSELVL", "TRTSDT", "TRTSDTM", "CRITID",
                  "CRITKIND", "PARAM", "DOMAIN", "TESTCD", "CRIT", "CRITVER", "AVAL", "AVALC", "ADTC",
                  "ADT", "ULN", "XULN", "ELIGRES", "METALTFL", "ALTVAL", "WEIGHT", "REASON"]


def _check_subject(lines, first, dom, present, vals, u, sex, subj, weight, alt) -> dict:
    na = dict(AVAL=np.nan, AVALC=pd.NA, ADTC=pd.NA, ADT=pd.NaT, ULN=np.nan, XULN=np.nan,
              METALTFL="N", ALTVAL=np.nan, WEIGHT=np.nan)
    if dom not in present:
        return dict(na, ELIGRES=NOT_ASSESSABLE, REASON=f"{dom} domain not in the export")
    applies = lines[lines["sex"].isin(["", sex])]
    if (lines["sex"] != "").any() and not (applies["sex"] != "").any():
        return dict(na, ELIGRES=NOT_ASSESSABLE, REASON="sex not recorded (sex-specific threshold)")
    if u not in vals.index or pd.isna(vals.at[u, "value"]):
        what = "no value" if dom == "DM" else "no value on or before the first infusion"
        return dict(na, ELIGRES=NOT_ASSESSABLE, REASON=what)
    v = vals.loc[u]
    out = dict(na, ADTC=v["dtc"], ADT=v["dt"])
    basis = first["threshold_basis"]
    if basis == "ORDINAL":
        scale = [s.upper() for s in first["ordinal_scale"].split("|")]
        txt = str(v["value"]).strip().upper()
        out["AVALC"] = txt
        if txt not in scale:
            return dict(out, ELIGRES=NOT_ASSESSABLE, REASON=f"value {txt!r} not on the scale {first['ordinal_scale']}")
        rank = scale.index(txt)
        ok = all(compare(rank, r["comparison"], scale.index(r["threshold"].upper())) for _, r in applies.iterrows())
        return dict(out, ELIGRES=MET if ok else NOT_MET, REASON=pd.NA)
    x = float(v["value"])
    out["AVAL"] = x
    out["AVALC"] = _with_unit(fmt_num(x), first["unit"])
    uln = float(v["uln"]) if pd.notna(v["uln"]) else np.nan
    if basis == "ULN":
        if not (uln > 0):
            return dict(out, ELIGRES=NOT_ASSESSABLE, REASON="no upper limit of normal on the record")
        out["ULN"], out["XULN"] = uln, x / uln
        out["AVALC"] += f" ({x / uln:.2f} × ULN)"
    ok = True
    for _, r in applies.iterrows():
        limit = float(r["threshold"]) * (uln if basis == "ULN" else 1.0)
        ok &= compare(x, r["comparison"], limit)
    if ok:
        return dict(out, ELIGRES=MET, REASON=pd.NA)
    if not len(alt):
        return dict(out, ELIGRES=NOT_MET, REASON=pd.NA)
    a = alt.iloc[0]
    # Cockcroft-Gault alternative.
    age = subj.get("AGE")
    w = weight.at[u, "value"] if weight is not None and u in weight.index else np.nan
    missing = [n for n, val in (("age", age), ("sex", sex if sex in ("M", "F") else None), ("weight", w))
               if val is None or pd.isna(val)]
    if missing:
        why = "VS domain not in the export" if "weight" in missing and WEIGHT_SOURCE[0] not in present else \
            "no " + " or ".join(missing) + " on or before the first infusion"
        return dict(out, ELIGRES=NOT_ASSESSABLE,
                    REASON=f"above {first['threshold']} × ULN; clearance not computable ({why})")
    crcl = cockcroft_gault(float(age), float(w), x, sex)
    out.update(ALTVAL=crcl, WEIGHT=float(w))
    met = compare(crcl, a["alt_comparison"], float(a["alt_threshold"]))
    rule = f"{OP_TEXT[a['alt_comparison']]} {a['alt_threshold']} {a['alt_unit']}"
    detail = (f"Cockcroft–Gault clearance {crcl:.1f} {a['alt_unit']}{' ' if met else ', not '}{rule} "
              f"(age {fmt_num(float(age))}, weight {fmt_num(float(w))} kg, {'female' if sex == 'F' else 'male'})")
    return dict(out, ELIGRES=MET if met else NOT_MET, METALTFL="Y" if met else "N", REASON=detail)


# --------------------------------------------------------------------------- ARD

def ard_eligibility(adelig: pd.DataFrame, criteria: pd.DataFrame) -> pd.DataFrame:
    """`eligibility` rows: per criterion n_assessed, n_not_met, n_not_assessable (and
    n_met_by_alternative where the criterion has one, and the metadata version); per
    subject over all criteria (variable ANY): n_subjects, n_not_met (subjects with at
    least one criterion not met), n_not_assessable (with at least one not assessable),
    n_criteria."""
    recs = []
    for cid in criterion_ids(criteria):
        lines = criteria[criteria["criterion_id"] == cid]
        d = adelig[adelig["CRITID"] == cid]
        stats = {"n_assessed": int(d["ELIGRES"].isin([MET, NOT_MET]).sum()),
                 "n_not_met": int(d["ELIGRES"].eq(NOT_MET).sum()),
                 "n_not_assessable": int(d["ELIGRES"].eq(NOT_ASSESSABLE).sum())}
        if (lines["alternative"] != "").any():
            stats["n_met_by_alternative"] = int(d["METALTFL"].eq("Y").sum())
        stats["version"] = lines.iloc[0]["version"]
        recs += rows(ANALYSIS, OVERALL, OVERALL, cid, "", stats)
    by_subj = adelig.groupby("USUBJID")["ELIGRES"]
    recs += rows(ANALYSIS, OVERALL, OVERALL, ANY, "", {
        "n_subjects": int(adelig["USUBJID"].nunique()),
        "n_not_met": int(by_subj.apply(lambda s: s.eq(NOT_MET).any()).sum()) if len(adelig) else 0,
        "n_not_assessable": int(by_subj.apply(lambda s: s.eq(NOT_ASSESSABLE).any()).sum()) if len(adelig) else 0,
        "n_criteria": len(criterion_ids(criteria)),
    })
    return frame(recs)
