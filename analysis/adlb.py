"""ADLB (SAP §3, §5): laboratory analysis values with baseline, NCI-CTCAE v5.0 grades
derived from the values by the criteria table `analysis/metadata/ctcae_v5_lab.csv`
(see its README), and the on-treatment flag used by the shift table and the
hepatotoxicity outputs.

- Baseline (ABLFL, BASE, BTOXGRN): the last non-missing value on or before the first
  infusion (date, and time when both are given).
- BNRIND: baseline above ULN = HIGH, below LLN = LOW, else NORMAL.
- ATOXGRN: the CTCAE grade of the value (0 = not abnormal by the criteria; empty = not
  gradable: no criteria for the test, no value, or a reference it needs is missing).
- ONTRTFL: post-baseline (after the first infusion) up to `teae_window_days` after the
  last infusion and before a new anticancer therapy (the TEAE window of SAP §5).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import dates
from analysis.adae import new_therapy_start
from analysis.adsl import derive_treatment_dates, last_on_or_before

ROOT = Path(__file__).resolve().parent.parent
CRITERIA_PATH = ROOT / "analysis" / "metadata" / "ctcae_v5_lab.csv"
SIGNIF = 15
_REF_COL = {"ULN": "ANRHI", "LLN": "ANRLO", "BASE": "BASE"}

ADLB_COLUMNS = ["STUDYID", "USUBJID", "PARAMCD", "PARAM", "PARCAT1", "LBSEQ", "VISIT", "VISITNUM", "LBDTC", "ADT",
                "ADTM", "ADY", "AVAL", "AVALC", "AVALU", "ANRLO", "ANRHI", "R2ANRHI", "ABLFL", "BASE", "BNRIND",
                "ATOXDSC", "ATOXDIR", "ATOXGRN", "BTOXGRN", "ONTRTFL", "DOSELVL", "SAFFL"]


@lru_cache(maxsize=4)
def _read_criteria(path: str) -> pd.DataFrame:
    c = pd.read_csv(path, dtype=str, keep_default_na=False)
    c["grade"] = c["grade"].astype(int)
    c["factor"] = c["factor"].astype(float)
    c["_order"] = np.arange(len(c))
    bad = set(c["relative_to"]) - {"ABSOLUTE", "ULN", "LLN", "BASE"}
    bad |= set(c["comparison"]) - {"<", "<=", ">", ">=", "any"}
    bad |= set(c["condition"]) - {"", "BASELINE_NORMAL", "BASELINE_HIGH", "ON_ANTICOAGULATION"}
    bad |= set(c["if_missing"]) - {"na", "skip"}
    if bad:
        raise ValueError(f"{path}: unknown values {sorted(bad)}")
    return c


def load_criteria(path: Path | str | None = None) -> pd.DataFrame:
    p = Path(path) if path else CRITERIA_PATH
    if not p.is_absolute():
        p = ROOT / p
    return _read_criteria(str(p)).copy()


def signif(x: pd.Series, digits: int = SIGNIF) -> pd.Series:
    """Round to `digits` significant digits (R's signif), NaN kept."""
    v = x.astype("float64").to_numpy()
    out = np.full(v.shape, np.nan)
    ok = np.isfinite(v) & (v != 0)
    mag = np.floor(np.log10(np.abs(v[ok])))
    scale = 10.0 ** (digits - 1 - mag)
    out[ok] = np.round(v[ok] * scale) / scale
    out[v == 0] = 0.0
    return pd.Series(out, index=x.index)


def grade_values(crit: pd.DataFrame, aval, anrlo=None, anrhi=None, base=None, bnrind=None,
                 unit=None, anticoagulation: bool = False) -> pd.Series:
    """CTCAE grade of each value by the rows of one term (`crit`, file order).

    Vectorised form of: the first row that holds gives the grade; a missing reference
    with if_missing=na makes the value not gradable (NA); no row holds -> 0. Rows with
    condition ON_ANTICOAGULATION are used only when `anticoagulation` is true."""
    aval = pd.Series(aval, dtype="float64").reset_index(drop=True)
    n = len(aval)

    def col(x):
        if x is None:
            return pd.Series(np.nan, index=aval.index)
        s = pd.Series(x).reset_index(drop=True)
        return s if s.dtype == object or str(s.dtype) == "string" else s.astype("float64")

    refs = {"ANRLO": col(anrlo), "ANRHI": col(anrhi), "BASE": col(base)}
    high = col(bnrind).astype("string").str.upper().eq("HIGH").fillna(False).to_numpy() if bnrind is not None \
        else np.zeros(n, dtype=bool)
    grade = np.full(n, np.nan)
    done = aval.isna().to_numpy().copy()
    if unit is not None:
        units = set(crit.loc[crit["relative_to"].eq("ABSOLUTE") & crit["unit"].ne(""), "unit"])
        if units:
            u = col(unit).astype("string")
            done |= ~u.isin(list(units)).fillna(False).to_numpy()
    av = signif(aval).to_numpy()
    for r in crit.sort_values("_order").itertuples(index=False):
        if r.condition == "ON_ANTICOAGULATION" and not anticoagulation:
            continue
        if done.all():
            break
        if r.relative_to == "ABSOLUTE":
            ref = np.ones(n)
        else:
            ref = refs[_REF_COL[r.relative_to]].to_numpy(dtype="float64")
        missing = np.isnan(ref)
        if r.if_missing == "na":
            newly = ~done & missing
            done |= newly  # grade stays NA
        cond = np.ones(n, dtype=bool)
        if r.condition == "BASELINE_HIGH":
            cond = high
        elif r.condition == "BASELINE_NORMAL":
            cond = ~high
        active = ~done & cond & ~missing
        if r.comparison == "any":
            hit = active
        else:
            thr = float(r.factor) if r.relative_to == "ABSOLUTE" else \
                signif(pd.Series(r.factor * ref)).to_numpy()
            with np.errstate(invalid="ignore"):
                cmp = {"<": av < thr, "<=": av <= thr, ">": av > thr, ">=": av >= thr}[r.comparison]
            hit = active & cmp
        grade[hit] = r.grade
        done |= hit
    grade[~done] = 0
    return pd.Series(grade, dtype="Float64")


def each_distinct(values: pd.Series, fn) -> pd.Series:
    """`fn(values)` for an elementwise `fn`, computed once per distinct value (missing
    included) and spread back over `values`: a lab domain repeats few dates many times."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    out = fn(pd.Series(uniques, dtype=values.dtype))
    return pd.Series(out.array.take(codes), index=values.index, dtype=out.dtype)


def on_or_before(d: pd.DataFrame, dtc_col: str, ref: pd.Series) -> pd.Series:
    """Whether each record is dated (`dtc_col`) on or before its subject's (USUBJID)
    reference date-time `ref`, by adsl.last_on_or_before (date, and time when both are
    given; a date that is not full is not), decided once per distinct subject and date."""
    subj, _ = pd.factorize(d["USUBJID"], use_na_sentinel=False)
    dtc, dtc_values = pd.factorize(d[dtc_col], use_na_sentinel=False)
    _, first, inverse = np.unique(subj.astype("int64") * (len(dtc_values) + 1) + dtc,
                                  return_index=True, return_inverse=True)
    pairs = d[["USUBJID", dtc_col]].iloc[first].reset_index(drop=True)
    ok = np.zeros(len(pairs), dtype=bool)
    ok[last_on_or_before(pairs, dtc_col, ref).index.to_numpy()] = True
    return pd.Series(ok[inverse.reshape(-1)], index=d.index)


def derive_bnrind(base: pd.Series, lo: pd.Series, hi: pd.Series) -> pd.Series:
    out = pd.Series(pd.NA, index=base.index, dtype="string")
    out[base.notna()] = "NORMAL"
    out[(base > hi).fillna(False)] = "HIGH"
    out[(base < lo).fillna(False)] = "LOW"
    return out


def derive_adlb(lb: pd.DataFrame, adsl: pd.DataFrame, ex: pd.DataFrame, cm: pd.DataFrame | None,
                cfg: dict, criteria: pd.DataFrame | None = None) -> pd.DataFrame:
    """ADLB from validated, data-cut LB, ADSL, EX and CM (new anticancer therapy)."""
    saf = cfg.get("safety") or {}
    crit = criteria if criteria is not None else load_criteria(saf.get("lab_criteria"))
    anticoag = bool((saf.get("lab_grading") or {}).get("assume_anticoagulation", False))
    window = int(cfg["teae_window_days"])
    d = lb.drop(columns=[c for c in lb.columns if c.startswith("_")], errors="ignore").copy()
    d["PARAMCD"] = each_distinct(d["LBTESTCD"], lambda s: s.astype("string").str.strip().str.upper())
    d["PARAM"] = d["LBTEST"].astype("string") if "LBTEST" in d.columns else d["PARAMCD"]
    d["PARCAT1"] = d["LBCAT"].astype("string") if "LBCAT" in d.columns else pd.NA
    d["AVAL"] = pd.to_numeric(d["LBSTRESN"], errors="coerce").astype("float64")
    d["AVALC"] = d["LBSTRESC"].astype("string") if "LBSTRESC" in d.columns else pd.NA
    d["AVALU"] = d["LBSTRESU"].astype("string")
    d["ANRLO"] = pd.to_numeric(d["LBSTNRLO"], errors="coerce").astype("float64")
    d["ANRHI"] = pd.to_numeric(d["LBSTNRHI"], errors="coerce").astype("float64")
    d["ADT"] = each_distinct(d["LBDTC"], dates.to_date)
    d["ADTM"] = each_distinct(d["LBDTC"], dates.to_datetime)
    d = d.merge(adsl[["USUBJID", "SAFFL", "DOSELVL", "TRTSDT", "TRTEDT", "RFSTDT"]], on="USUBJID", how="left")
    diff = (d["ADT"] - d["RFSTDT"]).dt.days
    d["ADY"] = pd.Series(np.where(diff >= 0, diff + 1, diff), index=d.index).where(diff.notna()).astype("Float64")

    # Baseline: last non-missing value on or before the first infusion.
    ref = derive_treatment_dates(ex)["TRTSDTM"].dropna() if len(ex) else pd.Series(dtype="datetime64[ns]")
    d["_i"] = np.arange(len(d))
    treated = d["USUBJID"].isin(ref.index)
    before = treated & on_or_before(d, "LBDTC", ref)
    cand = d[d["AVAL"].notna() & before]
    cand = cand.sort_values(["USUBJID", "PARAMCD", "ADT", "ADTM", "_i"])
    base_i = cand.groupby(["USUBJID", "PARAMCD"]).tail(1)["_i"]
    d["ABLFL"] = pd.Series(np.where(d["_i"].isin(base_i), "Y", pd.NA), index=d.index, dtype="string")
    b = d[d["ABLFL"].eq("Y")].set_index(["USUBJID", "PARAMCD"])
    key = pd.MultiIndex.from_frame(d[["USUBJID", "PARAMCD"]])
    d["BASE"] = b["AVAL"].reindex(key).to_numpy()
    d["BNRIND"] = derive_bnrind(b["AVAL"], b["ANRLO"], b["ANRHI"]).reindex(key).to_numpy()
    d["BNRIND"] = d["BNRIND"].astype("string")
    d["R2ANRHI"] = (d["AVAL"] / d["ANRHI"]).where(d["ANRHI"] > 0)

    # Grades.
    d["ATOXGRN"] = pd.Series(pd.NA, index=d.index, dtype="Float64")
    d["ATOXDSC"] = pd.Series(pd.NA, index=d.index, dtype="string")
    d["ATOXDIR"] = pd.Series(pd.NA, index=d.index, dtype="string")
    records = d.groupby("PARAMCD", sort=False).indices  # positions of each test's records
    inputs = d.columns.get_indexer(["AVAL", "ANRLO", "ANRHI", "BASE", "BNRIND", "AVALU"])
    grn, dsc, dirn = (d.columns.get_loc(c) for c in ("ATOXGRN", "ATOXDSC", "ATOXDIR"))
    for cd, rows in crit.groupby("paramcd", sort=False):
        if cd not in records:
            continue
        m = records[cd]
        sub = d.iloc[m, inputs]
        g = grade_values(rows, sub["AVAL"], sub["ANRLO"], sub["ANRHI"], sub["BASE"], sub["BNRIND"], sub["AVALU"],
                         anticoagulation=anticoag)
        d.iloc[m, grn] = g.to_numpy()
        d.iloc[m, dsc] = rows["term"].iloc[0]
        d.iloc[m, dirn] = rows["direction"].iloc[0]
    bt = d[d["ABLFL"].eq("Y")].set_index(["USUBJID", "PARAMCD"])["ATOXGRN"]
    d["BTOXGRN"] = bt.reindex(key).to_numpy()
    d["BTOXGRN"] = d["BTOXGRN"].astype("Float64")

    # On-treatment (post-baseline, TEAE window).
    post = treated & ~before & d["ADT"].notna()
    nact = pd.to_datetime(d["USUBJID"].map(new_therapy_start(cm)))
    upto = d["ADT"] <= d["TRTEDT"] + pd.Timedelta(days=window)
    before_nact = nact.isna() | (d["ADT"] < nact)
    d["ONTRTFL"] = pd.Series(np.where(post & upto.fillna(False) & before_nact & d["SAFFL"].eq("Y"), "Y", "N"),
                             index=d.index, dtype="string")
    for c in ("ADT",):
        d[c] = pd.to_datetime(d[c]).astype("datetime64[ns]")
    for c in ADLB_COLUMNS:
        if c in d.columns and d[c].dtype == object:
            d[c] = d[c].astype("string")
    out = d[[c for c in ADLB_COLUMNS if c in d.columns]]
    del d  # the working columns go before the sort copies the output (peak memory)
    return out.sort_values(["USUBJID", "PARAMCD", "ADTM", "LBSEQ"], kind="stable", ignore_index=True)


def worst_post_baseline(adlb: pd.DataFrame) -> pd.DataFrame:
    """Per subject and graded parameter: baseline grade and worst on-treatment grade."""
    g = adlb[adlb["ATOXDSC"].notna()]
    on = g[g["ONTRTFL"].eq("Y") & g["ATOXGRN"].notna()]
    worst = on.groupby(["USUBJID", "PARAMCD"])["ATOXGRN"].max()
    base = g.groupby(["USUBJID", "PARAMCD"])["BTOXGRN"].first()
    out = pd.DataFrame({"WORST": worst}).join(base, how="left").reset_index()
    return out


def hepatic_peaks(adlb: pd.DataFrame, window_days: int = 30) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Peak on-treatment ALT, AST and bilirubin (x ULN) per subject, and the potential
    Hy's law pairs: ALT or AST > 3 x ULN with bilirubin > 2 x ULN within `window_days`
    (either order), on-treatment records."""
    h = adlb[adlb["PARAMCD"].isin(["ALT", "AST", "BILI"]) & adlb["ONTRTFL"].eq("Y") & adlb["R2ANRHI"].notna()]
    peaks = h.pivot_table(index="USUBJID", columns="PARAMCD", values="R2ANRHI", aggfunc="max")
    for c in ("ALT", "AST", "BILI"):
        if c not in peaks.columns:
            peaks[c] = np.nan
    peaks = peaks[["ALT", "AST", "BILI"]]
    tx = h[h["PARAMCD"].isin(["ALT", "AST"]) & (h["R2ANRHI"] > 3)]
    bi = h[h["PARAMCD"].eq("BILI") & (h["R2ANRHI"] > 2)]
    pairs = tx.merge(bi, on="USUBJID", suffixes=("", "_BILI"))
    pairs = pairs[(pairs["ADT"] - pairs["ADT_BILI"]).abs() <= pd.Timedelta(days=window_days)]
    pairs = pairs[["USUBJID", "DOSELVL", "PARAMCD", "ADT", "AVAL", "ANRHI", "R2ANRHI",
                   "ADT_BILI", "AVAL_BILI", "ANRHI_BILI", "R2ANRHI_BILI"]]
    return peaks.reset_index(), pairs.sort_values(["USUBJID", "ADT", "PARAMCD", "ADT_BILI"]).reset_index(drop=True)
