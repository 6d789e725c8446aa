"""ADAE (SAP §3, §5): one record per AE of the export with imputed analysis dates, the
treatment-emergent, related, DLT, CRS/ICANS and trigger-event flags, the infusion that
preceded the onset, and CRS management (CM) for CRS/ICANS records.

- ASTDT: earliest possible date, not before the first infusion when the known parts
  allow it (`dates.impute_dtc(how="first", floor=TRTSDT)`); AENDT: latest possible date
  capped at the data cut (`how="last"`). ASTDTF/AENDTF: D or M when imputed.
- TRTEMFL (SAP §5): a safety-set subject's AE starting on or after the first infusion
  (at the same date, when both times are given, not before the infusion time), up to
  `teae_window_days` after the last infusion, and before the first new anticancer therapy
  (CM CMCAT "SUBSEQUENT CANCER THERAPY", earliest possible start), whichever comes first.
  An AE whose start has no usable date (no year) is counted as treatment-emergent when
  its end is not before the first infusion (worst case).
- RELFL: AEREL in `safety.related_terms` (RELATED, PROBABLY RELATED, POSSIBLY RELATED).
- DLTFL: SUPPAE AEDLT = Y, CAR-T subject, start inside the DLT window (ADSL WINSTDT-WINENDT).
- CRSFL / ICANSFL: by AEDECOD. TRIGFL (SAP §1): in the DLT window of a CAR-T subject,
  CRS of grade >= `escalation.trigger_min_grade`, or another related AE of that grade.
- PRINFPRD/PRINFDT/PRINFDY: product and date of the last infusion on or before the
  onset and the onset day after it (infusion day = day 0).
- ADURN: AENDT - ASTDT + 1 (days), for AEs with a recorded end.
- TOCIFL / CORTFL (CRS and ICANS records): a CM "CRS MANAGEMENT" record of tocilizumab /
  a corticosteroid (`safety.crs_management`) overlapping the event (start to end, or to
  the data cut while ongoing).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import dates
from analysis.adsl import CAR_NK, CAR_T, derive_treatment_dates

CRS = "CYTOKINE RELEASE SYNDROME"
ICANS = "IMMUNE EFFECTOR CELL-ASSOCIATED NEUROTOXICITY SYNDROME"
RELATED_DEFAULT = ("RELATED", "PROBABLY RELATED", "POSSIBLY RELATED")
TOCI_DEFAULT = ("TOCILIZUMAB",)
CORT_DEFAULT = ("DEXAMETHASONE", "METHYLPREDNISOLONE", "PREDNISOLONE", "PREDNISONE", "HYDROCORTISONE")
PRODUCT = {CAR_NK: "CAR-NK", CAR_T: "CAR-T"}

ADAE_COLUMNS = [
    "STUDYID", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESTDTC", "AEENDTC", "ASTDT", "ASTDTF",
    "AENDT", "AENDTF", "ASTDY", "AENDY", "AETOXGR", "ATOXGRN", "AESER", "AEREL", "RELFL", "AERELPRD", "AEOUT",
    "AEACN", "AEGRSCL", "AEDLT", "DLTFL", "CRSFL", "ICANSFL", "TRIGFL", "TRTEMFL", "FATALFL", "DOSELVL", "SAFFL",
    "CARTFL", "TRTSDT", "TRTEDT", "NACTDT", "PRINFPRD", "PRINFDT", "PRINFDY", "ADURN", "TOCIFL", "CORTFL",
]


def _upper(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.upper()


def _yn(mask) -> pd.Series:
    return pd.Series(np.where(np.asarray(mask, dtype=bool), "Y", "N"), index=getattr(mask, "index", None),
                     dtype="string")


def safety_settings(cfg: dict) -> dict:
    s = cfg.get("safety") or {}
    cm = s.get("crs_management") or {}
    return {
        "related_terms": tuple(t.upper() for t in s.get("related_terms", RELATED_DEFAULT)),
        "tocilizumab": tuple(t.upper() for t in cm.get("tocilizumab", TOCI_DEFAULT)),
        "corticosteroids": tuple(t.upper() for t in cm.get("corticosteroids", CORT_DEFAULT)),
        "hyslaw_window_days": int(s.get("hyslaw_window_days", 30)),
        "lab_criteria": s.get("lab_criteria", "analysis/metadata/ctcae_v5_lab.csv"),
    }


def new_therapy_start(cm: pd.DataFrame | None) -> pd.Series:
    """NACTDT: earliest possible start of the first subsequent cancer therapy per subject."""
    if cm is None or not len(cm):
        return pd.Series(dtype="datetime64[ns]", name="NACTDT")
    c = cm[_upper(cm["CMCAT"]) == "SUBSEQUENT CANCER THERAPY"]
    st, _ = dates.impute_dtc(c["CMSTDTC"], how="first")
    s = pd.Series(st.values, index=c["USUBJID"].values).dropna()
    return s.groupby(level=0).min().rename("NACTDT")


def study_day(d: pd.Series, ref: pd.Series) -> pd.Series:
    """Study day: day 1 = reference date, no day 0."""
    diff = (d - ref).dt.days
    return pd.Series(np.where(diff >= 0, diff + 1, diff), index=d.index).where(diff.notna()).astype("Float64")


def _preceding_infusion(a: pd.DataFrame, ex: pd.DataFrame) -> pd.DataFrame:
    """Product, date and onset day of the last infusion on or before each AE's onset."""
    e = ex.copy()
    e["_dt"] = dates.to_date(e["EXSTDTC"])
    e["_dtm"] = dates.to_datetime(e["EXSTDTC"])
    e["_time"] = e["EXSTDTC"].astype("string").str.contains("T", na=False)
    e["_prd"] = _upper(e["EXTRT"]).map(PRODUCT)
    e = e.dropna(subset=["_dt"]).sort_values(["USUBJID", "_dt", "_dtm"])
    out = pd.DataFrame(index=a.index, columns=["PRINFPRD", "PRINFDT"])
    out["PRINFDT"] = pd.NaT
    by_subj = {u: g for u, g in e.groupby("USUBJID")}
    ae_time = a["AESTDTC"].astype("string").str.contains("T", na=False)
    ae_dtm = dates.to_datetime(a["AESTDTC"])
    for i in a.index:
        g = by_subj.get(a.at[i, "USUBJID"])
        st = a.at[i, "ASTDT"]
        if g is None or pd.isna(st):
            continue
        before = g[g["_dt"] <= st]
        if ae_time[i]:  # same day: an infusion given after the onset time did not precede it
            later = (before["_dt"] == st) & before["_time"] & (before["_dtm"] > ae_dtm[i])
            before = before[~later]
        if len(before):
            last = before.iloc[-1]
            out.at[i, "PRINFPRD"] = last["_prd"]
            out.at[i, "PRINFDT"] = last["_dt"]
    out["PRINFDT"] = pd.to_datetime(out["PRINFDT"])
    out["PRINFPRD"] = out["PRINFPRD"].astype("string")
    out["PRINFDY"] = (a["ASTDT"] - out["PRINFDT"]).dt.days.astype("Float64")
    return out


def _crs_management(a: pd.DataFrame, cm: pd.DataFrame | None, cut: pd.Timestamp, toci, cort) -> pd.DataFrame:
    out = pd.DataFrame({"TOCIFL": pd.NA, "CORTFL": pd.NA}, index=a.index, dtype="string")
    event = a["CRSFL"].eq("Y") | a["ICANSFL"].eq("Y")
    out.loc[event, ["TOCIFL", "CORTFL"]] = "N"
    if cm is None or not len(cm) or not event.any():
        return out
    c = cm[_upper(cm["CMCAT"]) == "CRS MANAGEMENT"].copy()
    c["_dec"] = _upper(c["CMDECOD"])
    if "CMTRT" in c.columns:  # verbatim text is dropped at ingestion; kept only by direct callers
        c["_dec"] = c["_dec"].fillna(_upper(c["CMTRT"]))
    c["_st"], _ = dates.impute_dtc(c["CMSTDTC"], how="first")
    c["_en"], _ = dates.impute_dtc(c["CMENDTC"], how="last", cap=cut)
    c["_en"] = c["_en"].fillna(cut)
    for i in a.index[event]:
        st, en = a.at[i, "ASTDT"], a.at[i, "AENDT"]
        if pd.isna(st):
            continue
        en = cut if pd.isna(en) else en
        rec = c[(c["USUBJID"] == a.at[i, "USUBJID"]) & (c["_st"] <= en) & (c["_en"] >= st)]
        out.at[i, "TOCIFL"] = "Y" if rec["_dec"].isin(toci).any() else "N"
        out.at[i, "CORTFL"] = "Y" if rec["_dec"].isin(cort).any() else "N"
    return out


def derive_adae(ae: pd.DataFrame, adsl: pd.DataFrame, ex: pd.DataFrame, cm: pd.DataFrame | None,
                cfg: dict) -> pd.DataFrame:
    """ADAE from validated, data-cut AE (SUPPAE folded), ADSL, EX and CM (or None)."""
    st = safety_settings(cfg)
    cut = pd.Timestamp(cfg["data_cut"])
    window = int(cfg["teae_window_days"])
    trig_grade = int(cfg["escalation"].get("trigger_min_grade", 2))
    keep = ["USUBJID", "SAFFL", "CARTFL", "DOSELVL", "TRTSDT", "TRTEDT", "RFSTDT", "WINSTDT", "WINENDT"]
    a = ae.drop(columns=[c for c in ae.columns if c.startswith("_")], errors="ignore").copy()
    for col in ("AEDLT", "AERELPRD", "AEGRSCL", "AESER", "AEOUT", "AEACN", "STUDYID"):
        if col not in a.columns:
            a[col] = pd.Series(pd.NA, index=a.index, dtype="string")
    a = a.merge(adsl[keep], on="USUBJID", how="left")

    a["ASTDT"], a["ASTDTF"] = dates.impute_dtc(a["AESTDTC"], how="first", floor=a["TRTSDT"])
    a["AENDT"], a["AENDTF"] = dates.impute_dtc(a["AEENDTC"], how="last", cap=cut)
    a["ASTDY"] = study_day(a["ASTDT"], a["RFSTDT"])
    a["AENDY"] = study_day(a["AENDT"], a["RFSTDT"])
    a["ATOXGRN"] = pd.to_numeric(a["AETOXGR"].astype("string"), errors="coerce").astype("Float64")

    nact = new_therapy_start(cm)
    a["NACTDT"] = pd.to_datetime(a["USUBJID"].map(nact))

    # Treatment-emergent (SAP §5).
    trtsdtm = derive_treatment_dates(ex)["TRTSDTM"] if len(ex) else pd.Series(dtype="datetime64[ns]")
    first_dtm = pd.to_datetime(a["USUBJID"].map(trtsdtm))
    ae_dtm = dates.to_datetime(a["AESTDTC"])
    ae_time = a["AESTDTC"].astype("string").str.contains("T", na=False)
    inf_time = first_dtm.notna() & (first_dtm != first_dtm.dt.normalize())
    before_time = ae_time & inf_time & (a["ASTDT"] == a["TRTSDT"]) & (ae_dtm < first_dtm)
    saf = a["SAFFL"].eq("Y")
    on_after = (a["ASTDT"] >= a["TRTSDT"]) & ~before_time
    upto = a["ASTDT"] <= a["TRTEDT"] + pd.Timedelta(days=window)
    before_nact = a["NACTDT"].isna() | (a["ASTDT"] < a["NACTDT"])
    undated = a["ASTDT"].isna() & (a["AENDT"].isna() | (a["AENDT"] >= a["TRTSDT"]))
    a["TRTEMFL"] = _yn(saf & ((on_after & upto & before_nact).fillna(False) | undated))

    a["RELFL"] = _yn(_upper(a["AEREL"]).isin(st["related_terms"]).fillna(False))
    decod = _upper(a["AEDECOD"])
    a["CRSFL"] = _yn(decod.eq(CRS).fillna(False))
    a["ICANSFL"] = _yn(decod.eq(ICANS).fillna(False))
    a["FATALFL"] = _yn((_upper(a["AEOUT"]).eq("FATAL").fillna(False)) | a["ATOXGRN"].eq(5).fillna(False))
    in_win = (a["CARTFL"].eq("Y") & (a["ASTDT"] >= a["WINSTDT"]) & (a["ASTDT"] <= a["WINENDT"])).fillna(False)
    a["DLTFL"] = _yn(in_win & _upper(a["AEDLT"]).eq("Y").fillna(False))
    g = a["ATOXGRN"].fillna(0) >= trig_grade
    a["TRIGFL"] = _yn(in_win & g & (a["CRSFL"].eq("Y") | a["RELFL"].eq("Y")))

    a = a.join(_preceding_infusion(a, ex))
    dur = (a["AENDT"] - a["ASTDT"]).dt.days + 1
    a["ADURN"] = dur.where(a["AEENDTC"].notna()).astype("Float64")
    a = a.join(_crs_management(a, cm, cut, st["tocilizumab"], st["corticosteroids"]))

    for c in ("ASTDT", "AENDT", "TRTSDT", "TRTEDT", "NACTDT", "PRINFDT"):
        a[c] = pd.to_datetime(a[c]).dt.normalize().astype("datetime64[ns]")
    for c in ADAE_COLUMNS:
        if c in a.columns and a[c].dtype == object:
            a[c] = a[c].astype("string")
    a = a[[c for c in ADAE_COLUMNS if c in a.columns]]
    return a.sort_values(["USUBJID", "ASTDT", "AESEQ"], kind="stable", na_position="last").reset_index(drop=True)
