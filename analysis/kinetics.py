"""Cellular kinetics, biodistribution and cytokines (SAP §9): ADPC, ADPP, ADCYT and
their ARD rows. Pure functions of validated SDTM frames and ADSL.

ADPC, one record per PC sample:
    USUBJID, PRODUCT (``CAR-NK``/``CAR-T``, from PCREFID), ROUTE (EXROUTE of the first
    infusion of that product), DOSELVL, PKFL, PARAMCD (= PCTESTCD), PARAM, PCSPEC,
    ADTM/ADT (sample), RFTDTM (reference infusion = PCRFTDTC, else the first infusion of
    the product in EX), ARELTM (actual days since the reference infusion, from the
    date-times; whole days when a time is missing), ARELDY (calendar days since the
    reference infusion date), ATPT (``PRE-DOSE`` or ``DAY n``), NCATIME (the time used by
    the NCA, see ``time_basis``), AVAL (quantifiable value; empty when BLQ), AVALC,
    AVALU, BLQFL, LLOQ, ANL01FL (used by the NCA), NCAVAL (the value the NCA used: 0 for
    BLQ before the first quantifiable value), and for tissue samples the paired blood
    sample (BLDVAL, BLDBLQFL, BLDADT, BLDDIFF) and TBRATIO with TBRRSN when missing.
ADPP, one record per subject, product, analyte (blood) and parameter:
    USUBJID, PRODUCT, ROUTE, DOSELVL, PKFL, ANALYTE, PCSPEC, PARAMCD (CMAX, TMAX, AUC028,
    AUCLST, CLAST, TLAST, PERSIST), PARAM, AVAL, AVALU, REASON (why missing), NOTE.
ADCYT, one record per cytokine result (LB, LBCAT CYTOKINE):
    USUBJID, PARAMCD (= LBTESTCD), ADT, ADTM, ADY, ARELTM (days since the first infusion),
    AVAL, AVALU, BASE, ABLFL, R2BASE (AVAL / BASE), PEAKFC (peak post-baseline fold
    change of the subject), PEAKFL, CRSGRN (worst CRS grade, 0 = none), CRSGR.

``time_basis`` (config ``kinetics.time_basis``): ``nominal_day`` (default) puts a sample
on the calendar day since the reference infusion (the day-28 sample is at 28 whatever
its clock time; a sample on the infusion day after the infusion at its actual fraction
of a day); ``actual`` uses ARELTM. Samples before the infusion are at 0 either way.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis import dates, nca
from analysis.adlb import each_distinct, on_or_before
from analysis.adsl import CAR_NK, CAR_T, derive_treatment_dates
from analysis.ard import OVERALL, frame, rows

PRODUCTS = {"CAR-NK": CAR_NK, "CAR-T": CAR_T}
PRODUCT_LABEL = {"CAR-NK": "CAR-NK", "CAR-T": "CAR-T"}
ANALYTES = {
    "CARDNA": ("CAR transgene (qPCR)", "copies/µg gDNA"),
    "CARNK": ("CAR+ NK cells (flow cytometry)", "cells/µL"),
    "CART": ("CAR+ T cells (flow cytometry)", "cells/µL"),
}
PP_PARAMS = ["CMAX", "TMAX", "AUC028", "AUCLST", "CLAST", "TLAST", "PERSIST"]
PP_LABEL = {"CMAX": "Cmax", "TMAX": "Tmax", "AUC028": "AUC0-28d", "AUCLST": "AUClast",
            "CLAST": "Clast", "TLAST": "Tlast", "PERSIST": "Persistence (last day quantifiable)"}
TIME_PARAMS = {"TMAX", "TLAST", "PERSIST"}
CYTOKINES = ["IL6", "IFNG", "IL10", "TNFA", "IL2", "CRP", "FERRITIN"]
CYTOKINE_LABEL = {"IL6": "IL-6", "IFNG": "IFN-γ", "IL10": "IL-10", "TNFA": "TNF-α", "IL2": "IL-2",
                  "CRP": "CRP", "FERRITIN": "Ferritin"}
CRS_TERM = "CYTOKINE RELEASE SYNDROME"
CRS_GROUPS = ["0", "1", "2", ">=3"]
CRS_LABEL = {"0": "No CRS", "1": "Grade 1", "2": "Grade 2", ">=3": "Grade ≥3"}
TISSUES = ["TUMOR TISSUE", "ASCITES"]
BLQ_TEXT = ("BLQ", "<LLOQ", "BELOW LLOQ", "<LOQ")

ADPC_COLUMNS = ["USUBJID", "PRODUCT", "ROUTE", "DOSELVL", "PKFL", "PARAMCD", "PARAM", "PCSPEC",
                "ADTM", "ADT", "RFTDTM", "ARELTM", "ARELDY", "ATPT", "NCATIME", "AVAL", "AVALC",
                "AVALU", "BLQFL", "LLOQ", "ANL01FL", "NCAVAL", "BLDVAL", "BLDBLQFL", "BLDADT",
                "BLDDIFF", "TBRATIO", "TBRRSN", "PCSEQ"]
ADPP_COLUMNS = ["USUBJID", "PRODUCT", "ROUTE", "DOSELVL", "PKFL", "ANALYTE", "PCSPEC", "PARAMCD",
                "PARAM", "AVAL", "AVALU", "REASON", "NOTE"]
ADCYT_COLUMNS = ["USUBJID", "PARAMCD", "PARAM", "ADT", "ADTM", "ADY", "ARELTM", "AVAL", "AVALU",
                 "BASE", "ABLFL", "R2BASE", "PEAKFC", "PEAKFL", "CRSGRN", "CRSGR"]

DEFAULTS = {"time_basis": "nominal_day", "auc_end_day": 28, "biodist_window_days": 3}


def settings(cfg: dict) -> dict:
    """The kinetics settings with the SAP defaults filled in."""
    out = dict(DEFAULTS)
    out.update(cfg.get("kinetics") or {})
    return out


def _upper(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.upper()


def _has_time(s: pd.Series) -> pd.Series:
    return s.astype("string").str.contains("T", na=False)


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


# --------------------------------------------------------------------------- infusions

def first_infusions(ex: pd.DataFrame) -> pd.DataFrame:
    """Per subject and product: first infusion date-time (FIRSTDTM, the time kept when
    given), its date (FIRSTDT), whether it has a time, and its route (EXROUTE)."""
    e = ex.copy()
    e["PRODUCT"] = _upper(e["EXTRT"]).map({v: k for k, v in PRODUCTS.items()})
    e = e[e["PRODUCT"].notna()]
    e["_dt"] = dates.to_date(e["EXSTDTC"])
    e["_dtm"] = dates.to_datetime(e["EXSTDTC"])
    e["_ht"] = _has_time(e["EXSTDTC"])
    e = e[e["_dt"].notna()].sort_values(["USUBJID", "PRODUCT", "_dtm"], kind="stable")
    f = e.groupby(["USUBJID", "PRODUCT"], sort=True).head(1).set_index(["USUBJID", "PRODUCT"])
    return pd.DataFrame({"FIRSTDTM": f["_dtm"], "FIRSTDT": f["_dt"], "FIRSTHT": f["_ht"],
                         "ROUTE": _upper(f["EXROUTE"]) if "EXROUTE" in f.columns else pd.NA})


def infusion_days(ex: pd.DataFrame) -> pd.DataFrame:
    """Every infusion as calendar days since the first infusion of the same product
    (USUBJID, PRODUCT, DAY)."""
    e = ex.copy()
    e["PRODUCT"] = _upper(e["EXTRT"]).map({v: k for k, v in PRODUCTS.items()})
    e["_dt"] = dates.to_date(e["EXSTDTC"])
    e = e[e["PRODUCT"].notna() & e["_dt"].notna()]
    first = e.groupby(["USUBJID", "PRODUCT"])["_dt"].transform("min")
    e["DAY"] = (e["_dt"] - first).dt.days.astype(int)
    return e[["USUBJID", "PRODUCT", "DAY"]].drop_duplicates().reset_index(drop=True)


# --------------------------------------------------------------------------- ADPC

def derive_adpc(pc: pd.DataFrame, ex: pd.DataFrame, adsl: pd.DataFrame, cfg: dict | None = None) -> pd.DataFrame:
    """ADPC from validated PC (see the module docstring)."""
    st = settings(cfg or {})
    if pc is None or len(pc) == 0:
        return _empty(ADPC_COLUMNS)
    p = pc.copy().reset_index(drop=True)
    first = first_infusions(ex)
    p["PARAMCD"] = _upper(p["PCTESTCD"])
    p["PCSPEC"] = _upper(p["PCSPEC"])
    p["ADTM"] = each_distinct(p["PCDTC"], dates.to_datetime)
    p["ADT"] = each_distinct(p["PCDTC"], dates.to_date)
    sample_ht = _has_time(p["PCDTC"])

    # product: PCREFID; else the product whose first infusion last precedes the sample
    ref = _upper(p["PCREFID"]) if "PCREFID" in p.columns else pd.Series(pd.NA, index=p.index, dtype="string")
    ref = ref.str.replace(" ", "", regex=False)
    prod = ref.where(ref.isin(list(PRODUCTS)))
    t_first = first.xs("CAR-T", level="PRODUCT")["FIRSTDT"] if "CAR-T" in first.index.get_level_values(1) else pd.Series(dtype="datetime64[ns]")
    guess = np.where(p["ADT"] >= p["USUBJID"].map(t_first), "CAR-T", "CAR-NK")
    p["PRODUCT"] = prod.fillna(pd.Series(guess, index=p.index, dtype="string"))

    # reference infusion: PCRFTDTC, else the first infusion of the product (EX)
    rftdtc = p["PCRFTDTC"] if "PCRFTDTC" in p.columns else pd.Series(pd.NA, index=p.index, dtype="string")
    rf_dtm = each_distinct(rftdtc, dates.to_datetime)
    rf_ht = _has_time(rftdtc) & rf_dtm.notna()
    key = pd.MultiIndex.from_arrays([p["USUBJID"], p["PRODUCT"]])
    ex_dtm = pd.Series(first["FIRSTDTM"].reindex(key).to_numpy(), index=p.index)
    ex_ht = pd.Series(first["FIRSTHT"].reindex(key).to_numpy(), index=p.index).fillna(False).astype(bool)
    use_ex = rf_dtm.isna()
    p["RFTDTM"] = rf_dtm.where(~use_ex, ex_dtm).astype("datetime64[ns]")
    ref_ht = rf_ht.where(~use_ex, ex_ht).astype(bool)
    p["ROUTE"] = pd.Series(first["ROUTE"].reindex(key).to_numpy(), index=p.index, dtype="string")

    rf_day = p["RFTDTM"].dt.normalize()
    p["ARELDY"] = (p["ADT"] - rf_day).dt.days
    both_times = sample_ht & ref_ht
    actual = (p["ADTM"] - p["RFTDTM"]) / pd.Timedelta(days=1)
    p["ARELTM"] = actual.where(both_times, p["ARELDY"].astype(float))
    predose = (p["ARELTM"] < 0).where(both_times, p["ARELDY"] < 0)
    p["ATPT"] = np.where(p["ARELDY"].isna(), None,
                         np.where(predose.fillna(False), "PRE-DOSE",
                                  "DAY " + p["ARELDY"].astype("Int64").astype("string")))
    if st["time_basis"] == "actual":
        t = p["ARELTM"]
    else:
        t = p["ARELDY"].astype(float).where(p["ARELDY"] != 0, p["ARELTM"])
    p["NCATIME"] = t.where(~predose.fillna(False), 0.0).clip(lower=0.0)

    # values: quantifiable, below LLOQ, not done
    val = p["PCSTRESN"].astype(float)
    lloq = p["PCLLOQ"].astype(float) if "PCLLOQ" in p.columns else pd.Series(np.nan, index=p.index)
    orres = _upper(p["PCORRES"]) if "PCORRES" in p.columns else pd.Series(pd.NA, index=p.index, dtype="string")
    notdone = (_upper(p["PCSTAT"]) == "NOT DONE").fillna(False) if "PCSTAT" in p.columns else pd.Series(False, index=p.index)
    blq_text = orres.isin(BLQ_TEXT).fillna(False) | orres.str.startswith("<").fillna(False)
    blq = ~notdone & ((val.isna() & blq_text) | (val.notna() & ((val <= 0) | (val < lloq).fillna(False))))
    quant = ~notdone & ~blq & val.notna()
    p["AVAL"] = val.where(quant)
    p["BLQFL"] = np.where(blq, "Y", "N")
    p["AVALC"] = np.select([notdone, blq, quant], ["NOT DONE", "BLQ", val.map(lambda v: f"{v:g}")], "MISSING")
    p["LLOQ"] = lloq
    units = p["PCSTRESU"].astype("string") if "PCSTRESU" in p.columns else pd.Series(pd.NA, index=p.index, dtype="string")
    p["AVALU"] = units.fillna(p["PARAMCD"].map({k: v[1] for k, v in ANALYTES.items()}))
    p["PARAM"] = p["PARAMCD"].map({k: v[0] for k, v in ANALYTES.items()}).fillna(p["PARAMCD"])

    # the NCA's use of each blood sample: BLQ -> 0 before the first quantifiable value, dropped after
    usable = (quant | blq) & p["NCATIME"].notna() & (p["PCSPEC"] == "BLOOD")
    p["ANL01FL"], p["NCAVAL"] = nca_use(p, usable)

    a = adsl.set_index("USUBJID")
    p["DOSELVL"] = p["USUBJID"].map(a["DOSELVL"]).astype("string")
    p["PKFL"] = p["USUBJID"].map(a["PKFL"]).astype("string")
    p = add_biodistribution(p, int(st["biodist_window_days"]))
    if "PCSEQ" not in p.columns:
        p["PCSEQ"] = np.nan
    out = p[ADPC_COLUMNS].sort_values(["USUBJID", "PRODUCT", "PARAMCD", "PCSPEC", "ADTM", "PCSEQ"],
                                      kind="stable").reset_index(drop=True)
    for c in ("USUBJID", "PRODUCT", "ROUTE", "DOSELVL", "PKFL", "PARAMCD", "PARAM", "PCSPEC", "ATPT",
              "AVALC", "AVALU", "BLQFL", "ANL01FL", "BLDBLQFL", "TBRRSN"):
        out[c] = out[c].astype("string")
    for c in ("ARELTM", "ARELDY", "NCATIME", "AVAL", "LLOQ", "NCAVAL", "BLDVAL", "BLDDIFF", "TBRATIO", "PCSEQ"):
        out[c] = out[c].astype(float)
    for c in ("ADTM", "ADT", "RFTDTM", "BLDADT"):
        out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
    return out


def nca_use(p: pd.DataFrame, usable: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """ANL01FL and NCAVAL of each sample: how the NCA uses the `usable` samples of each
    profile (USUBJID, PRODUCT, PARAMCD, PCSPEC) in time order (NCATIME, ADTM, record
    order). Of the samples at time 0 only the last is used; a quantifiable sample
    (BLQFL N) is used with its value; a BLQ one with 0 when it is before the profile's
    first quantifiable time (or the profile has none), else it is not used."""
    keys = ["USUBJID", "PRODUCT", "PARAMCD", "PCSPEC"]
    g = p.loc[usable.to_numpy(), keys + ["NCATIME", "ADTM", "BLQFL", "AVAL"]]
    g = g.assign(_ord=np.flatnonzero(usable.to_numpy()))
    g = g[g[keys].notna().all(axis=1)].sort_values(["NCATIME", "ADTM", "_ord"], kind="stable")
    at0 = g["NCATIME"] <= 0
    later_at0 = g[at0].groupby(keys, sort=False).cumcount(ascending=False) > 0
    kept = ~later_at0.reindex(g.index, fill_value=False)
    quant = g["BLQFL"] == "N"
    first_q = g["NCATIME"].where(quant & kept).groupby([g[k] for k in keys], sort=False).transform("min")
    use_quant = kept & quant
    use_blq = kept & ~quant & (first_q.isna() | (g["NCATIME"] < first_q))
    flag = np.full(len(p), "N", dtype=object)
    value = np.full(len(p), np.nan)
    rows = g["_ord"].to_numpy()
    flag[rows[(use_quant | use_blq).to_numpy()]] = "Y"
    value[rows[use_quant.to_numpy()]] = g.loc[use_quant, "AVAL"].to_numpy(dtype=float)
    value[rows[use_blq.to_numpy()]] = 0.0
    return flag, value


def add_biodistribution(p: pd.DataFrame, window_days: int) -> pd.DataFrame:
    """Tumour-to-blood ratio (SAP §9) for each tissue sample (TUMOR TISSUE, ASCITES): the
    blood sample of the same subject and analyte nearest in time (calendar days apart at
    most ``window_days``; ties -> the earlier), TBRATIO = tissue / blood when both are
    quantifiable, else missing with TBRRSN."""
    p = p.copy()
    for c in ("BLDVAL", "BLDDIFF", "TBRATIO"):
        p[c] = np.nan
    p["BLDBLQFL"] = pd.Series(pd.NA, index=p.index, dtype="string")
    p["BLDADT"] = pd.Series(pd.NaT, index=p.index, dtype="datetime64[ns]")
    p["TBRRSN"] = pd.Series(pd.NA, index=p.index, dtype="string")
    tissue = p[p["PCSPEC"].isin(TISSUES)]
    not_done = tissue["AVALC"].isin(["NOT DONE", "MISSING"])
    p.loc[not_done.index[not_done.to_numpy()], "TBRRSN"] = "tissue sample not done"
    pair = nearest_blood(p, tissue.index[~not_done.to_numpy()], window_days)
    unpaired = tissue.index[~not_done.to_numpy()].difference(pair.index, sort=False)
    p.loc[unpaired, "TBRRSN"] = f"no blood sample within {window_days} days"
    p.loc[pair.index, "BLDVAL"] = pair["AVAL"].to_numpy()
    p.loc[pair.index, "BLDBLQFL"] = pair["BLQFL"].to_numpy()
    p.loc[pair.index, "BLDADT"] = pair["ADT"].to_numpy()
    p.loc[pair.index, "BLDDIFF"] = pair["GAP"].to_numpy()
    tissue_blq = (p.loc[pair.index, "BLQFL"] == "Y").to_numpy()
    blood_blq = (pair["BLQFL"] == "Y").to_numpy()
    p.loc[pair.index[tissue_blq], "TBRRSN"] = "tissue sample below LLOQ"
    p.loc[pair.index[~tissue_blq & blood_blq], "TBRRSN"] = "paired blood sample below LLOQ"
    ratio = pair.index[~tissue_blq & ~blood_blq]
    p.loc[ratio, "TBRATIO"] = p.loc[ratio, "AVAL"].to_numpy() / pair.loc[ratio, "AVAL"].to_numpy()
    return p


def nearest_blood(p: pd.DataFrame, tissue_rows: pd.Index, window_days: int) -> pd.DataFrame:
    """For each tissue sample (rows `tissue_rows` of `p`) that has one, the blood sample
    (done: quantifiable or BLQ, dated) of the same subject and analyte nearest in time
    (date-time, else date), at most `window_days` calendar days apart; ties -> the
    earlier, then the first record. Indexed by the tissue row: AVAL, BLQFL, ADT of the
    blood sample and GAP (blood - tissue, days)."""
    done = p["AVALC"].isin(["BLQ"]) | p["AVAL"].notna()
    blood = p[(p["PCSPEC"] == "BLOOD") & done & p["ADT"].notna()]
    keys = ["USUBJID", "PARAMCD"]
    t = p.loc[tissue_rows, keys + ["ADT", "ADTM"]]
    t = t[t[keys].notna().all(axis=1)].assign(_tis=lambda x: x.index, _tdt=lambda x: x["ADTM"].fillna(x["ADT"]))
    b = blood[keys + ["ADT", "ADTM", "AVAL", "BLQFL"]].assign(_bld=blood.index)
    m = t[keys + ["ADT", "_tis", "_tdt"]].merge(b, on=keys, suffixes=("_T", ""))
    m = m[(m["ADT"] - m["ADT_T"]).abs() <= pd.Timedelta(days=window_days)]
    m = m.assign(_t=m["ADTM"].fillna(m["ADT"]))
    m = m.assign(GAP=(m["_t"] - m["_tdt"]) / pd.Timedelta(days=1))
    m = m.assign(_abs=m["GAP"].abs()).sort_values(["_tis", "_abs", "_t", "_bld"], kind="stable")
    return m.drop_duplicates("_tis").set_index("_tis")[["AVAL", "BLQFL", "ADT", "GAP"]].rename_axis(None)


# --------------------------------------------------------------------------- ADPP

def derive_adpp(adpc: pd.DataFrame, cfg: dict | None = None) -> pd.DataFrame:
    """NCA parameters per subject, product and analyte in blood (module docstring;
    rules in analysis.nca). PERSIST = calendar days from the reference infusion to the
    last quantifiable sample (ARELDY); NOTE says when that sample was the last one taken."""
    st = settings(cfg or {})
    end = float(st["auc_end_day"])
    if adpc is None or len(adpc) == 0:
        return _empty(ADPP_COLUMNS)
    recs = []
    for prof in blood_profiles(adpc):
        u, prod, an = prof["key"]
        res = nca.compute_nca(prof["t"], prof["aval"], prof["blq"], end)
        unit = str(prof["unit"]) if pd.notna(prof["unit"]) else ANALYTES.get(an, ("", ""))[1]
        persist, pnote = math.nan, ""
        if prof["n_quant"]:
            persist = prof["persist"]
            if prof["last_quant"]:
                pnote = "quantifiable at the last sample (persistence ongoing)"
        base = dict(USUBJID=u, PRODUCT=prod, ROUTE=prof["ROUTE"], DOSELVL=prof["DOSELVL"],
                    PKFL=prof["PKFL"], ANALYTE=an, PCSPEC="BLOOD")
        for k in PP_PARAMS:
            if k == "PERSIST":
                v, reason, note = persist, (res.reasons.get("CLAST", "") if math.isnan(persist) else ""), pnote
            else:
                v, reason, note = res.values[k], res.reasons.get(k, ""), res.notes.get(k, "")
            u_ = "day" if k in TIME_PARAMS else (f"{unit}×day" if k.startswith("AUC") else unit)
            lbl = PP_LABEL[k] if k != "AUC028" else f"AUC0-{end:g}d"
            recs.append(dict(base, PARAMCD=k, PARAM=lbl, AVAL=v, AVALU=u_, REASON=reason or None, NOTE=note or None))
    out = pd.DataFrame(recs, columns=ADPP_COLUMNS)
    for c in ADPP_COLUMNS:
        out[c] = out[c].astype(float) if c == "AVAL" else out[c].astype("string")
    return out


def blood_profiles(adpc: pd.DataFrame):
    """The blood profiles of ADPC, one per subject, product and analyte (sorted), each as
    a dict: key (USUBJID, PRODUCT, PARAMCD); t, aval, blq (NCATIME, AVAL, BLQFL Y) of its
    samples done (quantifiable or BLQ) in time order (NCATIME, ADTM; record order on
    ties); unit (first AVALU given, else missing); ROUTE, DOSELVL, PKFL of the first
    sample; n_quant (quantifiable samples); persist (ARELDY of the last quantifiable
    sample) and last_quant (whether the last sample is quantifiable)."""
    keys = ["USUBJID", "PRODUCT", "PARAMCD"]
    done = (adpc["BLQFL"] == "Y") | adpc["AVAL"].notna()   # not-done and missing samples are no samples
    b = adpc[(adpc["PCSPEC"] == "BLOOD") & done]
    b = b[b[keys].notna().all(axis=1)].sort_values(keys + ["NCATIME", "ADTM"], kind="stable")
    k = b[keys].to_numpy()
    new = np.r_[True, (k[1:] != k[:-1]).any(axis=1)] if len(b) else np.zeros(0, dtype=bool)
    gid = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], len(b)].astype(int)
    t, aval = b["NCATIME"].to_numpy(), b["AVAL"].to_numpy()
    blq = (b["BLQFL"] == "Y").to_numpy()
    quant = b["AVAL"].notna().to_numpy()
    n_quant = np.add.reduceat(quant.astype(int), starts) if len(b) else np.array([], dtype=int)
    last_q = pd.Series(np.where(quant, np.arange(len(b)), -1)).groupby(gid).max().to_numpy()
    areldy = b["ARELDY"].to_numpy(dtype=float)
    unit = b.groupby(gid, sort=True)["AVALU"].first()
    first = {c: b[c].to_numpy()[starts] for c in ("USUBJID", "PRODUCT", "PARAMCD", "ROUTE", "DOSELVL", "PKFL")}
    for i, (s, e) in enumerate(zip(starts, ends)):
        yield {"key": (first["USUBJID"][i], first["PRODUCT"][i], first["PARAMCD"][i]),
               "t": t[s:e], "aval": aval[s:e], "blq": blq[s:e], "unit": unit.iloc[i],
               "ROUTE": first["ROUTE"][i], "DOSELVL": first["DOSELVL"][i], "PKFL": first["PKFL"][i],
               "n_quant": int(n_quant[i]), "persist": float(areldy[last_q[i]]) if last_q[i] >= 0 else math.nan,
               "last_quant": bool(last_q[i] == e - 1)}


# --------------------------------------------------------------------------- cytokines

def derive_crs_grade(ae: pd.DataFrame, subjects: pd.Index) -> pd.Series:
    """Worst CRS grade (AEDECOD Cytokine release syndrome, AETOXGR) per subject; 0 = none."""
    a = ae[_upper(ae["AEDECOD"]) == CRS_TERM] if len(ae) else ae
    g = pd.to_numeric(a["AETOXGR"], errors="coerce") if len(a) else pd.Series(dtype=float)
    worst = g.groupby(a["USUBJID"]).max() if len(a) else pd.Series(dtype=float)
    return worst.reindex(subjects).fillna(0).astype(int)


def crs_group(grade: int) -> str:
    return ">=3" if grade >= 3 else str(int(grade))


def derive_adcyt(lb: pd.DataFrame, ex: pd.DataFrame, ae: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """Cytokine results of the safety set with baseline (last non-missing value on or
    before the first infusion, date and time), ratio to baseline, the peak post-baseline
    fold change per subject and test, and the worst CRS grade."""
    saf = adsl[adsl["SAFFL"] == "Y"].set_index("USUBJID")
    if lb is None or len(lb) == 0 or not len(saf):
        return _empty(ADCYT_COLUMNS)
    c = lb[(each_distinct(lb["LBCAT"], _upper) == "CYTOKINE")
           & each_distinct(lb["LBTESTCD"], _upper).isin(CYTOKINES) & lb["USUBJID"].isin(saf.index)].copy()
    if not len(c):
        return _empty(ADCYT_COLUMNS)
    c["PARAMCD"] = _upper(c["LBTESTCD"])
    c["AVAL"] = c["LBSTRESN"].astype(float)
    c = c[c["AVAL"].notna()]
    trt = derive_treatment_dates(ex)
    ref_dtm = trt["TRTSDTM"].dropna()
    c["ADT"] = each_distinct(c["LBDTC"], dates.to_date)
    c["ADTM"] = each_distinct(c["LBDTC"], dates.to_datetime)
    base_rows = c[on_or_before(c, "LBDTC", ref_dtm)]
    c = c[c["ADT"].notna()]
    c["ABLFL"] = "N"
    last = base_rows.sort_values(["USUBJID", "PARAMCD", "ADT", "ADTM"], kind="stable")
    last = last.groupby(["USUBJID", "PARAMCD"]).tail(1)
    c.loc[c.index.isin(last.index), "ABLFL"] = "Y"
    base = last.set_index(["USUBJID", "PARAMCD"])["AVAL"]
    c["BASE"] = base.reindex(pd.MultiIndex.from_arrays([c["USUBJID"], c["PARAMCD"]])).to_numpy(dtype=float)
    post = ~c.index.isin(base_rows.index)
    c["R2BASE"] = (c["AVAL"] / c["BASE"]).where(c["BASE"] > 0)
    rfst = saf["RFSTDT"] if "RFSTDT" in saf.columns else saf["TRTSDT"]
    d = (c["ADT"] - c["USUBJID"].map(rfst)).dt.days
    c["ADY"] = np.where(d >= 0, d + 1, d)  # study day 1 = reference start, no day 0
    c["ARELTM"] = (c["ADTM"] - c["USUBJID"].map(ref_dtm)) / pd.Timedelta(days=1)
    fc = c["R2BASE"].where(post)
    c["PEAKFC"] = fc.groupby([c["USUBJID"], c["PARAMCD"]]).transform("max")
    c["PEAKFL"] = "N"
    cand = c[post & fc.notna()].sort_values(["USUBJID", "PARAMCD", "R2BASE", "ADTM"],
                                            ascending=[True, True, False, True], kind="stable")
    c.loc[cand.groupby(["USUBJID", "PARAMCD"]).head(1).index, "PEAKFL"] = "Y"
    grade = derive_crs_grade(ae, saf.index)
    c["CRSGRN"] = c["USUBJID"].map(grade).astype(int)
    c["CRSGR"] = c["CRSGRN"].map(crs_group)
    c["PARAM"] = c["PARAMCD"].map(CYTOKINE_LABEL)
    c["AVALU"] = c["LBSTRESU"].astype("string") if "LBSTRESU" in c.columns else pd.NA
    out = c[ADCYT_COLUMNS].sort_values(["USUBJID", "PARAMCD", "ADTM"], kind="stable").reset_index(drop=True)
    for col in ("USUBJID", "PARAMCD", "PARAM", "AVALU", "ABLFL", "PEAKFL", "CRSGR"):
        out[col] = out[col].astype("string")
    for col in ("ADY", "ARELTM", "AVAL", "BASE", "R2BASE", "PEAKFC"):
        out[col] = out[col].astype(float)
    out["ADT"] = out["ADT"].astype("datetime64[ns]")
    out["ADTM"] = out["ADTM"].astype("datetime64[ns]")
    return out


# --------------------------------------------------------------------------- tumour burden

def derive_best_pchg(tu: pd.DataFrame, tr: pd.DataFrame, adsl: pd.DataFrame,
                     cm: pd.DataFrame | None = None) -> pd.Series:
    """Best (lowest) % change of the target sum from baseline (ADSL.BSLD) per subject, for
    the correlations of SAP §9. Target lesions = TU TARGET identified on or before the
    first infusion; a lesion counts its short axis (SAXIS) when in a LYMPH NODE, else its
    longest diameter; an assessment (VISITNUM, else date) counts only when every baseline
    target lesion is measured; assessments after the first infusion and before any
    subsequent anticancer therapy (CM)."""
    a = adsl.set_index("USUBJID")
    empty = pd.Series(dtype=float, name="BESTPCHG")
    if tu is None or tr is None or not len(tu) or not len(tr):
        return empty
    t = tu[_upper(tu["TUORRES"]) == "TARGET"].copy()
    if "TUTESTCD" in t.columns:
        t = t[_upper(t["TUTESTCD"]).fillna("TUMIDENT") == "TUMIDENT"]
    t["_dt"] = dates.impute_day_last(t["TUDTC"])[0]
    t = t[t["_dt"] <= t["USUBJID"].map(a["TRTSDT"])]
    t["_loc"] = _upper(t["TULOC"])
    tgt = t.drop_duplicates(["USUBJID", "TULNKID"])[["USUBJID", "TULNKID", "_loc"]]
    n_tgt = tgt.groupby("USUBJID").size()
    r = tr.merge(tgt, left_on=["USUBJID", "TRLNKID"], right_on=["USUBJID", "TULNKID"], how="inner")
    want = np.where(r["_loc"] == "LYMPH NODE", "SAXIS", "LDIAM")
    r = r[(_upper(r["TRTESTCD"]) == want) & r["TRSTRESN"].notna()].copy()
    r["_dt"] = dates.impute_day_last(r["TRDTC"])[0]
    r = r[r["_dt"] > r["USUBJID"].map(a["TRTSDT"])]
    if cm is not None and len(cm):
        s = cm[_upper(cm["CMCAT"]) == "SUBSEQUENT CANCER THERAPY"]
        sdt = dates.impute_dtc(s["CMSTDTC"], how="first")[0].groupby(s["USUBJID"]).min()
        r = r[~(r["_dt"] >= r["USUBJID"].map(sdt))]
    r["_visit"] = r["VISITNUM"].astype(float).map(lambda v: f"V{v:g}") if "VISITNUM" in r.columns else None
    r["_visit"] = r["_visit"].where(r["_visit"].notna(), r["_dt"].dt.strftime("%Y-%m-%d"))
    g = r.groupby(["USUBJID", "_visit"]).agg(s=("TRSTRESN", "sum"), k=("TULNKID", "nunique"))
    g = g[g["k"] == g.index.get_level_values(0).map(n_tgt)]
    bsld = g.index.get_level_values(0).map(a["BSLD"]).astype(float)
    g["pchg"] = np.where(bsld > 0, 100.0 * (g["s"] - bsld) / bsld, np.nan)
    return g["pchg"].groupby(level=0).min().dropna().rename("BESTPCHG")


# --------------------------------------------------------------------------- ARD

def _stat_rows(analysis, group, level, variable, vlevel, stats, reasons) -> list[dict]:
    out = rows(analysis, group, level, variable, vlevel, stats)
    if reasons:
        if "all" in reasons:
            text = reasons["all"]
        else:
            by_reason: dict[str, list[str]] = {}
            for k, v in reasons.items():
                by_reason.setdefault(v, []).append(k)
            text = "; ".join(f"{', '.join(ks)}: {v}" for v, ks in by_reason.items())
        out += rows(analysis, group, level, variable, vlevel, {"reason": text})
    return out


def profile_label(product: str, analyte: str) -> str:
    return f"{product}/{analyte}"


def ard_nca(adpp: pd.DataFrame, adsl: pd.DataFrame, levels: list[str]) -> list[dict]:
    """`nca`: per product/analyte (blood) and parameter, overall and per CAR-T dose level
    (CAR-T only; the CAR-NK dose is fixed): n, n_missing, geomean, geocv, median, min, max
    over the kinetics set; plus the route of each product (variable ROUTE)."""
    recs: list[dict] = []
    pk = adpp[adpp["PKFL"] == "Y"]
    for prod in sorted(pk["PRODUCT"].dropna().unique()):
        routes = sorted(pk.loc[pk["PRODUCT"] == prod, "ROUTE"].dropna().unique())
        recs += rows("nca", OVERALL, OVERALL, "ROUTE", prod, {"route": ", ".join(routes)})
    for (prod, an), g in pk.groupby(["PRODUCT", "ANALYTE"], sort=True):
        groups = [(OVERALL, OVERALL, g)]
        if prod == "CAR-T":
            groups += [("DOSELVL", lvl, g[g["DOSELVL"] == lvl]) for lvl in levels]
        for grp, lvl, sub in groups:
            for k in PP_PARAMS:
                x = sub.loc[sub["PARAMCD"] == k, "AVAL"].astype(float)
                stats, reasons = nca.describe(x.to_numpy(), geometric=k not in TIME_PARAMS)
                stats = {"n": stats["n"], "n_missing": int(x.isna().sum()), **{s: stats[s] for s in ("geomean", "geocv", "median", "min", "max")}}
                recs += _stat_rows("nca", grp, lvl, k, profile_label(prod, an), stats, reasons)
    return recs


def ard_conc_time(adpc: pd.DataFrame, min_n: int) -> list[dict]:
    """`conc_time`: per product/analyte in blood and calendar day since the reference
    infusion (group DAY; pre-dose = 0), over the kinetics set: n subjects sampled,
    n_blq, and the median concentration (BLQ ranked lowest; missing with a reason when
    the median is below LLOQ or fewer than ``min_n`` subjects were sampled)."""
    recs: list[dict] = []
    done = (adpc["BLQFL"] == "Y") | adpc["AVAL"].notna()
    b = adpc[(adpc["PCSPEC"] == "BLOOD") & (adpc["PKFL"] == "Y") & done].copy()
    if not len(b):
        return recs
    b["DAY"] = b["ARELDY"].where(b["ATPT"] != "PRE-DOSE", 0).clip(lower=0).astype(int)
    b["_v"] = b["AVAL"].fillna(0.0)
    b = b.sort_values(["ADTM"], kind="stable").groupby(["PRODUCT", "PARAMCD", "DAY", "USUBJID"]).head(1)
    for (prod, an, day), g in b.groupby(["PRODUCT", "PARAMCD", "DAY"], sort=True):
        n, nblq = len(g), int((g["BLQFL"] == "Y").sum())
        med = float(np.median(g["_v"]))
        reason = None
        if n < min_n:
            med, reason = None, f"fewer than {min_n} subjects sampled"
        elif med <= 0 or nblq * 2 >= n:
            med, reason = None, "median below LLOQ"
        st = {"n": n, "n_blq": nblq, "median": med}
        if reason:
            st["reason"] = reason
        recs += rows("conc_time", "DAY", str(int(day)), "CONC", profile_label(prod, an), st)
    return recs


def ard_infusions(ex: pd.DataFrame, adsl: pd.DataFrame) -> list[dict]:
    """`infusion`: subjects of the kinetics set infused on each calendar day since the
    first infusion of the product (group DAY, variable_level product)."""
    pk = adsl.loc[adsl["PKFL"] == "Y", "USUBJID"]
    d = infusion_days(ex)
    d = d[d["USUBJID"].isin(pk)]
    recs: list[dict] = []
    for (prod, day), g in d.groupby(["PRODUCT", "DAY"], sort=True):
        recs += rows("infusion", "DAY", str(int(day)), "INFUSION", prod, {"n": int(g["USUBJID"].nunique())})
    return recs


def ard_biodist(adpc: pd.DataFrame) -> list[dict]:
    """`biodist`: tumour-to-blood ratio per tissue specimen and analyte (variable
    TBRATIO, variable_level specimen/analyte): n_samples, n (ratios), n_subjects,
    geomean, geocv, median, min, max; reasons for ratios not computed."""
    recs: list[dict] = []
    t = adpc[adpc["PCSPEC"].isin(TISSUES)]
    for (spec, an), g in t.groupby(["PCSPEC", "PARAMCD"], sort=True):
        x = g["TBRATIO"].astype(float)
        stats, reasons = nca.describe(x.to_numpy())
        ok = g[x.notna()]
        st = {"n_samples": len(g), "n": stats["n"], "n_subjects": int(ok["USUBJID"].nunique()),
              **{s: stats[s] for s in ("geomean", "geocv", "median", "min", "max")}}
        recs += _stat_rows("biodist", OVERALL, OVERALL, "TBRATIO", f"{spec}/{an}", st, reasons)
        for why, k in sorted(g.loc[x.isna(), "TBRRSN"].fillna("unknown").value_counts().items()):
            recs += rows("biodist", "reason", why, "TBRATIO", f"{spec}/{an}", {"n_not_computed": int(k)})
    return recs


def ard_cytokine(adcyt: pd.DataFrame, adsl: pd.DataFrame) -> list[dict]:
    """`cytokine`: peak post-baseline fold change from baseline per cytokine (variable
    PARAMCD), overall and by worst CRS grade (group CRSGR: 0, 1, 2, >=3), over the safety
    set: n, geomean, geocv, median, min, max; n_subjects per CRS group (variable SUBJECTS)."""
    recs: list[dict] = []
    saf = adsl[adsl["SAFFL"] == "Y"]
    if not len(saf):
        return recs
    per = adcyt.drop_duplicates(["USUBJID", "PARAMCD"])[["USUBJID", "PARAMCD", "PEAKFC", "CRSGR"]] if len(adcyt) else \
        pd.DataFrame(columns=["USUBJID", "PARAMCD", "PEAKFC", "CRSGR"])
    grades = adcyt.drop_duplicates("USUBJID").set_index("USUBJID")["CRSGR"] if len(adcyt) else pd.Series(dtype="string")
    groups = [(OVERALL, OVERALL, per)] + [("CRSGR", gl, per[per["CRSGR"] == gl]) for gl in CRS_GROUPS]
    for grp, gl, _ in groups:
        n = len(grades) if grp == OVERALL else int((grades == gl).sum())
        recs += rows("cytokine", grp, gl, "SUBJECTS", "", {"n": n})
    for cd in CYTOKINES:
        for grp, gl, sub in groups:
            x = sub.loc[sub["PARAMCD"] == cd, "PEAKFC"].astype(float)
            stats, reasons = nca.describe(x.to_numpy())
            recs += _stat_rows("cytokine", grp, gl, cd, "PEAKFC", stats, reasons)
    return recs


def spearman(x, y) -> tuple[dict, str | None]:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = ~np.isnan(x) & ~np.isnan(y)
    x, y = x[ok], y[ok]
    n = int(len(x))
    if n < 3:
        return {"rho": None, "p": None, "n": n}, f"fewer than 3 subjects with both values (n = {n})"
    if len(set(x)) < 2 or len(set(y)) < 2:
        return {"rho": None, "p": None, "n": n}, "one of the variables is constant"
    res = sps.spearmanr(x, y)
    return {"rho": float(res.statistic), "p": float(res.pvalue), "n": n}, None


def ard_correlation(adpp: pd.DataFrame, adsl: pd.DataFrame, best: pd.Series, pc_done: bool) -> list[dict]:
    """`correlation` (exploratory, Spearman; p from the t approximation, unadjusted):
    best % change of the target sum (variable BESTPCHG) against CAR Cmax in blood per
    product (variable_level ``CMAX CAR-T/CARDNA`` ...; kinetics and efficacy sets) and
    against the highest NKG2D-ligand H-score (``NKGLHS``; efficacy set): rho, p, n."""
    recs: list[dict] = []
    a = adsl.set_index("USUBJID")
    eff = a.index[a["EFFFL"] == "Y"]
    b = best.reindex(eff)
    for prod in ("CAR-T", "CAR-NK"):
        lvl = f"CMAX {profile_label(prod, 'CARDNA')}"
        if not pc_done:
            recs += rows("correlation", OVERALL, OVERALL, "BESTPCHG", lvl,
                         {"rho": None, "p": None, "n": 0, "reason": "PC domain not in the export"})
            continue
        c = adpp[(adpp["PRODUCT"] == prod) & (adpp["ANALYTE"] == "CARDNA") & (adpp["PARAMCD"] == "CMAX")
                 & (adpp["PKFL"] == "Y")].set_index("USUBJID")["AVAL"].astype(float)
        st, why = spearman(c.reindex(eff).to_numpy(), b.to_numpy())
        recs += rows("correlation", OVERALL, OVERALL, "BESTPCHG", lvl, {**st, **({"reason": why} if why else {})})
    hs = a["NKGLHS"].astype(float).reindex(eff) if "NKGLHS" in a.columns else pd.Series(np.nan, index=eff)
    st, why = spearman(hs.to_numpy(), b.to_numpy())
    recs += rows("correlation", OVERALL, OVERALL, "BESTPCHG", "NKGLHS", {**st, **({"reason": why} if why else {})})
    return recs


def ard_cart_start(adsl: pd.DataFrame) -> list[dict]:
    """`kinetics` / CART_START_DAY: days from the first infusion to the first CAR-T
    infusion (CAR-T set): n, median, min, max (marks CAR-T on F-CYTO)."""
    c = adsl[adsl["CARTFL"] == "Y"]
    d = (pd.to_datetime(c["CARTSDT"]) - pd.to_datetime(c["TRTSDT"])).dt.days.dropna().astype(float)
    stats, _ = nca.describe(d.to_numpy(), geometric=False)
    return rows("kinetics", OVERALL, OVERALL, "CART_START_DAY", "",
                {k: stats[k] for k in ("n", "median", "min", "max")})


def pc_status(present: set[str], pc: pd.DataFrame | None) -> tuple[bool, str]:
    """Whether the kinetics analysis can run, and the reason when it cannot."""
    if "PC" not in present:
        return False, "PC domain not in the export"
    if pc is None or not len(pc):
        return False, "PC domain has no records up to the data cut"
    return True, ""


def ard_kinetics(adpc, adpp, adcyt, adsl, ex, best, pc_done: bool, pc_reason: str,
                 cfg: dict) -> pd.DataFrame:
    """Every ARD row of the kinetics stage (SAP §9)."""
    levels = list(cfg["dose_levels"])
    min_n = int(cfg.get("small_group_n", 3))
    st = settings(cfg)
    recs = rows("kinetics", OVERALL, OVERALL, "PC", "", {"status": "done" if pc_done else "not done"})
    if not pc_done:
        recs += rows("kinetics", OVERALL, OVERALL, "PC", "", {"reason": pc_reason})
    recs += rows("kinetics", OVERALL, OVERALL, "SETTINGS", "",
                 {"auc_end_day": st["auc_end_day"], "time_basis": st["time_basis"],
                  "biodist_window_days": st["biodist_window_days"]})
    if pc_done:
        recs += ard_nca(adpp, adsl, levels)
        recs += ard_conc_time(adpc, min_n)
        recs += ard_infusions(ex, adsl)
        recs += ard_biodist(adpc)
        pk = adpp[adpp["PKFL"] == "Y"]
        ongoing = pk[(pk["PARAMCD"] == "PERSIST") & (pk["NOTE"].notna())]
        for (prod, an), g in pk[pk["PARAMCD"] == "PERSIST"].groupby(["PRODUCT", "ANALYTE"], sort=True):
            k = int(ongoing[(ongoing["PRODUCT"] == prod) & (ongoing["ANALYTE"] == an)]["USUBJID"].nunique())
            recs += rows("nca", OVERALL, OVERALL, "PERSIST", profile_label(prod, an), {"n_ongoing": k})
    recs += ard_cart_start(adsl)
    recs += ard_cytokine(adcyt, adsl)
    recs += ard_correlation(adpp, adsl, best, pc_done)
    return frame(recs)
