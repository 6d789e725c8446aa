"""ADSL: one record per subject of DM, with the analysis sets of SAP §2, treatment
dates, the actual CAR-T dose level and the baseline subgroup variables of SAP §8.

Each piece is a small pure function of validated SDTM frames (see
docs/architecture.md) returning a frame indexed by USUBJID; `derive_adsl` joins them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import dates

CAR_NK = "NKG2D CAR-NK"
CAR_T = "NKG2D CAR-T"
DLT_WINDOW_LABEL = "first CAR-NK infusion to {days} days after the first CAR-T infusion"

# Analysis sets: ADSL flag, ARD set name, label, the reason variable for exclusion.
SETS = [
    ("ENRLFL", "ENROLLED", "Enrolled", "ENRLRSN"),
    ("SAFFL", "SAFETY", "Safety", "SAFRSN"),
    ("CARTFL", "CART", "CAR-T", "CARTRSN"),
    ("DLTEVLFL", "DLTEVAL", "DLT-evaluable", "DLTRSN"),
    ("EFFFL", "EFFEVAL", "Efficacy-evaluable", "EFFRSN"),
    ("PKFL", "KINETICS", "Kinetics", "PKRSN"),
]

DM_KEEP = ["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "SEX", "RACE", "ARMCD", "ARM", "ACTARMCD"]
SUPPDM_KEEP = {"PHASE": "PHASE", "COHORT": "COHORT", "HISTOL": "HISTOL", "NKSRC": "NKSRC"}

# Contact records for the last date known alive (SAP §7): domain -> date variables.
CONTACT_DATES = {
    "EX": ["EXSTDTC", "EXENDTC"], "AE": ["AESTDTC", "AEENDTC"], "LB": ["LBDTC"],
    "TU": ["TUDTC"], "TR": ["TRDTC"], "RS": ["RSDTC"], "VS": ["VSDTC"], "PC": ["PCDTC"],
    "MI": ["MIDTC"], "QS": ["QSDTC"], "EG": ["EGDTC"], "CV": ["CVDTC"], "CM": ["CMSTDTC"],
}


def _col(df: pd.DataFrame | None, name: str) -> pd.Series:
    if df is None or name not in df.columns:
        return pd.Series(pd.NA, index=df.index if df is not None else None, dtype="string")
    return df[name]


def _nonempty(df: pd.DataFrame | None) -> bool:
    return df is not None and len(df) > 0


def _upper(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.upper()


# --------------------------------------------------------------------------- treatment

def derive_treatment_dates(ex: pd.DataFrame) -> pd.DataFrame:
    """First/last infusion dates overall and per product.

    TRTSDTM keeps the time when EXSTDTC has one (for baseline on the day of infusion).
    """
    e = ex.copy()
    e["_dt"] = dates.to_date(e["EXSTDTC"])
    e["_dtm"] = dates.to_datetime(e["EXSTDTC"])
    e["_trt"] = _upper(e["EXTRT"])
    e = e[e["_dt"].notna()]
    g = e.groupby("USUBJID")
    out = pd.DataFrame({
        "TRTSDT": g["_dt"].min(),
        "TRTEDT": g["_dt"].max(),
    })
    first = e.sort_values(["USUBJID", "_dt", "_dtm"]).groupby("USUBJID").head(1).set_index("USUBJID")
    out["TRTSDTM"] = first["_dtm"].where(first["_dtm"].notna(), first["_dt"])
    for prod, pre in ((CAR_NK, "CARNK"), (CAR_T, "CART")):
        p = e[e["_trt"] == prod].groupby("USUBJID")["_dt"]
        out[f"{pre}SDT"] = p.min()
        out[f"{pre}EDT"] = p.max()
        out[f"N{pre}INF"] = p.size()
    for c in ("NCARNKINF", "NCARTINF"):
        out[c] = out[c].fillna(0).astype(int)
    return out


def match_dose_level(dose: float, dose_levels: dict[str, float], tolerance: float) -> str | None:
    """The configured level whose cells/kg is within `tolerance` (relative) of `dose`."""
    if dose is None or pd.isna(dose):
        return None
    for level, value in dose_levels.items():
        if abs(dose - value) <= tolerance * value:
            return level
    return None


def derive_dose_level(ex: pd.DataFrame, dose_levels: dict[str, float], tolerance: float) -> pd.DataFrame:
    """DOSELVL = the level of the first CAR-T infusion actually given (SAP §2).

    Raises ValueError naming the subject and dose when a dose matches no level.
    """
    e = ex[_upper(ex["EXTRT"]) == CAR_T].copy()
    e["_dt"] = dates.to_datetime(e["EXSTDTC"])
    e = e.sort_values(["USUBJID", "_dt", "EXSEQ"]).groupby("USUBJID").head(1)
    lvls = {r.USUBJID: match_dose_level(r.EXDOSE, dose_levels, tolerance) for r in e.itertuples()}
    bad = [(u, d) for u, d in zip(e["USUBJID"], e["EXDOSE"]) if lvls[u] is None]
    if bad:
        listed = ", ".join(f"{u} (EXDOSE {d:g} cells/kg)" for u, d in bad)
        raise ValueError(f"EX: first CAR-T dose matches no configured dose level for {listed}; "
                         f"levels: {dose_levels}")
    return pd.DataFrame({"DOSELVL": pd.Series(lvls, dtype="string"),
                         "CARTDOSE": e.set_index("USUBJID")["EXDOSE"]})


# --------------------------------------------------------------------------- dates

def derive_death_date(dm: pd.DataFrame, ds: pd.DataFrame | None, cut: pd.Timestamp) -> pd.DataFrame:
    """DTHDT from DM.DTHDTC (or the DS death record when DM has none): latest possible
    date, capped at the data cut (SAP §3), with DTHDTF flag."""
    d = dm.set_index("USUBJID")
    dtc = _col(d, "DTHDTC").copy()
    if _nonempty(ds):
        death = ds[_upper(ds["DSDECOD"]) == "DEATH"].groupby("USUBJID")["DSSTDTC"].first()
        dtc = dtc.where(dtc.notna(), death.reindex(dtc.index))
    dt, flag = dates.impute_dtc(dtc, how="last", cap=cut)
    return pd.DataFrame({"DTHDT": dt, "DTHDTF": flag.where(dt.notna(), pd.NA)}, index=d.index)


def derive_last_alive(domains: dict[str, pd.DataFrame], cut: pd.Timestamp) -> pd.Series:
    """LSTALVDT: latest dated contact record (latest possible date for partial dates),
    capped at the data cut; SS records only when the subject was ALIVE (SAP §7)."""
    parts = []
    for dom, cols in CONTACT_DATES.items():
        df = domains.get(dom)
        if not _nonempty(df):
            continue
        for c in cols:
            if c in df.columns:
                dt, _ = dates.impute_dtc(df[c], how="last", cap=cut)
                parts.append(pd.DataFrame({"USUBJID": df["USUBJID"].values, "d": dt.values}))
    ss = domains.get("SS")
    if _nonempty(ss):
        alive = ss[_upper(ss["SSSTRESC"]) == "ALIVE"]
        dt, _ = dates.impute_dtc(alive["SSDTC"], how="last", cap=cut)
        parts.append(pd.DataFrame({"USUBJID": alive["USUBJID"].values, "d": dt.values}))
    ds = domains.get("DS")
    if _nonempty(ds):
        nodeath = ds[_upper(ds["DSDECOD"]) != "DEATH"]
        dt, _ = dates.impute_dtc(nodeath["DSSTDTC"], how="last", cap=cut)
        parts.append(pd.DataFrame({"USUBJID": nodeath["USUBJID"].values, "d": dt.values}))
    if not parts:
        return pd.Series(dtype="datetime64[ns]", name="LSTALVDT")
    allp = pd.concat(parts, ignore_index=True).dropna()
    allp = allp[allp["d"] <= cut]
    return allp.groupby("USUBJID")["d"].max().rename("LSTALVDT")


# --------------------------------------------------------------------------- baseline

def last_on_or_before(df: pd.DataFrame, dtc_col: str, ref_dtm: pd.Series,
                      value_col: str | None = None) -> pd.DataFrame:
    """Records on or before each subject's reference date-time, last one per key.

    Baseline (SAP §3) = last non-missing value on or before the first infusion (date,
    and time when both are given). Returns the qualifying rows with `_dt`/`_dtm`.
    """
    d = df.copy()
    d["_dt"] = dates.to_date(d[dtc_col])
    d["_dtm"] = dates.to_datetime(d[dtc_col])
    d["_has_time"] = d[dtc_col].astype("string").str.contains("T", na=False)
    ref = ref_dtm.reindex(d["USUBJID"]).to_numpy()
    ref = pd.to_datetime(pd.Series(ref, index=d.index))
    ref_day = ref.dt.normalize()
    ref_has_time = ref != ref_day
    same_day = d["_dt"] == ref_day
    ok = (d["_dt"] < ref_day) | (same_day & (~d["_has_time"] | ~ref_has_time | (d["_dtm"] <= ref)))
    if value_col is not None:
        ok &= d[value_col].notna()
    return d[ok & d["_dt"].notna()]


def baseline_lab(lb: pd.DataFrame, testcd: str, ref_dtm: pd.Series) -> pd.DataFrame:
    """Baseline value and its upper reference limit for one LB test."""
    t = lb[_upper(lb["LBTESTCD"]) == testcd]
    b = last_on_or_before(t, "LBDTC", ref_dtm, "LBSTRESN")
    b = b.sort_values(["USUBJID", "_dt", "_dtm"]).groupby("USUBJID").tail(1).set_index("USUBJID")
    return pd.DataFrame({"value": b["LBSTRESN"].astype(float), "uln": _col(b, "LBSTNRHI").astype(float)})


def derive_lab_baselines(lb: pd.DataFrame, ref_dtm: pd.Series, glr_cutoff: float) -> pd.DataFrame:
    """CEABL, CA199BL (with ULN and >ULN group), GLRBL = baseline neutrophils / lymphocytes."""
    out = pd.DataFrame(index=ref_dtm.index)
    for cd, var in (("CEA", "CEA"), ("CA199", "CA199")):
        b = baseline_lab(lb, cd, ref_dtm)
        out[f"{var}BL"] = b["value"]
        out[f"{var}ULN"] = b["uln"]
        out[f"{var}GR"] = np.where(out[f"{var}BL"].isna() | out[f"{var}ULN"].isna(), None,
                                   np.where(out[f"{var}BL"] > out[f"{var}ULN"], ">ULN", "<=ULN"))
    neut = baseline_lab(lb, "NEUT", ref_dtm)["value"].reindex(out.index)
    lym = baseline_lab(lb, "LYM", ref_dtm)["value"].reindex(out.index)
    out["GLRBL"] = (neut / lym).where(lym > 0)
    out["GLRGR"] = np.where(out["GLRBL"].isna(), None,
                            np.where(out["GLRBL"] >= glr_cutoff, f">={glr_cutoff:g}", f"<{glr_cutoff:g}"))
    return out


def derive_tumour_baseline(tu: pd.DataFrame, tr: pd.DataFrame, ref_dtm: pd.Series,
                           sites_max_low: int) -> pd.DataFrame:
    """Baseline lesions (identified on or before the first infusion): measurable disease,
    BSLD (sum of target diameters, short axis for lymph nodes), organ sites, liver only."""
    t = tu[_upper(_col(tu, "TUTESTCD")).fillna("TUMIDENT") == "TUMIDENT"].copy()
    t["_role"] = _upper(t["TUORRES"])
    t["_loc"] = _upper(t["TULOC"])
    t = last_on_or_before(t, "TUDTC", ref_dtm) if len(t) else t
    base = t[t["_role"].isin(["TARGET", "NON-TARGET"])]
    out = pd.DataFrame(index=ref_dtm.index)
    tgt = base[base["_role"] == "TARGET"]
    out["MEASFL"] = pd.Series("Y", index=tgt["USUBJID"].unique()).reindex(out.index).fillna("N")
    sites = base.groupby("USUBJID")["_loc"].agg(lambda s: sorted(set(s.dropna())))
    out["METSITES"] = sites.map(len).reindex(out.index)
    out["LIVONLY"] = sites.map(lambda s: "Y" if s == ["LIVER"] else "N").reindex(out.index)
    out["SITESGR"] = np.where(out["METSITES"].isna(), None,
                              np.where(out["METSITES"] <= sites_max_low, f"1-{sites_max_low}", f">={sites_max_low + 1}"))
    # Target sum at baseline: one measurement per target lesion, last on or before ref.
    if len(tgt) and _nonempty(tr):
        r = tr.copy()
        r["_tc"] = _upper(r["TRTESTCD"])
        key = tgt[["USUBJID", "TULNKID", "_loc"]].drop_duplicates(["USUBJID", "TULNKID"])
        r = r.merge(key, left_on=["USUBJID", "TRLNKID"], right_on=["USUBJID", "TULNKID"], how="inner")
        want = np.where(r["_loc"] == "LYMPH NODE", "SAXIS", "LDIAM")
        r = r[(r["_tc"] == want) & r["TRSTRESN"].notna()]
        r["TRDTC_IMP"] = dates.impute_day_last(r["TRDTC"])[0].dt.strftime("%Y-%m-%d")
        b = last_on_or_before(r, "TRDTC_IMP", ref_dtm, "TRSTRESN")
        b = b.sort_values(["USUBJID", "TRLNKID", "_dt"]).groupby(["USUBJID", "TRLNKID"]).tail(1)
        out["BSLD"] = b.groupby("USUBJID")["TRSTRESN"].sum().astype(float).reindex(out.index)
    else:
        out["BSLD"] = np.nan
    return out


def derive_nkg2d_ligands(mi: pd.DataFrame | None, ligands: list[str], high: float) -> pd.DataFrame:
    """NKGLHS = highest NKG2D-ligand H-score in tumour tissue; NKGLGR HIGH/LOW (SAP §8)."""
    if not _nonempty(mi):
        return pd.DataFrame(columns=["NKGLHS", "NKGLGR"], dtype=object)
    m = mi[_upper(mi["MITESTCD"]).isin([x.upper() for x in ligands]) & mi["MISTRESN"].notna()]
    if "MISPEC" in m.columns:
        m = m[_upper(m["MISPEC"]).fillna("TUMOR TISSUE") == "TUMOR TISSUE"]
    hs = m.groupby("USUBJID")["MISTRESN"].max().astype(float)
    return pd.DataFrame({"NKGLHS": hs, "NKGLGR": np.where(hs >= high, "HIGH", "LOW")})


def derive_prior_regimens(cm: pd.DataFrame | None, max_low: int) -> pd.DataFrame:
    """PRIORREG = number of distinct prior cancer-therapy regimens (CMGRPID)."""
    if cm is None:
        return pd.DataFrame(columns=["PRIORREG", "PRIORGR"], dtype=object)
    c = cm[_upper(cm["CMCAT"]) == "PRIOR CANCER THERAPY"]
    n = c.dropna(subset=["CMGRPID"]).groupby("USUBJID")["CMGRPID"].nunique()
    return pd.DataFrame({"PRIORREG": n})


# --------------------------------------------------------------------------- sets

def derive_dlt_subjects(ae: pd.DataFrame, win: pd.DataFrame) -> pd.Series:
    """Subjects with an investigator-called DLT (SUPPAE AEDLT = Y) starting in their DLT window."""
    if "AEDLT" not in ae.columns:
        return pd.Series(False, index=win.index)
    a = ae[_upper(ae["AEDLT"]) == "Y"].copy()
    floor = win["WINSTDT"].reindex(a["USUBJID"]).to_numpy()
    a["_st"], _ = dates.impute_dtc(a["AESTDTC"], how="first", floor=pd.Series(floor, index=a.index))
    a = a.join(win[["WINSTDT", "WINENDT"]], on="USUBJID")
    inwin = a[(a["_st"] >= a["WINSTDT"]) & (a["_st"] <= a["WINENDT"])]
    return pd.Series(win.index.isin(inwin["USUBJID"]), index=win.index)


def derive_sets(adsl: pd.DataFrame, rs: pd.DataFrame, ds: pd.DataFrame | None,
                pc: pd.DataFrame | None, pc_present: bool, dlt: pd.Series,
                cut: pd.Timestamp) -> pd.DataFrame:
    """Analysis-set flags (Y/N) with the reason for each exclusion (SAP §2)."""
    a = adsl
    out = pd.DataFrame(index=a.index)
    scrnfail = _upper(a["ARMCD"]).eq("SCRNFAIL")
    if _nonempty(ds):
        sf = ds[_upper(ds["DSDECOD"]) == "SCREEN FAILURE"]["USUBJID"].unique()
        scrnfail |= a.index.isin(sf)
    enrl = ~scrnfail
    saf = enrl & a["TRTSDT"].notna()
    cart = saf & a["CARTSDT"].notna()

    # DLT-evaluable: a DLT in the window, or followed alive to the end of the window.
    dltfl = cart & dlt.reindex(a.index).astype("boolean").fillna(False).astype(bool)
    completed = cart & (a["LSTALVDT"] >= a["WINENDT"]) & ~(a["DTHDT"] <= a["WINENDT"])
    dlteval = dltfl | completed
    died_in_win = cart & ~dltfl & (a["DTHDT"] <= a["WINENDT"])
    ongoing = cart & ~dltfl & ~died_in_win & (a["WINENDT"] > cut)

    # Efficacy-evaluable.
    r = rs[(_upper(rs["RSTESTCD"]) == "OVRLRESP")]
    if "RSEVAL" in r.columns:
        r = r[_upper(r["RSEVAL"]).fillna("INVESTIGATOR") == "INVESTIGATOR"]
    r = r.assign(_dt=dates.impute_day_last(r["RSDTC"])[0]).join(a["TRTSDT"], on="USUBJID")
    post = r[r["_dt"] > r["TRTSDT"]]
    first_ass = post.groupby("USUBJID")["_dt"].min().reindex(a.index)
    has_post = first_ass.notna()
    clin_pd = pd.Series(pd.NaT, index=a.index, dtype="datetime64[ns]")
    if _nonempty(ds):
        p = ds[_upper(ds["DSDECOD"]) == "PROGRESSIVE DISEASE"]
        pdt, _ = dates.impute_dtc(p["DSSTDTC"], how="first")
        clin_pd = pd.Series(pdt.values, index=p["USUBJID"].values).groupby(level=0).min().reindex(a.index)
    early_event = ~has_post & (a["DTHDT"].notna() | clin_pd.notna())
    meas = a["MEASFL"].eq("Y")
    eff = saf & meas & (has_post | early_event)

    # Kinetics: at least one quantifiable post-infusion CAR sample.
    if pc_present and _nonempty(pc):
        q = pc[pc["PCSTRESN"].notna() & (pc["PCSTRESN"] > 0)].copy()
        q["_dt"] = dates.to_date(q["PCDTC"])
        q = q.join(a["TRTSDT"], on="USUBJID")
        pk_subj = q[q["_dt"] >= q["TRTSDT"]]["USUBJID"].unique()
        pk = saf & a.index.isin(pk_subj)
    else:
        pk = pd.Series(False, index=a.index)

    def yn(s):
        return np.where(s, "Y", "N")

    out["ENRLFL"] = yn(enrl)
    out["SAFFL"] = yn(saf)
    out["CARTFL"] = yn(cart)
    out["DLTFL"] = yn(dltfl)
    out["DLTEVLFL"] = yn(dlteval)
    out["EFFFL"] = yn(eff)
    out["PKFL"] = yn(pk)
    out["ENRLRSN"] = np.where(enrl, None, "Screen failure")
    out["SAFRSN"] = np.select([~enrl, ~saf], ["Screen failure", "No infusion received"], None)
    out["CARTRSN"] = np.select([~enrl, ~saf, ~cart],
                               ["Screen failure", "No infusion received", "No CAR-T infusion"], None)
    out["DLTRSN"] = np.select(
        [~enrl, ~saf, ~cart, dlteval, died_in_win, ongoing],
        ["Screen failure", "No infusion received", "No CAR-T infusion", None,
         "Died in the DLT window without a DLT", "DLT window not complete at the data cut"],
        "Left before the end of the DLT window without a DLT")
    out["EFFRSN"] = np.select(
        [~enrl, ~saf, ~meas, ~(has_post | early_event)],
        ["Screen failure", "No infusion received", "No measurable disease at baseline",
         "No post-baseline response assessment"], None)
    out["PKRSN"] = np.select(
        [~enrl, ~saf, pd.Series(not pc_present, index=a.index), ~pk],
        ["Screen failure", "No infusion received", "PC domain not in the export",
         "No quantifiable post-infusion CAR sample"], None)
    return out


# --------------------------------------------------------------------------- ADSL

def derive_adsl(domains: dict[str, pd.DataFrame], cfg: dict, present: set[str] | None = None) -> pd.DataFrame:
    """ADSL from validated, data-cut SDTM frames. `present` = domains in the export."""
    present = present if present is not None else {k for k, v in domains.items() if _nonempty(v)}
    cut = pd.Timestamp(cfg["data_cut"])
    dm = domains["DM"]
    adsl = dm[[c for c in DM_KEEP if c in dm.columns]].set_index("USUBJID", drop=False)
    for q, var in SUPPDM_KEEP.items():
        adsl[var] = dm.set_index("USUBJID")[q] if q in dm.columns else pd.NA
    adsl["AGE"] = adsl["AGE"].astype(float)

    ex = domains["EX"]
    trt = derive_treatment_dates(ex) if len(ex) else pd.DataFrame()
    adsl = adsl.join(trt)
    for c in ("TRTSDT", "TRTEDT", "TRTSDTM", "CARNKSDT", "CARNKEDT", "CARTSDT", "CARTEDT"):
        if c not in adsl.columns:
            adsl[c] = pd.NaT
        adsl[c] = pd.to_datetime(adsl[c])
    for c in ("NCARNKINF", "NCARTINF"):
        adsl[c] = adsl[c].fillna(0).astype(int) if c in adsl.columns else 0
    adsl = adsl.join(derive_dose_level(ex, cfg["dose_levels"], cfg.get("dose_match_tolerance", 0.05)))
    adsl["DOSELVL"] = adsl["DOSELVL"].astype("string")

    ref = cfg.get("reference_start", "first_car_nk")
    adsl["RFSTDT"] = adsl["CARNKSDT"] if ref == "first_car_nk" else adsl["CARTSDT"]
    adsl["RFSTDT"] = adsl["RFSTDT"].fillna(adsl["TRTSDT"])

    adsl = adsl.join(derive_death_date(dm, domains.get("DS"), cut))
    adsl["LSTALVDT"] = derive_last_alive(domains, cut).reindex(adsl.index)
    dead = adsl["DTHDT"].notna() & (adsl["LSTALVDT"] > adsl["DTHDT"])
    adsl.loc[dead, "LSTALVDT"] = adsl.loc[dead, "DTHDT"]

    win = cfg["dlt_window"]
    start = adsl["CARNKSDT"] if win.get("start", "first_car_nk") == "first_car_nk" else adsl["CARTSDT"]
    adsl["WINSTDT"] = start.fillna(adsl["TRTSDT"]).where(adsl["CARTSDT"].notna())
    adsl["WINENDT"] = adsl["CARTSDT"] + pd.Timedelta(days=int(win["days_after_first_car_t"]))

    ref_dtm = adsl["TRTSDTM"].dropna()
    sub = cfg["subgroups"]
    tum = derive_tumour_baseline(domains["TU"], domains["TR"], ref_dtm, sub.get("organ_sites_max_low", 2))
    adsl = adsl.join(tum)
    adsl["MEASFL"] = adsl["MEASFL"].fillna("N")
    adsl = adsl.join(derive_lab_baselines(domains["LB"], ref_dtm, sub.get("glr_cutoff", 3)))
    adsl = adsl.join(derive_nkg2d_ligands(domains.get("MI") if "MI" in present else None,
                                          sub.get("nkg2d_ligands", []), sub.get("nkg2dl_high_hscore", 100)))
    pr = derive_prior_regimens(domains.get("CM") if "CM" in present else None,
                               sub.get("prior_regimens_max_low", 2))
    adsl = adsl.join(pr)
    if "CM" in present:
        adsl["PRIORREG"] = adsl["PRIORREG"].fillna(0)
    adsl["PRIORREG"] = adsl["PRIORREG"].astype(float)
    lo = sub.get("prior_regimens_max_low", 2)
    adsl["PRIORGR"] = np.where(adsl["PRIORREG"].isna(), None,
                               np.where(adsl["PRIORREG"] <= lo, f"<={lo}", f">={lo + 1}"))

    dlt = derive_dlt_subjects(domains["AE"], adsl[adsl["CARTSDT"].notna()][["WINSTDT", "WINENDT"]])
    adsl = adsl.join(derive_sets(adsl, domains["RS"], domains.get("DS"), domains.get("PC"),
                                 "PC" in present, dlt, cut))

    # Data-driven cut-off: median baseline target sum of the efficacy-evaluable set.
    burden = sub.get("tumour_burden_cut", "median")
    eff_bsld = adsl.loc[adsl["EFFFL"] == "Y", "BSLD"].dropna()
    cutv = float(eff_bsld.median()) if burden == "median" and len(eff_bsld) else (
        float(burden) if burden != "median" else np.nan)
    adsl["BSLDCUT"] = cutv
    adsl["BSLDGR"] = np.where(adsl["BSLD"].isna() | np.isnan(cutv), None,
                              np.where(adsl["BSLD"] <= cutv, "<=cut-off", ">cut-off"))
    adsl["DATACUT"] = cut
    for c in ("TRTSDT", "TRTEDT", "CARNKSDT", "CARNKEDT", "CARTSDT", "CARTEDT", "RFSTDT",
              "DTHDT", "LSTALVDT", "WINSTDT", "WINENDT", "DATACUT"):
        adsl[c] = pd.to_datetime(adsl[c]).dt.normalize().astype("datetime64[ns]")
    adsl = adsl.drop(columns=["TRTSDTM"]).reset_index(drop=True)
    str_cols = [c for c in adsl.columns if adsl[c].dtype == object]
    for c in str_cols:
        adsl[c] = adsl[c].astype("string")
    return adsl.sort_values("USUBJID", kind="stable").reset_index(drop=True)
