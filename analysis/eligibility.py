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
from analysis import dates
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
    return float(_clearance(age, weight_kg, creat_umol_l, str(sex).upper() == "F"))


def _clearance(age, weight_kg, creat_umol_l, female):
    """``cockcroft_gault`` on numbers or numpy arrays alike; `female` a bool or bool array."""
    scr = creat_umol_l / CREAT_UMOL_PER_MGDL
    crcl = (140.0 - age) * weight_kg / (72.0 * scr)
    return np.where(female, crcl * 0.85, crcl)


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
    t = df[_test_key(df[test_var]) == test_code.upper()]
    t = t[t["USUBJID"].isin(ref.index)]
    if not len(t):
        return pd.DataFrame(columns=out_cols)
    b = adslmod.last_on_or_before(t, dtc, ref, value_var)
    b = b.assign(_ord=np.arange(len(b))).sort_values(["USUBJID", "_dt", "_dtm", "_ord"], kind="stable")
    b = b.groupby("USUBJID").tail(1).set_index("USUBJID")
    uln = b["LBSTNRHI"].astype(float) if "LBSTNRHI" in b.columns else pd.Series(np.nan, index=b.index)
    return pd.DataFrame({"value": b[value_var], "dtc": b[dtc].astype("string"), "dt": b["_dt"], "uln": uln})


def _sources(criteria: pd.DataFrame) -> dict[tuple[str, str], tuple[set[str], set[str]]]:
    """(domain, test variable) -> (upper-case test codes, value variables) the criteria read,
    with the Cockcroft-Gault weight when a criterion has that alternative."""
    read = [(r.domain, r.test_variable, r.test_code, r.value_variable)
            for r in criteria.itertuples(index=False) if r.domain != "DM"]
    if (criteria["alternative"] != "").any():
        read.append(WEIGHT_SOURCE)
    out: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    for dom, test_var, code, value_var in read:
        codes, values = out.setdefault((dom, test_var), (set(), set()))
        codes.add(code.upper())
        values.add(value_var)
    return out


def _test_key(codes: pd.Series) -> pd.Series:
    """Test codes as the criteria are matched to them: stripped, upper-case."""
    return dates.per_distinct(codes, lambda s: s.str.strip().str.upper())


def _records_by_test(domains: dict, present: set[str], criteria: pd.DataFrame,
                     ref: pd.Series) -> dict[tuple[str, str, str], pd.DataFrame]:
    """The records the criteria can read, each domain of the export split by test once (not
    once per criterion): key (domain, test variable, upper-case test code). Kept are the
    columns ``last_values`` uses and the records of a subject of `ref` (first infusion by
    subject) with a full date on or before the day of the first infusion -- any other record
    is passed over by ``last_values`` anyway, which gives the same result on these frames as
    on the whole domain."""
    out = {}
    for (dom, test_var), (codes, value_vars) in _sources(criteria).items():
        df = domains.get(dom) if dom in present else None
        if df is None or not len(df) or test_var not in df.columns:
            continue
        dtc = f"{dom}DTC"
        keep = [c for c in dict.fromkeys(["USUBJID", test_var, dtc, "LBSTNRHI", *sorted(value_vars)])
                if c in df.columns]
        key = _test_key(df[test_var])
        mine = (key.isin(codes) & df["USUBJID"].isin(ref.index)).to_numpy(dtype=bool)
        df, key = df.loc[mine, keep], key[mine]
        if dtc in df.columns:
            day = dates.to_date(df[dtc])
            early = (day.notna() & (day <= df["USUBJID"].map(ref.dt.normalize()))).to_numpy(dtype=bool)
            df, key = df[early], key[early]
        for code, records in df.groupby(key, sort=False):
            out[(dom, test_var, code)] = records
    return out


def _subjects(treated: pd.DataFrame, ref: pd.Series) -> pd.DataFrame:
    """The subject columns of ADELIG, one row per treated subject (ADSL order): SEX stripped
    and upper-case (<NA> when not recorded), TRTSDTM the first infusion, and ``_sex``, the
    sex as the thresholds are chosen by ('' when not recorded)."""
    def col(name):
        return treated[name].to_numpy() if name in treated.columns else np.full(len(treated), None, dtype=object)

    sex = (treated["SEX"].astype("string").str.strip().str.upper().fillna("") if "SEX" in treated.columns
           else pd.Series("", index=treated.index, dtype="string"))
    return pd.DataFrame({"USUBJID": treated.index.to_numpy(), "SUBJID": col("SUBJID"),
                         "SEX": sex.mask(sex.eq(""), pd.NA).to_numpy(), "AGE": col("AGE"),
                         "DOSELVL": col("DOSELVL"), "TRTSDT": col("TRTSDT"),
                         "TRTSDTM": ref.reindex(treated.index).to_numpy(), "_sex": sex.to_numpy()})


def derive_adelig(adsl: pd.DataFrame, domains: dict[str, pd.DataFrame], present: set[str],
                  criteria: pd.DataFrame) -> pd.DataFrame:
    """ADELIG: one record per treated subject and criterion (in metadata order)."""
    present = {p.upper() for p in present} | {"DM"}
    treated = adsl[adsl["SAFFL"].eq("Y")].set_index("USUBJID")
    ref = reference_datetimes(adsl, domains.get("EX"))
    subjects = _subjects(treated, ref)
    tests = _records_by_test(domains, present, criteria, ref)
    weight = None
    parts = []
    for cid in criterion_ids(criteria):
        lines = criteria[criteria["criterion_id"] == cid]
        first = lines.iloc[0]
        dom = first["domain"]
        if dom == "DM":
            vals = pd.DataFrame({"value": treated[first["value_variable"]], "dtc": pd.NA, "dt": pd.NaT,
                                 "uln": np.nan})
        else:
            vals = last_values(tests.get((dom, first["test_variable"], first["test_code"].upper())), dom,
                               first["test_variable"], first["test_code"], first["value_variable"], ref)
        if (lines["alternative"] != "").any() and weight is None:
            wd, wv, wc, wn = WEIGHT_SOURCE
            weight = last_values(tests.get((wd, wv, wc)), wd, wv, wc, wn, ref)
        parts.append(_criterion_records(subjects, criteria, lines, vals, weight, present))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
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
RESULT_COLUMNS = ["AVAL", "AVALC", "ADTC", "ADT", "ULN", "XULN", "ELIGRES", "METALTFL", "ALTVAL", "WEIGHT",
                  "REASON"]


def _criterion_records(subjects: pd.DataFrame, criteria: pd.DataFrame, lines: pd.DataFrame,
                       vals: pd.DataFrame, weight: pd.DataFrame | None, present: set[str]) -> pd.DataFrame:
    """The ADELIG records of one criterion (its metadata `lines`), one per subject of `subjects`;
    `vals` as ``last_values`` gives them, `weight` likewise (for the alternative)."""
    first = lines.iloc[0]
    cid = first["criterion_id"]
    sex = subjects["_sex"]
    crit = {s: requirement_text(criteria, cid, s if s in ("M", "F") else None) for s in sex.unique()}
    head = subjects.drop(columns="_sex").assign(
        CRITID=cid, CRITKIND=first["kind"], PARAM=first["parameter"], DOMAIN=first["domain"],
        TESTCD=first["test_code"] or first["value_variable"], CRITVER=first["version"], CRIT=sex.map(crit))
    return pd.concat([head, _results(lines, present, vals, subjects, weight)], axis=1)


def _blank_results(index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame({"AVAL": np.nan, "AVALC": pd.NA, "ADTC": pd.NA, "ADT": pd.NaT, "ULN": np.nan,
                         "XULN": np.nan, "ELIGRES": pd.NA, "METALTFL": "N", "ALTVAL": np.nan,
                         "WEIGHT": np.nan, "REASON": pd.NA}, index=index, columns=RESULT_COLUMNS)


def _verdict(res: pd.DataFrame, where, result: str, reason=pd.NA) -> None:
    """ELIGRES `result` and REASON `reason` (text, or one per record) for the records `where`."""
    res.loc[where, "ELIGRES"] = result
    res.loc[where, "REASON"] = reason


def _rounded(values):
    """Values rounded to DECIMALS with Python's correctly rounded ``round``, as ``compare``
    rounds them (numpy's rounding can differ in the last digit)."""
    if isinstance(values, pd.Series):
        return values.map(lambda v: round(float(v), DECIMALS)).astype(float)
    return round(float(values), DECIMALS)


def _all_lines_hold(lines: pd.DataFrame, sex: pd.Series, values: pd.Series, limit_of) -> pd.Series:
    """Per record: every line of the criterion that applies to the subject's sex (`sex`: M, F
    or '', one per record) holds: ``compare`` of the value with ``limit_of(line)``, a number
    or one per record."""
    ok = pd.Series(True, index=values.index)
    rounded = _rounded(values)
    for _, line in lines.iterrows():
        holds = OPS[line["comparison"]](rounded, _rounded(limit_of(line)))
        if line["sex"]:
            holds = holds | sex.ne(line["sex"])
        ok &= holds
    return ok


def _results(lines: pd.DataFrame, present: set[str], vals: pd.DataFrame, subjects: pd.DataFrame,
             weight: pd.DataFrame | None) -> pd.DataFrame:
    """The result columns (RESULT_COLUMNS) of one criterion for every subject: not assessable
    when the domain is absent, the sex-specific threshold has no line for the subject's sex, or
    there is no value; else MET / NOT MET by the threshold lines (and the alternative)."""
    first = lines.iloc[0]
    dom = first["domain"]
    res = _blank_results(subjects.index)
    if dom not in present:
        _verdict(res, res.index, NOT_ASSESSABLE, f"{dom} domain not in the export")
        return res
    sex = subjects["_sex"]
    specific = set(lines.loc[lines["sex"] != "", "sex"])
    no_sex = ~sex.isin(specific) if specific else pd.Series(False, index=res.index)
    v = vals.reindex(subjects["USUBJID"]).set_axis(res.index)
    has = ~no_sex & v["value"].notna()
    _verdict(res, no_sex, NOT_ASSESSABLE, "sex not recorded (sex-specific threshold)")
    _verdict(res, ~no_sex & ~has, NOT_ASSESSABLE,
             "no value" if dom == "DM" else "no value on or before the first infusion")
    if not has.any():
        return res
    res.loc[has, "ADTC"] = v.loc[has, "dtc"]
    res.loc[has, "ADT"] = v.loc[has, "dt"]
    if first["threshold_basis"] == "ORDINAL":
        _ordinal_results(res, lines, v.loc[has, "value"], sex)
    else:
        _numeric_results(res, lines, v.loc[has], subjects, weight, present)
    return res


def _ordinal_results(res: pd.DataFrame, lines: pd.DataFrame, value: pd.Series, sex: pd.Series) -> None:
    """Ordinal criteria (urine protein): the value's rank on the scale against the threshold's."""
    first = lines.iloc[0]
    scale = [s.upper() for s in first["ordinal_scale"].split("|")]
    txt = value.astype(str).str.strip().str.upper()
    res.loc[txt.index, "AVALC"] = txt
    on = txt.isin(scale)
    off = txt[~on]
    _verdict(res, off.index, NOT_ASSESSABLE, "value " + off.map(repr) + f" not on the scale {first['ordinal_scale']}")
    rank = txt[on].map({s: scale.index(s) for s in scale})
    ok = _all_lines_hold(lines, sex[rank.index], rank, lambda line: scale.index(line["threshold"].upper()))
    _verdict(res, ok.index[ok.to_numpy()], MET)
    _verdict(res, ok.index[~ok.to_numpy()], NOT_MET)


def _numeric_results(res: pd.DataFrame, lines: pd.DataFrame, v: pd.DataFrame, subjects: pd.DataFrame,
                     weight: pd.DataFrame | None, present: set[str]) -> None:
    """Numeric criteria: absolute or ×ULN thresholds, and the alternative of those that have one."""
    first = lines.iloc[0]
    x = v["value"].astype(float)
    res.loc[x.index, "AVAL"] = x
    res.loc[x.index, "AVALC"] = x.map(fmt_num) + _with_unit("", first["unit"])
    factor = 1.0
    if first["threshold_basis"] == "ULN":
        uln = v["uln"].astype(float)
        no_uln = ~(uln > 0)
        _verdict(res, x.index[no_uln.to_numpy()], NOT_ASSESSABLE, "no upper limit of normal on the record")
        x, factor = x[~no_uln], uln[~no_uln]
        xuln = x / factor
        res.loc[x.index, "ULN"] = factor
        res.loc[x.index, "XULN"] = xuln
        res.loc[x.index, "AVALC"] = res.loc[x.index, "AVALC"] + " (" + xuln.map("{:.2f}".format) + " × ULN)"
    ok = _all_lines_hold(lines, subjects.loc[x.index, "_sex"], x, lambda line: float(line["threshold"]) * factor)
    _verdict(res, ok.index[ok.to_numpy()], MET)
    alt = lines[lines["alternative"] != ""]
    failed = ok.index[~ok.to_numpy()]
    if not len(alt):
        _verdict(res, failed, NOT_MET)
    elif len(failed):
        _alternative_results(res, first, alt.iloc[0], x[failed], subjects.loc[failed], weight, present)


def _alternative_results(res: pd.DataFrame, first: pd.Series, alt: pd.Series, x: pd.Series,
                         subjects: pd.DataFrame, weight: pd.DataFrame | None, present: set[str]) -> None:
    """Cockcroft-Gault alternative for the records `x` (creatinine) that fail the threshold:
    met when the clearance holds; not assessable without age, sex (M/F) or weight."""
    age = subjects["AGE"]
    sex = subjects["_sex"]
    w = (weight["value"].reindex(subjects["USUBJID"]).set_axis(x.index) if weight is not None
         else pd.Series(np.nan, index=x.index))
    lacking = {"age": age.isna(), "sex": ~sex.isin(["M", "F"]), "weight": w.isna()}
    names = pd.Series("", index=x.index, dtype=object)
    for name, m in lacking.items():
        names = names.where(~m, names.where(names.eq(""), names + " or ") + name)
    missing = names.ne("")
    why = ("no " + names + " on or before the first infusion").where(
        ~(lacking["weight"] & (WEIGHT_SOURCE[0] not in present)), f"{WEIGHT_SOURCE[0]} domain not in the export")
    _verdict(res, x.index[missing.to_numpy()], NOT_ASSESSABLE,
             f"above {first['threshold']} × ULN; clearance not computable (" + why[missing] + ")")
    ok = x.index[~missing.to_numpy()]
    if not len(ok):
        return
    age, w, sex = age[ok].astype(float), w[ok].astype(float), sex[ok]
    crcl = pd.Series(_clearance(age.to_numpy(), w.to_numpy(), x[ok].to_numpy(), sex.eq("F").to_numpy()), index=ok)
    met = OPS[alt["alt_comparison"]](_rounded(crcl), _rounded(float(alt["alt_threshold"])))
    rule = f"{OP_TEXT[alt['alt_comparison']]} {alt['alt_threshold']} {alt['alt_unit']}"
    detail = ("Cockcroft–Gault clearance " + crcl.map("{:.1f}".format) + f" {alt['alt_unit']}"
              + np.where(met, " ", ", not ") + rule + " (age " + age.map(fmt_num) + ", weight "
              + w.map(fmt_num) + " kg, " + np.where(sex.eq("F"), "female", "male") + ")")
    res.loc[ok, "ALTVAL"] = crcl
    res.loc[ok, "WEIGHT"] = w
    res.loc[ok, "METALTFL"] = np.where(met, "Y", "N")
    _verdict(res, ok[met.to_numpy()], MET, detail[met])
    _verdict(res, ok[~met.to_numpy()], NOT_MET, detail[~met])


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
